"""The study's question: its answer (yes / no / not yet) and the group-sequential boundaries behind it."""
import numpy as np
import pytest

from analysis.question import answer_question, parse_question
from analysis.report import build_summary
from analysis.sequential import obf_spent, spending_boundaries
from tests.analysis.conftest import votes_from_counts


def test_boundaries_match_the_published_obrien_fleming_spending_values():
    # Lan-DeMets O'Brien-Fleming type, one-sided 0.025, five equally spaced looks (Jennison & Turnbull, table 7.6)
    bounds = spending_boundaries([0.2, 0.4, 0.6, 0.8, 1.0], 0.025)
    assert bounds == pytest.approx([4.877, 3.357, 2.680, 2.290, 2.031], abs=2e-3)
    assert spending_boundaries([1.0], 0.05)[0] == pytest.approx(1.6449, abs=1e-4)


def test_the_chance_of_ever_crossing_under_the_null_is_alpha_for_uneven_looks():
    t = np.array([0.07, 0.3, 0.31, 0.55, 0.9, 1.0])
    bounds = spending_boundaries(t, 0.05)
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(400_000, len(t))) * np.sqrt(np.diff(np.r_[0, t]))
    z = steps.cumsum(1) / np.sqrt(t)
    crossed = (z >= bounds).any(1).mean()
    assert crossed == pytest.approx(0.05, abs=0.0015)  # Monte Carlo s.e. 0.00035
    assert obf_spent(1.0, 0.05) == pytest.approx(0.05)


def test_after_the_plan_no_alpha_is_left():
    bounds = spending_boundaries([0.5, 1.0, 1.2], 0.05)
    assert np.isfinite(bounds[:2]).all() and bounds[2] == np.inf


def test_bad_looks_are_refused():
    with pytest.raises(ValueError, match="increasing"):
        spending_boundaries([0.5, 0.4], 0.05)


def _votes(wins, losses, ties, annotators=40):
    votes = votes_from_counts([("new", "old", "left", wins), ("old", "new", "left", losses),
                               ("new", "old", "tie", ties)], annotator_cycle=annotators)
    # annotators at random, not in a cycle that would hand each one a perfectly balanced share
    votes["annotator"] = np.random.default_rng(0).permutation(votes["annotator"].to_numpy())
    return votes


def _ask(votes, **question):
    q = {"kind": "non-inferiority", "a": "new", "b": "old", "margin": 0.05, **question}
    return build_summary(votes, n_bootstrap=0, question=q)["question"]


def test_a_clear_non_inferiority_is_answered_yes_with_its_clustered_interval():
    ans = _ask(_votes(600, 560, 40), planned_votes=1200)
    assert ans["answer"] == "yes" and ans["line"].startswith("Yes: new is not worse than old by more than 5")
    assert ans["estimate"] == pytest.approx((600 + 20) / 1200)
    assert ans["ci95"][0] < ans["estimate"] < ans["ci95"][1]
    assert "cluster" in ans["ci95_method"] and ans["information_fraction"] == pytest.approx(1.0)


def test_an_early_look_needs_more_than_a_fixed_test_would():
    votes = _votes(140, 120, 0)  # z about 2.4 at the margin: enough for one look, not at 20% of the plan
    early = _ask(votes, planned_votes=1300)
    fixed = _ask(votes)
    assert fixed["answer"] == "yes" and "valid for one look only" in fixed["sequential"]["method"]
    assert early["answer"] == "not yet" and early["sequential"]["boundary"] > 3.5
    # the power calculator alone would say "enough"; the next look's boundary says how many more
    assert 0 < early["more_votes_needed"] and early["votes_needed_total"] <= 1300
    assert f"about {early['more_votes_needed']} more votes" in early["line"]


def test_not_yet_says_how_many_more_votes_are_likely_needed():
    ans = _ask(_votes(52, 50, 4), planned_votes=5000)
    assert ans["answer"] == "not yet"
    assert ans["votes_needed_total"] > ans["n_votes"] and ans["more_votes_needed"] == \
        ans["votes_needed_total"] - ans["n_votes"]
    assert f"about {ans['more_votes_needed']} more votes" in ans["line"]


def test_a_clear_loss_is_answered_no_and_so_is_a_plan_reached_without_crossing():
    assert _ask(_votes(300, 500, 0), planned_votes=5000)["answer"] == "no"
    reached = _ask(_votes(376, 424, 0), planned_votes=800)  # 0.47: z ~ 1.1 at the margin, the plan is in
    assert reached["answer"] == "no" and "planned votes are in" in reached["line"]
    assert _ask(_votes(376, 424, 0), planned_votes=1600)["answer"] == "not yet"


def test_looks_travel_with_the_question_and_a_yes_stays_yes():
    first = _ask(_votes(600, 520, 0), planned_votes=2000)
    assert first["answer"] == "yes" and len(first["looks"]) == 1
    later = _ask(_votes(600, 600, 0), planned_votes=2000, looks=first["looks"])
    assert later["answer"] == "yes" and len(later["looks"]) == 2
    assert later["looks"][0]["boundary"] == pytest.approx(first["looks"][0]["boundary"])


def test_superiority_and_equivalence_questions():
    better = _ask(_votes(700, 500, 0), kind="superiority", planned_votes=1200)
    assert better["answer"] == "yes" and better["line"].startswith("Yes: new is better than old")
    same = _ask(_votes(1010, 990, 0, annotators=80), kind="equivalence", planned_votes=2000)
    assert same["answer"] == "yes" and "equivalent within 5 points" in same["question"]


def test_a_question_about_a_pair_without_votes_is_not_yet():
    ans = answer_question({"kind": "superiority", "a": "x", "b": "y"},
                          build_summary(_votes(5, 5, 0), n_bootstrap=0)["by_criterion"])
    assert ans["answer"] == "not yet" and "no votes on system x, y" in ans["line"]


@pytest.mark.parametrize("field,value,msg", [
    ("kind", "better", "kind must be one of"), ("a", "A B", "system a must be a system id"),
    ("b", "new", "must differ"), ("margin", 0.7, "margin must be between 0 and 0.5"),
    ("alpha", 0.5, "alpha must be between"), ("planned_votes", 0, "planned_votes must be a positive integer"),
    ("margin", "5", "margin must be a number"),
])
def test_bad_questions_are_refused_by_field(field, value, msg):
    q = {"kind": "non-inferiority", "a": "new", "b": "old", field: value}
    with pytest.raises(ValueError, match=msg):
        parse_question(q)


def test_t_as_z_keeps_the_tail_probability():
    from scipy.stats import norm, t

    from analysis.question import t_as_z

    for df in (1, 3, 10, 200):
        for value in (-4.0, -1.0, 0.5, 2.5, 9.0):
            assert norm.sf(t_as_z(value, df)) == pytest.approx(t.sf(value, df), rel=1e-9)
    assert abs(t_as_z(6.0, 3)) < 3.0  # few annotators: a t of 6 is weak evidence


def test_a_look_resting_on_few_annotators_needs_more_evidence():
    few = _ask(_votes(260, 200, 0, annotators=4))
    many = _ask(_votes(260, 200, 0, annotators=60))
    assert few["sequential"]["z"] < many["sequential"]["z"]
