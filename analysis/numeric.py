"""Small numerical helpers in plain NumPy, so that the report never waits ~1 s for SciPy imports.

Each one is checked against SciPy in ``tests/analysis/test_numeric.py``.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["expit", "kendall_tau_b", "ndtr", "ndtri", "pearson", "rankdata", "sign_test_two_sided", "spearman",
           "t_quantile", "t_sf"]

_erfc = np.vectorize(math.erfc, otypes=[float])
_STD_NORMAL = NormalDist()


def expit(x):
    """Logistic function ``1 / (1 + exp(-x))`` as ``(1 + tanh(x / 2)) / 2``: no overflow, one fast
    transcendental call, absolute error ~1e-16 (tiny probabilities round to 0)."""
    x = np.asarray(x, dtype=float)
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def ndtr(x):
    """Standard normal CDF (NaN stays NaN)."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    out[ok] = 0.5 * _erfc(-x[ok] / math.sqrt(2.0))
    return out if out.ndim else float(out)


def ndtri(p: float) -> float:
    """Standard normal quantile of a probability ``0 < p < 1``."""
    return _STD_NORMAL.inv_cdf(float(p))


def _log_binom_half_cdf(k: int, n: int) -> float:
    """log P(X <= k) for X ~ Binomial(n, 1/2), k < n / 2, summed in log space.

    Anchored at ``log pmf(k)`` (from ``lgamma``), then walked down with
    ``log pmf(j - 1) = log pmf(j) + log(j / (n - j + 1))`` (one cumulative
    sum), so the largest terms carry the least rounding.
    """
    if k >= n:
        return 0.0
    anchor = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2.0)
    j = np.arange(k, 0, -1, dtype=float)  # k, k-1, ..., 1
    steps = np.cumsum(np.log(j / (n - j + 1.0)))
    terms = np.exp(steps)  # pmf(j) / pmf(k) for j = k-1 .. 0, all <= 1
    return float(anchor + math.log1p(terms.sum()))


def sign_test_two_sided(wins, losses):
    """Exact two-sided binomial test of P(win) = 1/2 (the sign test); 1.0 without decisive votes."""
    wins = np.atleast_1d(np.asarray(wins, dtype=np.int64))
    losses = np.atleast_1d(np.asarray(losses, dtype=np.int64))
    out = np.ones(np.broadcast(wins, losses).shape)
    for idx, (w, l) in enumerate(zip(np.broadcast_to(wins, out.shape).ravel(),
                                     np.broadcast_to(losses, out.shape).ravel())):
        n = int(w + l)
        if n == 0 or w == l:
            continue
        out.flat[idx] = min(1.0, 2.0 * math.exp(_log_binom_half_cdf(int(min(w, l)), n)))
    return out


def rankdata(x) -> np.ndarray:
    """Ranks 1..n, ties given their average rank."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for value in np.unique(x):
        tied = x == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def pearson(x, y) -> float:
    """Pearson correlation coefficient."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xc, yc = x - x.mean(), y - y.mean()
    return float(np.clip((xc * yc).sum() / math.sqrt((xc**2).sum() * (yc**2).sum()), -1.0, 1.0))


def spearman(x, y) -> float:
    """Spearman rank correlation (Pearson on average ranks)."""
    return pearson(rankdata(x), rankdata(y))


def kendall_tau_b(x, y) -> float:
    """Kendall's tau-b, which corrects for ties (what ``scipy.stats.kendalltau`` returns by default)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(len(x), 1)
    s = (dx * dy)[iu].sum()
    n_x = np.count_nonzero(dx[iu])
    n_y = np.count_nonzero(dy[iu])
    return float(s / math.sqrt(n_x * n_y))


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta ``I_x(a, b)`` by Lentz's continued fraction (Numerical Recipes 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _betainc(b, a, 1.0 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)) / a
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return front * f


def t_sf(t, df):
    """Survival function ``P(T > t)`` of Student's t with ``df`` degrees of freedom (array in, array out)."""
    t, df = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(df, dtype=float))
    out = np.full(t.shape, np.nan)
    for idx in np.ndindex(t.shape):
        x, k = float(t[idx]), float(df[idx])
        if math.isnan(x) or not k > 0:
            continue
        if math.isinf(x):
            out[idx] = 0.0 if x > 0 else 1.0
            continue
        tail = 0.5 * _betainc(k / 2.0, 0.5, k / (k + x * x))
        out[idx] = tail if x > 0 else 1.0 - tail
    return out if out.ndim else float(out)


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t (``0 < p < 1``), by bisection on :func:`t_sf` (12 digits)."""
    if not 0.0 < p < 1.0 or not df > 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0, got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > 1.0 - p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if t_sf(mid, df) > 1.0 - p else (lo, mid)
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0
