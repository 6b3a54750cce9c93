"""Pairwise win rates with Wilson intervals and a two-sided test of 0.5."""
from __future__ import annotations

import numpy as np

from .numeric import ndtr, ndtri, sign_test_two_sided, t_sf

__all__ = ["score_interval", "score_test_p", "sign_test_p", "wilson_interval", "win_rate", "win_rate_table"]

Z95 = float(ndtri(0.975))


def win_rate(wins, losses, ties):
    """``(wins + ties / 2) / (wins + losses + ties)``; NaN where there are no votes."""
    wins, losses, ties = (np.asarray(x, dtype=float) for x in (wins, losses, ties))
    n = wins + losses + ties
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (wins + ties / 2.0) / np.where(n > 0, n, 1), np.nan)


def wilson_interval(p, n, z: float = Z95):
    """Wilson score interval for a proportion ``p`` out of ``n``.

    With ties the per-vote score (1, 1/2, 0) has variance at most that of a
    Bernoulli with the same mean, so the interval is conservative then.
    """
    p, n = np.asarray(p, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = 1.0 + z**2 / n
        centre = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    bad = ~(n > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def score_interval(p, n_eff, tie_share, z=Z95):
    """Score (Wilson-type) interval for a win rate with ties, on an effective sample size.

    Inverts the z-test whose variance is the per-vote score variance at the
    tested value ``q`` with the observed tie share ``t`` held fixed,
    ``q (1 - q) - t / 4``, divided by ``n_eff`` (``n`` over the design effect
    for clustered votes): the roots of ``(p - q)^2 = z^2 (q (1 - q) - t / 4) / n_eff``.
    With ``t = 0`` and ``n_eff = n`` this is the Wilson interval. ``z`` may be
    an array (a t quantile per pair, for clustered votes).
    """
    p, n_eff, t, z = (np.asarray(x, dtype=float) for x in (p, n_eff, tie_share, z))
    with np.errstate(invalid="ignore", divide="ignore"):
        k = z * z / n_eff
        b = 2 * p + k
        disc = np.sqrt(np.maximum(b * b - 4 * (1 + k) * (p * p + k * t / 4), 0.0))
        lo, hi = (b - disc) / (2 * (1 + k)), (b + disc) / (2 * (1 + k))
    bad = ~(n_eff > 0) | np.isnan(p)
    return np.where(bad, np.nan, np.clip(lo, 0, 1)), np.where(bad, np.nan, np.clip(hi, 0, 1))


def score_test_p(p, n_eff, tie_share, df=None):
    """Two-sided p-value of ``win_rate = 0.5`` for the test :func:`score_interval` inverts
    (on Student's t with ``df`` degrees of freedom when given, else normal)."""
    p, n_eff, t = (np.asarray(x, dtype=float) for x in (p, n_eff, tie_share))
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.abs(p - 0.5) / np.sqrt(np.maximum(0.25 - t / 4, 1e-12) / n_eff)
        tail = ndtr(-stat) if df is None else t_sf(stat, df)
        return np.where(np.abs(p - 0.5) == 0, 1.0, np.where(np.isnan(stat), np.nan, 2.0 * tail))


def sign_test_p(wins, losses):
    """Exact two-sided binomial (sign) test of P(win) = P(loss), ties left out.

    ``win_rate = 0.5`` holds exactly when wins and losses are equally likely,
    so this tests the contract's null hypothesis. 1.0 when there are no
    decisive votes.
    """
    wins, losses = np.asarray(wins, dtype=np.int64), np.asarray(losses, dtype=np.int64)
    p = sign_test_two_sided(wins, losses)
    return p.reshape(np.broadcast(wins, losses).shape) if p.size > 1 or np.ndim(wins) else float(p[0])


def win_rate_table(counts: np.ndarray) -> dict:
    """Win rate, Wilson 95% interval and sign-test p-value per pair.

    Parameters
    ----------
    counts : numpy.ndarray
        ``(P, 3)`` counts of (a wins, b wins, tie).

    Returns
    -------
    dict of numpy.ndarray
        ``wins``, ``losses``, ``ties``, ``n``, ``win_rate``, ``ci_low``, ``ci_high``, ``p_value``.
    """
    counts = np.asarray(counts, dtype=np.int64)
    w, l, t = counts[:, 0], counts[:, 1], counts[:, 2]
    n = w + l + t
    p = win_rate(w, l, t)
    lo, hi = wilson_interval(p, n)
    return {"wins": w, "losses": l, "ties": t, "n": n, "win_rate": p, "ci_low": lo, "ci_high": hi,
            "p_value": sign_test_p(w, l)}
