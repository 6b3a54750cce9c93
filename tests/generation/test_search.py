"""Search strategies on known functions: the grid finds the optimum, the smarter ones meet the 1% / one-tenth rule."""

import numpy as np
import pytest

from generation.search import STRATEGIES, evaluations_to_target, grid_points, run_search


def bowl(x, y):
    """Smooth, tilted bowl with its maximum 1.5 at (0.93, 1.07)."""
    return 1.5 - 3 * (x - 0.93) ** 2 - 2 * (y - 1.07) ** 2 - 1.5 * (x - 0.93) * (y - 1.07)


def bump(x, y):
    """A narrow bump at (1.13, 0.86) on a rippled plateau (several local maxima)."""
    return 1.0 + 0.3 * np.exp(-((x - 1.13) ** 2 + (y - 0.86) ** 2) / 0.01) + 0.05 * np.cos(20 * x) * np.sin(15 * y)


def test_the_grid_finds_the_best_grid_point_of_a_known_function():
    r = run_search(bowl, "grid", bounds=(0.8, 1.2), grid_size=21)
    assert r.n_evaluations == 441
    assert r.best == (0.92, 1.08)  # best point of the 0.02 grid; the true optimum (0.93, 1.07) lies between
    values = {(p["c_x"], p["c_theta"]): p["value"] for p in r.points}
    assert r.best_value == max(values.values())
    assert list(grid_points((0.8, 1.2), 5)) == [0.8, 0.9, 1.0, 1.1, 1.2]


@pytest.mark.parametrize("strategy", ["coarse-to-fine", "nelder-mead"])
@pytest.mark.parametrize("function", [bowl, bump])
def test_smarter_search_is_within_1_percent_of_the_grid_with_a_tenth_of_the_evaluations(strategy, function):
    grid = run_search(function, "grid", grid_size=21)
    smart = run_search(function, strategy, grid_size=21)
    assert smart.n_evaluations <= grid.n_evaluations / 10
    assert smart.best_value >= grid.best_value - 0.01 * abs(grid.best_value)
    assert evaluations_to_target(smart.points, 0.99 * grid.best_value) <= smart.n_evaluations


def test_coarse_to_fine_converges_to_the_true_optimum_with_more_budget():
    r = run_search(bowl, "coarse-to-fine", budget=200)
    assert r.best == pytest.approx((0.93, 1.07), abs=2e-3)


def test_points_are_evaluated_once_and_stay_in_bounds():
    calls = []
    r = run_search(lambda x, y: calls.append((x, y)) or -(x - 2) ** 2, "nelder-mead", bounds=(0.8, 1.2), budget=30)
    assert len(calls) == len(set(calls)) == r.n_evaluations <= 30
    assert all(0.8 <= x <= 1.2 and 0.8 <= y <= 1.2 for x, y in calls)
    assert r.best[0] == 1.2  # the optimum outside the box is clipped to its edge


def test_nelder_mead_keeps_every_point_in_the_box_and_reaches_an_optimum_outside_it():
    asked = []

    def far(x, y):  # maximum at (2.0, 0.5), outside [0.8, 1.2]^2: the best point in the box is its corner (1.2, 0.8)
        asked.append((x, y))
        return -((x - 2.0) ** 2) - (y - 0.5) ** 2

    r = run_search(far, "nelder-mead", bounds=(0.8, 1.2), budget=40)
    assert all(0.8 <= x <= 1.2 and 0.8 <= y <= 1.2 for x, y in asked)
    assert r.best == pytest.approx((1.2, 0.8), abs=1e-3)


def test_the_search_refuses_to_evaluate_outside_its_box():
    from generation.search import _Memo

    f = _Memo(lambda x, y: x + y, (0.8, 1.2), budget=None)
    assert f(1.2, 0.8) == pytest.approx(2.0)
    with pytest.raises(RuntimeError, match=r"outside the box \[0.8, 1.2\]"):
        f(1.3, 1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"strategy": "random"}, "unknown search strategy 'random'"),
    ({"bounds": (1.2, 0.8)}, r"bounds must be \(low, high\) with low < high"),
    ({"grid_size": 1}, "grid_size must be >= 2"),
    ({"strategy": "coarse-to-fine", "budget": 3}, "budget must be >= 9"),
])
def test_bad_search_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_search(bowl, **kwargs)


def test_strategies_are_listed():
    assert STRATEGIES == ("grid", "coarse-to-fine", "nelder-mead")
