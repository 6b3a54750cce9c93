import krippendorff
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import fleiss_kappa

from analysis.agreement import agreement_stats, annotator_agreement
from analysis.report import build_summary

SYSTEMS = ["s1", "s2", "s3"]


def _rated_votes(rng, raters_per_item, n_items=40, n_annotators=12, noise=0.3):
    """Each item (prompt, seed, pair) rated once by each of a few annotators; labels follow a truth + noise."""
    rows = []
    pairs = [("s1", "s2"), ("s1", "s3"), ("s2", "s3")]
    for it in range(n_items):
        a, b = pairs[it % 3]
        truth = rng.choice(["a", "b", "tie"], p=[0.5, 0.35, 0.15])
        m = raters_per_item(it)
        for annot in rng.choice(n_annotators, m, replace=False):
            lab = truth if rng.random() > noise else rng.choice(["a", "b", "tie"])
            left, right = (a, b) if rng.random() < 0.5 else (b, a)  # position must not matter
            winner = {"a": a, "b": b, "tie": "tie"}[lab]
            choice = "tie" if lab == "tie" else ("left" if winner == left else "right")
            rows.append({"vote_id": f"v{len(rows)}", "study": "s", "criterion": "overall",
                         "annotator": f"a{annot}", "prompt": f"p{it}", "seed": 0, "system_left": left,
                         "system_right": right, "choice": choice, "winner": winner, "response_ms": 1,
                         "created_at": "2026-01-01T00:00:00Z", "attention_check": False,
                         "annotator_excluded": False})
    return pd.DataFrame(rows)


def _pair_code(r) -> int:
    """Written apart from the analysis: 0 the pair's first system (sorted ids) won, 1 the second, 2 tie."""
    first, second = sorted([r.system_left, r.system_right])
    return {first: 0, second: 1, "tie": 2}[r.winner]


def _reference_matrix(votes):
    annots = sorted(votes["annotator"].unique())
    items = sorted(votes["prompt"].unique())
    data = np.full((len(annots), len(items)), np.nan)
    for r in votes.itertuples():
        data[annots.index(r.annotator), items.index(r.prompt)] = _pair_code(r)
    return data


def _agreement(votes):
    return build_summary(votes, n_bootstrap=0)["by_criterion"]["overall"]["agreement"]


def test_krippendorff_alpha_matches_the_reference_package_to_1e_9(rng):
    votes = _rated_votes(rng, lambda it: 1 + it % 5)  # uneven, including items with one rating
    ours = _agreement(votes)
    ref = krippendorff.alpha(reliability_data=_reference_matrix(votes), level_of_measurement="nominal")
    assert ours["krippendorff_alpha"] == pytest.approx(ref, abs=1e-9)
    assert ours["n_items"] == sum(1 for it in range(40) if 1 + it % 5 >= 2)


def test_fleiss_kappa_matches_statsmodels_with_equal_ratings(rng):
    votes = _rated_votes(rng, lambda it: 4)
    data = _reference_matrix(votes)
    table = np.stack([(data == c).sum(0) for c in range(3)], axis=1)
    ours = _agreement(votes)
    assert ours["fleiss_kappa"] == pytest.approx(fleiss_kappa(table, method="fleiss"), abs=1e-12)


def test_fleiss_kappa_works_with_uneven_ratings(rng):
    votes = _rated_votes(rng, lambda it: 2 + it % 4)
    data = _reference_matrix(votes)
    table = np.stack([(data == c).sum(0) for c in range(3)], axis=1).astype(float)
    # independent loop implementation of the generalised formula
    p_i = [sum(n * (n - 1) for n in row) / (row.sum() * (row.sum() - 1)) for row in table]
    p_j = table.sum(0) / table.sum()
    expected = (np.mean(p_i) - (p_j**2).sum()) / (1 - (p_j**2).sum())
    ours = _agreement(votes)
    assert ours["fleiss_kappa"] == pytest.approx(expected, abs=1e-12)
    assert ours["percent_agreement"] == pytest.approx(np.mean(p_i), abs=1e-12)


def test_agreement_uses_the_winner_never_the_screen_side():
    # two annotators agree on the winner but saw it on different sides
    base = {"study": "s", "criterion": "overall", "prompt": "p", "seed": 0, "response_ms": 1,
            "created_at": "x", "attention_check": False, "annotator_excluded": False}
    votes = pd.DataFrame([
        {**base, "vote_id": "1", "annotator": "u", "system_left": "x", "system_right": "y", "choice": "left", "winner": "x"},
        {**base, "vote_id": "2", "annotator": "v", "system_left": "y", "system_right": "x", "choice": "right", "winner": "x"},
        {**base, "vote_id": "3", "annotator": "u", "prompt": "q", "system_left": "x", "system_right": "y", "choice": "right", "winner": "y"},
        {**base, "vote_id": "4", "annotator": "v", "prompt": "q", "system_left": "x", "system_right": "y", "choice": "right", "winner": "y"},
    ])
    ag = _agreement(votes)
    assert ag["percent_agreement"] == 1.0
    assert ag["krippendorff_alpha"] == pytest.approx(1.0)


