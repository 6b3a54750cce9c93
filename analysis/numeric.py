"""Small numerical helpers in plain NumPy, so that the report never waits ~1 s for SciPy imports.

Each one is checked against SciPy in ``tests/analysis/test_numeric.py``.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["expit", "kendall_tau_b", "ndtr", "ndtri", "pearson", "rankdata", "sign_test_two_sided", "spearman"]

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
