"""Search strategies for the two Q-Sched start coefficients (c_x, c_theta).

All strategies maximise ``objective(c_x_start, c_theta_start) -> float`` over a
box (paper: [0.8, 1.2]^2, end values fixed to 1) and return every point they
evaluated, so a report can show the whole search. Points are rounded to 6
decimals before evaluation, which keeps on-disk cache keys stable.

* ``grid``: the paper's exhaustive grid (baseline), ``n x n`` points.
* ``coarse-to-fine``: a 5 x 5 grid over the box, then repeated 3 x 3
  refinements around the best point with the spacing halved each round,
  until the evaluation budget is used.
* ``nelder-mead``: SciPy's Nelder-Mead from (1, 1) with the box as its
  ``bounds`` (SciPy keeps every vertex inside), restarted from the best point
  with a smaller simplex until the evaluation budget is used.

The objective is never asked about a point outside the box: asking raises
(coarse-to-fine clips its refinement candidates to the box itself).

Every strategy reports the point with the highest objective value, i.e. the
best JAQ. (The released code ranked its grid by the highest CLIPScore, the
first element of its per-point score list, and then crashed.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

__all__ = ["STRATEGIES", "SearchResult", "run_search", "grid_points", "evaluations_to_target"]

STRATEGIES = ("grid", "coarse-to-fine", "nelder-mead")


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """Outcome of a search.

    Attributes
    ----------
    strategy : str
    best : tuple of float
        ``(c_x_start, c_theta_start)`` with the highest objective.
    best_value : float
    points : list of dict
        ``{"c_x": float, "c_theta": float, "value": float}`` in evaluation order
        (distinct points only; repeated requests are answered from memory).
    """

    strategy: str
    best: tuple
    best_value: float
    points: list

    @property
    def n_evaluations(self) -> int:
        return len(self.points)


def grid_points(bounds: tuple[float, float], n: int) -> np.ndarray:
    """The ``n`` grid values per axis over ``bounds`` (rounded to 6 decimals)."""
    return np.round(np.linspace(bounds[0], bounds[1], n), 6)


class _Memo:
    def __init__(self, objective: Callable, bounds, budget: int | None, progress=None):
        self.objective, self.bounds, self.budget, self.progress = objective, bounds, budget, progress
        self.values: dict[tuple, float] = {}
        self.order: list[tuple] = []

    def exhausted(self) -> bool:
        return self.budget is not None and len(self.order) >= self.budget

    def __call__(self, cx: float, ct: float) -> float:
        lo, hi = self.bounds
        if not all(lo - 1e-9 <= v <= hi + 1e-9 for v in (cx, ct)):
            raise RuntimeError(f"search asked for ({cx}, {ct}) outside the box [{lo}, {hi}]^2")
        key = (round(float(np.clip(cx, lo, hi)), 6), round(float(np.clip(ct, lo, hi)), 6))
        if key not in self.values:
            if self.exhausted():
                return -np.inf
            self.values[key] = float(self.objective(*key))
            self.order.append(key)
            if self.progress is not None:
                self.progress.update(1)
        return self.values[key]

    def result(self, strategy: str) -> SearchResult:
        if not self.order:
            raise RuntimeError("the search evaluated no points")
        best = max(self.order, key=lambda k: self.values[k])
        points = [{"c_x": k[0], "c_theta": k[1], "value": self.values[k]} for k in self.order]
        return SearchResult(strategy, best, self.values[best], points)


def _grid(f: _Memo, bounds, n: int):
    for cx in grid_points(bounds, n):
        for ct in grid_points(bounds, n):
            f(cx, ct)


def _coarse_to_fine(f: _Memo, bounds, coarse: int = 5):
    lo, hi = bounds
    _grid(f, bounds, coarse)
    step = (hi - lo) / (coarse - 1)
    while not f.exhausted() and step > 1e-5:
        step /= 2
        cx0, ct0 = max(f.order, key=lambda k: f.values[k])
        for dx in (-step, 0.0, step):
            for dt in (-step, 0.0, step):
                f(float(np.clip(cx0 + dx, lo, hi)), float(np.clip(ct0 + dt, lo, hi)))


def _nelder_mead(f: _Memo, bounds, budget: int, max_rounds: int = 20):
    """SciPy's Nelder-Mead inside the box, restarted from the best point with a simplex half as large.

    A bounded simplex can collapse onto an edge of the box and stop early; the
    restarts spend the rest of the budget around the best point found.
    """
    from scipy.optimize import minimize

    lo, hi = bounds
    span = (hi - lo) / 4
    start = np.clip(np.array([1.0, 1.0]), lo, hi)
    for _ in range(max_rounds):
        if f.exhausted():
            break
        simplex = np.array([start, start + [span, 0.0], start + [0.0, span]])
        simplex[1:][simplex[1:] > hi] -= 2 * span  # a vertex past the upper edge goes to the other side
        minimize(lambda v: -f(v[0], v[1]), x0=simplex[0], method="Nelder-Mead", bounds=[(lo, hi), (lo, hi)],
                 options={"initial_simplex": simplex.clip(lo, hi), "maxfev": budget * 3, "xatol": 1e-4,
                          "fatol": 1e-6})
        start = np.array(max(f.order, key=lambda k: f.values[k]))
        span /= 2


def run_search(objective: Callable[[float, float], float], strategy: str = "coarse-to-fine",
               bounds: tuple[float, float] = (0.8, 1.2), grid_size: int = 21, budget: int | None = None,
               progress=None) -> SearchResult:
    """Maximise ``objective`` over ``bounds x bounds`` with one of :data:`STRATEGIES`.

    Parameters
    ----------
    objective : callable ``(c_x_start, c_theta_start) -> float``
    strategy : {"grid", "coarse-to-fine", "nelder-mead"}
    bounds : (low, high)
        Search box for both start values (paper: (0.8, 1.2)).
    grid_size : int
        Points per axis of the exhaustive grid (paper: up to 50).
    budget : int, optional
        Most distinct evaluations for the smarter strategies; default
        ``grid_size**2 // 10`` (one tenth of the grid).
    progress : tqdm-like, optional
        ``update(1)`` is called after each new evaluation.

    Returns
    -------
    SearchResult
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown search strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    lo, hi = map(float, bounds)
    if not lo < hi:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds}")
    if grid_size < 2:
        raise ValueError(f"grid_size must be >= 2, got {grid_size}")
    if strategy == "grid":
        f = _Memo(objective, (lo, hi), None, progress)
        _grid(f, (lo, hi), grid_size)
        return f.result(strategy)
    budget = budget if budget is not None else max(grid_size**2 // 10, 9)
    if budget < 9:
        raise ValueError(f"budget must be >= 9 evaluations, got {budget}")
    f = _Memo(objective, (lo, hi), budget, progress)
    if strategy == "coarse-to-fine":
        _coarse_to_fine(f, (lo, hi), coarse=5 if budget >= 33 else 3)
    else:
        _nelder_mead(f, (lo, hi), budget)
    return f.result(strategy)


def evaluations_to_target(points: list[dict], target: float) -> int | None:
    """1-based number of evaluations until a value >= ``target`` was seen (None if never)."""
    for i, p in enumerate(points, start=1):
        if p["value"] >= target:
            return i
    return None