def test_no_multi_vote_items_is_said_not_nan():
    out = agreement_stats(np.array([0, 1, 2]), np.array([0, 1, 2]))
    assert out["krippendorff_alpha"] is None and "no item has two or more votes" in out["note"]


def test_unanimous_labels_leave_alpha_undefined_with_a_reason():
    out = agreement_stats(np.array([0, 0, 1, 1]), np.zeros(4, int))
    assert out["percent_agreement"] == 1.0 and out["krippendorff_alpha"] is None
    assert "undefined" in out["note"]


def test_annotator_agreement_with_the_majority_of_others():
    # item 0: three say "a", one says "b"; item 1: one vote only (not evaluable)
    item = np.array([0, 0, 0, 0, 1])
    outcome = np.array([0, 0, 0, 1, 0])
    annotator = np.array([0, 1, 2, 3, 0])
    per = annotator_agreement(item, outcome, annotator, np.ones(5, bool))
    assert per.loc[0, "agreement_with_majority"] == 1.0 and per.loc[0, "n_evaluable"] == 1
    assert per.loc[3, "agreement_with_majority"] == 0.0
    assert per.loc[0, "n_votes"] == 2


def test_position_bias_and_annotators_with_one_vote(rng):
    votes = _rated_votes(rng, lambda it: 1 + it % 3, n_annotators=60)
    res = build_summary(votes, n_bootstrap=0)["by_criterion"]["overall"]
    pb = res["position_bias"]
    choices = votes["choice"]
    assert pb["left_rate"] == pytest.approx((choices == "left").sum() / (choices != "tie").sum())
    assert 0 <= pb["p_value"] <= 1
    counts = votes["annotator"].value_counts()
    assert res["agreement"]["n_annotators_with_one_vote"] == int((counts == 1).sum())


def _random_votes(n_systems, n_items=3000, raters=3, seed=0):
    """Votes at random (first, second or tie equally likely) on items over all pairs of equal systems."""
    rng = np.random.default_rng(seed)
    names = [f"s{i:02d}" for i in range(n_systems)]
    rows = []
    for it in range(n_items):
        a, b = rng.choice(n_systems, 2, replace=False)
        for annot in rng.choice(50, raters, replace=False):
            left, right = names[a], names[b]
            choice = rng.choice(["left", "right", "tie"])
            winner = {"left": left, "right": right, "tie": "tie"}[choice]
            rows.append({"vote_id": f"v{len(rows)}", "study": "s", "criterion": "overall", "annotator": f"a{annot}",
                         "prompt": f"p{it}", "seed": 0, "system_left": left, "system_right": right,
                         "choice": choice, "winner": winner, "response_ms": 1, "created_at": "t",
                         "attention_check": False, "annotator_excluded": False})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n_systems", [2, 4, 20])
def test_random_votes_give_agreement_near_zero_whatever_the_number_of_systems(n_systems):
    ag = _agreement(_random_votes(n_systems, seed=n_systems))
    # 3,000 items of 3 votes: the standard error of alpha is about 0.012
    assert abs(ag["krippendorff_alpha"]) < 0.04
    assert abs(ag["fleiss_kappa"]) < 0.04
    assert ag["chance_agreement"] == pytest.approx(1 / 3, abs=0.01)
    assert ag["percent_agreement"] == pytest.approx(ag["chance_agreement"], abs=0.02)


def test_coding_by_winner_id_would_inflate_agreement_and_the_reference_package_shows_it():
    votes = _random_votes(4, n_items=1500, seed=1)
    by_pair = krippendorff.alpha(reliability_data=_reference_matrix(votes), level_of_measurement="nominal")
    labels = {name: i for i, name in enumerate(sorted(set(votes["system_left"]) | set(votes["system_right"])))}
    labels["tie"] = len(labels)
    annots = sorted(votes["annotator"].unique())
    items = sorted(votes["prompt"].unique())
    by_winner = np.full((len(annots), len(items)), np.nan)
    for r in votes.itertuples():
        by_winner[annots.index(r.annotator), items.index(r.prompt)] = labels[r.winner]
    inflated = krippendorff.alpha(reliability_data=by_winner, level_of_measurement="nominal")
    ours = _agreement(votes)["krippendorff_alpha"]
    assert ours == pytest.approx(by_pair, abs=1e-9)
    assert inflated > 0.15 and abs(ours) < 0.05


def test_per_annotator_median_and_chance_leave_excluded_annotators_out(rng):
    votes = _rated_votes(rng, lambda it: 4, n_annotators=6, noise=0.1)
    votes.loc[votes["annotator"] == "a0", "annotator_excluded"] = True
    res = build_summary(votes, n_bootstrap=0)["by_criterion"]["overall"]
    kept = [r["agreement_with_majority"] for r in res["annotator_agreement"] if not r["excluded"]
            and r["agreement_with_majority"] is not None]
    assert res["agreement"]["annotator_agreement_median"] == pytest.approx(float(np.median(kept)))
    assert 0 < res["agreement"]["chance_agreement_with_majority"] < 1
