import numpy as np
import pytest
from scipy.stats import norm

from analysis.equivalence import analytic_se, equivalence_test
from analysis.power import power_of, votes_needed


def _simulated_power(n, p, t, rng, reps, test, margin=0.0, alpha=0.05):
    """Monte Carlo power of the z-tests the report uses, on n votes per replicate."""
    w = p - t / 2
    draws = rng.multinomial(n, [w, 1 - w - t, t], size=reps)
    est = (draws[:, 0] + draws[:, 2] / 2) / n
    if test == "superiority":
        se0 = np.sqrt((1 - t) / 4 / n)
        return np.mean(np.abs(est - 0.5) / se0 > norm.ppf(1 - alpha / 2))
    se = analytic_se(draws[:, 0], draws[:, 1], draws[:, 2])
    res = equivalence_test(est, se, margin, alpha)
    return np.mean(res["non_inferior"] if test == "non-inferiority" else res["equivalent"])


@pytest.mark.parametrize("p,t,test,margin", [(0.56, 0.1, "superiority", 0.0), (0.5, 0.2, "non-inferiority", 0.05),
                                              (0.5, 0.1, "equivalence", 0.06)])
def test_votes_needed_reaches_the_power_in_simulation(p, t, test, margin):
    rng = np.random.default_rng(3)
    n = votes_needed(p, tie_rate=t, test=test, margin=margin, power=0.8)
    sim = _simulated_power(n, p, t, rng, 4000, test, margin)
    assert abs(sim - 0.8) < 0.035  # Monte Carlo error ~0.006; normal approximation error small at this n
    assert power_of(n, p, tie_rate=t, test=test, margin=margin) == pytest.approx(0.8, abs=0.01)


def test_more_ties_and_larger_effects_need_fewer_votes():
    assert votes_needed(0.55, tie_rate=0.3) < votes_needed(0.55)
    assert votes_needed(0.6) < votes_needed(0.55)
    assert votes_needed(0.55, design_effect=2.0) == pytest.approx(2 * votes_needed(0.55), abs=2)


@pytest.mark.parametrize("kw,msg", [
    ({"win_rate": 1.2}, "win_rate must be between 0 and 1"),
    ({"win_rate": 0.5}, "no number of votes"),
    ({"win_rate": 0.55, "power": 1.0}, "power must be between 0 and 1"),
    ({"win_rate": 0.55, "tie_rate": 1.0}, "tie_rate"),
    ({"win_rate": 0.55, "test": "bigger"}, "test must be one of"),
    ({"win_rate": 0.55, "test": "equivalence", "margin": 0.0}, "margin"),
    ({"win_rate": 0.40, "test": "non-inferiority", "margin": 0.05}, "at or below the non-inferiority bound"),
    ({"win_rate": 0.02, "tie_rate": 0.5}, "impossible with tie_rate"),
])
def test_votes_needed_rejects_bad_input_by_name(kw, msg):
    with pytest.raises(ValueError, match=msg):
        votes_needed(**kw)


def test_equivalence_decisions_on_clear_cases():
    se = analytic_se([480, 700], [520, 300], [0, 0])
    res = equivalence_test([0.48, 0.70], se, margin=0.05)
    assert list(res["non_inferior"]) == [True, True]
    assert list(res["equivalent"]) == [True, False]
    # a clear loss is not non-inferior
    res = equivalence_test([0.40], analytic_se([400], [600], [0]), margin=0.05)
    assert not res["non_inferior"][0] and res["non_inferiority_p"][0] > 0.5


def test_equivalence_rejects_a_bad_margin():
    with pytest.raises(ValueError, match="margin must be between 0 and 0.5"):
        equivalence_test([0.5], [0.01], margin=0.7)


def test_unanimous_outcomes_have_a_nonzero_standard_error():
    assert analytic_se([0], [0], [50])[0] > 0
    assert analytic_se([50], [0], [0])[0] > 0
