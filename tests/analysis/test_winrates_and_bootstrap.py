import numpy as np
import pytest
from scipy.stats import binomtest
from statsmodels.stats.proportion import proportion_confint

from analysis.bootstrap import cluster_bootstrap, vote_bootstrap
from analysis.report import build_summary
from analysis.synthetic import simulate_votes
from analysis.winrates import sign_test_p, wilson_interval, win_rate


def test_wilson_matches_statsmodels():
    for k, n in [(0, 10), (3, 10), (55, 100), (100, 100), (4123, 8000)]:
        lo, hi = wilson_interval(k / n, n)
        ref = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert (lo, hi) == pytest.approx(ref, abs=1e-9)


def test_sign_test_matches_scipy():
    for w, l in [(0, 0), (5, 5), (12, 3), (30, 51), (4000, 4200)]:
        ref = binomtest(w, w + l, 0.5).pvalue if w + l else 1.0
        assert sign_test_p(w, l) == pytest.approx(ref, rel=1e-9)


def test_win_rate_counts_ties_as_half():
    assert win_rate(3, 1, 2) == pytest.approx(4 / 6)
    assert np.isnan(win_rate(0, 0, 0))


def test_win_rates_in_the_summary_are_oriented_and_complementary(known_votes):
    res = build_summary(known_votes, n_bootstrap=100)["by_criterion"]["overall"]
    m = res["win_rate_matrix"]
    for r in res["win_rates"]:
        i, j = m["systems"].index(r["a"]), m["systems"].index(r["b"])
        assert m["values"][i][j] == pytest.approx(r["win_rate"])
        assert m["values"][i][j] + m["values"][j][i] == pytest.approx(1.0)
        assert r["win_rate"] >= 0.5  # no bundle comparisons: higher-scored system first
        assert r["ci95"][0] < r["win_rate"] < r["ci95"][1]
    zeta_alpha = next(r for r in res["win_rates"] if {r["a"], r["b"]} == {"zeta", "alpha"})
    assert zeta_alpha["a"] == "zeta" and zeta_alpha["win_rate"] == pytest.approx(1 / (1 + np.exp(-2)), abs=0.04)


def test_comparisons_fix_the_orientation(known_votes):
    res = build_summary(known_votes, n_bootstrap=0, comparisons=[("alpha", "zeta")])["by_criterion"]["overall"]
    row = next(r for r in res["win_rates"] if {r["a"], r["b"]} == {"zeta", "alpha"})
    assert (row["a"], row["b"]) == ("alpha", "zeta") and row["win_rate"] < 0.5
    eq = next(r for r in res["equivalence"] if {r["a"], r["b"]} == {"zeta", "alpha"})
    assert not eq["non_inferior"]


def test_vote_bootstrap_keeps_pair_totals_and_is_reproducible():
    counts = np.array([[10, 5, 1], [0, 0, 7], [3, 9, 0]])
    a = vote_bootstrap(counts, 200, np.random.default_rng(0))
    b = vote_bootstrap(counts, 200, np.random.default_rng(0))
    assert np.array_equal(a, b)
    assert np.all(a.sum(-1) == counts.sum(-1))
    assert np.allclose(a.mean(0), counts, atol=1.0)


def test_cluster_bootstrap_redraws_whole_clusters():
    per_cluster = np.array([[1, 0, 0, 2, 0, 0], [0, 3, 0, 0, 1, 1]], float)
    out = cluster_bootstrap(per_cluster, 500, np.random.default_rng(0))
    flat = out.reshape(500, -1)
    # every sample is 2 draws with replacement: c0+c0, c0+c1 or c1+c1
    allowed = {tuple(2 * per_cluster[0]), tuple(per_cluster.sum(0)), tuple(2 * per_cluster[1])}
    assert {tuple(r) for r in flat} <= allowed and len({tuple(r) for r in flat}) == 3


def test_cluster_intervals_are_wider_when_annotators_disagree_systematically():
    votes = simulate_votes([0.3, 0.0, -0.3], 6000, n_annotators=20, n_prompts=200, annotator_sd=0.8, seed=5)
    res = build_summary(votes, n_bootstrap=300, bootstrap="annotator")["by_criterion"]["overall"]
    assert res["interval_method"].startswith("annotator bootstrap")
    for r in res["bradley_terry"]:
        by = r["ci95_by_bootstrap"]
        assert r["ci95"] == by["annotator"]
        assert by["annotator"][1] - by["annotator"][0] > 1.5 * (by["vote"][1] - by["vote"][0])
    assert res["equivalence"][0]["se_method"].startswith("two-way cluster-robust (annotator x prompt)")
    assert res["design_effect"]["annotator"] > 2


def test_the_same_seed_gives_the_same_summary(known_votes):
    a = build_summary(known_votes.iloc[:2000], n_bootstrap=50, seed=4)
    b = build_summary(known_votes.iloc[:2000], n_bootstrap=50, seed=4)
    c = build_summary(known_votes.iloc[:2000], n_bootstrap=50, seed=5)
    assert a == b
    assert a["by_criterion"]["overall"]["bradley_terry"][0]["ci95"] != c["by_criterion"]["overall"]["bradley_terry"][0]["ci95"]


def test_vote_bootstrap_intervals_cover_the_truth_most_of_the_time():
    hits, total = 0, 0
    for rep in range(20):
        votes = simulate_votes([0.4, 0.0, -0.4], 900, tie_rate=0.0, seed=100 + rep)
        bt = build_summary(votes, n_bootstrap=200, seed=rep)["by_criterion"]["overall"]["bradley_terry"]
        for r in bt:
            true = {"sys00": 0.4, "sys01": 0.0, "sys02": -0.4}[r["system"]]
            hits += r["ci95"][0] <= true <= r["ci95"][1]
            total += 1
    assert hits / total >= 0.8  # nominal 0.95; a sign or index error gives ~0


def test_the_score_interval_is_wilson_without_ties_and_agrees_with_its_test():
    from analysis.winrates import score_interval, score_test_p

    for k, n in [(3, 10), (55, 100), (4123, 8000)]:
        assert score_interval(k / n, n, 0.0) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)
    rng = np.random.default_rng(1)
    for _ in range(200):
        n_eff, t = rng.uniform(5, 400), rng.uniform(0, 0.5)
        p = rng.uniform(t / 2, 1 - t / 2)
        lo, hi = score_interval(p, n_eff, t)
        assert lo <= p <= hi
        assert (lo <= 0.5 <= hi) == (score_test_p(p, n_eff, t) >= 0.05 - 1e-12)
