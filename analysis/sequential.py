"""Group-sequential boundaries: Lan-DeMets alpha spending with the O'Brien-Fleming-type function.

Rules and assumptions:

* a study is looked at repeatedly (each report refresh is a look); at look k
  the information fraction is ``t_k = votes on the pair / planned votes``
  (capped at 1), and the z statistic ``Z_k`` uses the clustered standard
  error of the win rate;
* the one-sided error ``alpha`` is spent as ``alpha(t) = 2 - 2 Phi(z_{1-alpha/2} / sqrt(t))``
  (Lan & DeMets 1983, O'Brien-Fleming type): almost nothing early, the
  whole ``alpha`` at ``t = 1``. The boundary ``c_k`` solves
  ``P(Z_1 < c_1, ..., Z_{k-1} < c_{k-1}, Z_k >= c_k) = alpha(t_k) - alpha(t_{k-1})``
  under the null, with ``Z`` a Brownian motion in information time
  (independent increments, ``corr(Z_i, Z_j) = sqrt(t_i / t_j)``);
  computed by numerical integration on a grid (Armitage, McPherson & Rowe 1969);
* validity needs the look times not to depend on the results (a refresh
  when the researcher wants one is fine; refreshing until it says yes is
  exactly what the spending protects against), the normal approximation,
  and information proportional to votes (clustering that changes as a study
  runs bends this a little);
* the number of looks need not be fixed in advance; the planned number of
  votes must be. After ``t = 1`` no alpha is left: a look then cannot turn
  a "not yet" into "yes".

References
----------
Lan, K. K. G. & DeMets, D. L. (1983). Discrete sequential boundaries for
clinical trials. Biometrika 70(3), 659-663.
Jennison, C. & Turnbull, B. W. (2000). Group Sequential Methods with
Applications to Clinical Trials, ch. 7 and 19.
"""
from __future__ import annotations

import math

import numpy as np

from .numeric import ndtr, ndtri

__all__ = ["obf_spent", "spending_boundaries"]

_GRID = 801


def obf_spent(t, alpha: float) -> np.ndarray:
    """Alpha spent by information fraction ``t`` (array), O'Brien-Fleming type."""
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0)
    z = ndtri(1.0 - alpha / 2.0)
    with np.errstate(divide="ignore"):
        return np.where(t > 0, 2.0 - 2.0 * ndtr(z / np.sqrt(np.maximum(t, 1e-300))), 0.0)


def _normal_pdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def spending_boundaries(fractions, alpha: float) -> np.ndarray:
    """One-sided z boundaries for looks at information ``fractions`` (increasing, > 0).

    Parameters
    ----------
    fractions : sequence of float
        Information fraction of each look so far, strictly increasing; values
        above 1 are treated as 1 (the plan reached).
    alpha : float
        One-sided error to spend over the whole study.

    Returns
    -------
    numpy.ndarray
        ``c_k`` per look; ``inf`` where no alpha is left to spend.
    """
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or len(t) == 0:
        raise ValueError("fractions must be a non-empty list of information fractions")
    if np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise ValueError(f"information fractions must be positive and increasing, got {t.tolist()}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be between 0 and 0.5, got {alpha}")
    t_eff = np.minimum(t, 1.0)
    spent = obf_spent(t_eff, alpha)
    bounds = np.full(len(t), np.inf)
    # density of the score process S = Z sqrt(t) on a grid, restricted to "not stopped yet"
    grid = density = None
    prev_t, prev_spent = 0.0, 0.0
    for k, (tk, ak) in enumerate(zip(t_eff, spent)):
        increment = ak - prev_spent
        if tk <= prev_t or increment <= 1e-15:
            bounds[k] = np.inf  # no information or no alpha added: this look cannot reject
            if tk > prev_t and density is not None:
                grid, density = _propagate(grid, density, prev_t, tk, np.inf)
                prev_t = tk
            continue
        if density is None:
            c = ndtri(1.0 - increment)
        else:
            c = _solve_boundary(grid, density, prev_t, tk, increment)
        bounds[k] = c
        if density is None:
            sd = math.sqrt(tk)
            grid = np.linspace(-8.0 * sd, c * sd, _GRID)
            density = _normal_pdf(grid / sd) / sd
        else:
            grid, density = _propagate(grid, density, prev_t, tk, c)
        prev_t, prev_spent = tk, ak
    return bounds


def _exit_probability(grid, density, t0, t1, c) -> float:
    sd = math.sqrt(t1 - t0)
    tail = ndtr(-(c * math.sqrt(t1) - grid) / sd)
    return float(np.trapezoid(density * tail, grid))


def _solve_boundary(grid, density, t0, t1, target) -> float:
    lo, hi = -10.0, 40.0
    for _ in range(80):  # bisection: the exit probability falls as the boundary rises
        mid = 0.5 * (lo + hi)
        if _exit_probability(grid, density, t0, t1, mid) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9:
            break
    return 0.5 * (lo + hi)


def _propagate(grid, density, t0, t1, c):
    """Density of S(t1) on ``S(t1) < c sqrt(t1)`` from that of S(t0) on ``grid``."""
    sd = math.sqrt(t1 - t0)
    top = c * math.sqrt(t1) if np.isfinite(c) else grid[-1] + 8.0 * sd
    new = np.linspace(-8.0 * math.sqrt(t1), top, _GRID)
    kernel = _normal_pdf((new[:, None] - grid[None, :]) / sd) / sd
    weights = np.full(len(grid), grid[1] - grid[0])
    weights[0] = weights[-1] = weights[0] / 2
    return new, kernel @ (density * weights)
