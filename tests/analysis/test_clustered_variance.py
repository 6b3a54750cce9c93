"""The clustered (sandwich) variance of win rates against statsmodels, and the design effect it gives."""
import numpy as np
import pytest
import statsmodels.api as sm

from analysis.clustered import clustered_win_rate_variance, pooled_design_effect
from analysis.report import build_summary
from analysis.synthetic import simulate_votes


def _clustered_scores(rng, n=3000, n_annot=30, n_prompts=25):
    annot = rng.integers(0, n_annot, n)
    prompt = rng.integers(0, n_prompts, n)
    logit = rng.normal(0, 0.8, n_annot)[annot] + rng.normal(0, 0.8, n_prompts)[prompt]
    score = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    score[rng.random(n) < 0.1] = 0.5
    return annot, prompt, score


def _statsmodels_se(score, groups):
    fit = sm.OLS(score, np.ones((len(score), 1))).fit(cov_type="cluster", cov_kwds={"groups": groups})
    return float(fit.bse[0])


def test_one_way_variances_match_statsmodels_cluster_robust_ols(rng):
    annot, prompt, score = _clustered_scores(rng)
    cv = clustered_win_rate_variance(np.zeros(len(score), int), score, annot, prompt, 1)
    assert np.sqrt(cv.annotator[0]) == pytest.approx(_statsmodels_se(score, annot), rel=1e-9)
    assert np.sqrt(cv.prompt[0]) == pytest.approx(_statsmodels_se(score, prompt), rel=1e-9)
    assert cv.win_rate[0] == pytest.approx(score.mean())


def test_a_negative_two_way_estimate_falls_back_to_the_larger_one_way_variance():
    # two annotators x two prompts, one vote per cell: the intersection clusters are the votes themselves
    score = np.array([1.0, 0.0, 0.0, 1.0])
    cv = clustered_win_rate_variance(np.zeros(4, int), score, np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), 1)
    assert cv.annotator[0] + cv.prompt[0] - 2 * cv.independent[0] * 4 / 3 <= 0
    assert cv.two_way[0] == pytest.approx(max(cv.annotator[0], cv.prompt[0]))


def test_two_way_variance_matches_statsmodels_two_group_clustering(rng):
    annot, prompt, score = _clustered_scores(rng)
    cv = clustered_win_rate_variance(np.zeros(len(score), int), score, annot, prompt, 1)
    ref = _statsmodels_se(score, np.column_stack([annot, prompt]))
    assert cv.two_way[0] > max(cv.annotator[0], cv.prompt[0])  # the formula, not a floor, is in force here
    assert np.sqrt(cv.two_way[0]) == pytest.approx(ref, rel=1e-9)


def test_pairs_are_kept_apart_and_a_single_annotator_has_no_clustered_variance():
    pair = np.array([0, 0, 0, 0, 1, 1, 1])
    score = np.array([1, 0, 1, 0.5, 1, 0, 1.0])
    annot = np.array([0, 1, 0, 1, 5, 5, 5])
    prompt = np.array([0, 0, 1, 1, 0, 1, 2])
    cv = clustered_win_rate_variance(pair, score, annot, prompt, 2)
    assert np.isfinite(cv.two_way[0]) and np.isnan(cv.two_way[1])
    assert list(cv.n) == [4, 3]


def test_the_design_effect_is_near_one_for_independent_votes_and_grows_with_heterogeneity():
    flat = build_summary(simulate_votes([0.2, 0.0, -0.2], 6000, n_annotators=100, seed=3),
                         n_bootstrap=0)["by_criterion"]["overall"]["design_effect"]
    lumpy = build_summary(simulate_votes([0.2, 0.0, -0.2], 6000, n_annotators=30, annotator_sd=0.7, seed=3),
                          n_bootstrap=0)["by_criterion"]["overall"]["design_effect"]
    assert 0.8 < flat["annotator_x_prompt"] < 1.25  # estimation noise around 1 is kept, not floored
    assert lumpy["annotator"] > 2.0 and lumpy["annotator_x_prompt"] >= lumpy["annotator"] * 0.95


def test_pooled_design_effect_is_a_ratio_of_summed_variances():
    assert pooled_design_effect([10, 20], [2.0, 1.0], [1.0, 0.5]) == pytest.approx(2.0)
    assert pooled_design_effect([10], [0.5], [1.0]) == 0.5  # not floored (the power calculator takes >= 1)
    assert pooled_design_effect([10], [np.nan], [1.0]) is None


def test_default_win_rate_intervals_widen_with_clustering_and_the_vote_option_says_it_assumes_independence():
    votes = simulate_votes([0.3, 0.0], 3000, n_annotators=20, annotator_sd=0.8, seed=8)
    clustered = build_summary(votes, n_bootstrap=0)["by_criterion"]["overall"]["win_rates"][0]
    independent = build_summary(votes, n_bootstrap=0, bootstrap="vote")["by_criterion"]["overall"]["win_rates"][0]
    width = clustered["ci95"][1] - clustered["ci95"][0]
    assert width > 1.4 * (independent["ci95"][1] - independent["ci95"][0])
    assert "cluster" in clustered["ci95_method"] and "assumes independent votes" in independent["ci95_method"]
    assert clustered["design_effect"] > 2 and independent["design_effect"] == 1.0
    # the interval and the p-value agree: 0.5 outside the interval <=> p < 0.05
    assert (clustered["ci95"][0] > 0.5 or clustered["ci95"][1] < 0.5) == (clustered["p_value"] < 0.05)
