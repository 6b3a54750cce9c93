"""Non-inferiority and equivalence (two one-sided tests) on win rates.

A quantization study usually asks "no visible loss", not "who wins": is
system ``a`` not worse than ``b`` by more than ``margin`` in win rate
(``H0: win_rate <= 0.5 - margin``), and is it equivalent
(``|win_rate - 0.5| < margin``, TOST: both one-sided nulls rejected)?

The tests are z-tests on the observed win rate with a standard error that is
either analytic (votes independent) or cluster-robust; with clustered votes
the statistic is read on Student's t with (annotators - 1) degrees of freedom.
"""
from __future__ import annotations

import numpy as np

from .numeric import ndtr, ndtri, t_quantile, t_sf

__all__ = ["analytic_se", "equivalence_test", "non_inferiority_p"]


def analytic_se(wins, losses, ties):
    """Standard error of the win rate from the per-vote scores (1, 1/2, 0).

    The per-vote variance is floored at ``1 / (4 n)`` (one vote's worth) so
    that unanimous outcomes (all wins, all ties) do not give a zero error.
    """
    w, l, t = (np.asarray(x, dtype=float) for x in (wins, losses, ties))
    n = w + l + t
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (w + t / 2) / n
        var = (w * (1 - p) ** 2 + l * p**2 + t * (0.5 - p) ** 2) / n
        var = np.maximum(var, 1.0 / (4.0 * n))
        return np.where(n > 0, np.sqrt(var / n), np.nan)


def _upper_tail(stat, df):
    return ndtr(-stat) if df is None else t_sf(stat, df)


def non_inferiority_p(win_rate, se, margin: float, df=None):
    """One-sided p-value of ``H0: win_rate <= 0.5 - margin`` (normal, or Student's t with ``df``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _upper_tail((np.asarray(win_rate, float) - (0.5 - margin)) / np.asarray(se, float), df)


def equivalence_test(win_rate, se, margin: float, alpha: float = 0.05, df=None) -> dict:
    """Non-inferiority and TOST equivalence for each win rate.

    Parameters
    ----------
    win_rate, se : array_like
        Observed win rates of ``a`` against ``b`` and their standard errors.
    margin : float
        Largest loss in win rate still counted as "no loss" (0 < margin < 0.5).
    df : array_like, optional
        Degrees of freedom of a t reference distribution (clustered votes:
        annotators - 1); normal when None.
    alpha : float
        Level of each one-sided test.

    Returns
    -------
    dict of numpy.ndarray
        ``non_inferiority_p``, ``equivalence_p`` (the larger of the two
        one-sided p-values), ``ci90_low``/``ci90_high`` (the interval the TOST
        decision is equivalent to), ``non_inferior`` and ``equivalent`` (bool).
    """
    if not 0.0 < margin < 0.5:
        raise ValueError(f"margin must be between 0 and 0.5 (a win-rate difference), got {margin}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be between 0 and 0.5, got {alpha}")
    p = np.asarray(win_rate, dtype=float)
    se = np.asarray(se, dtype=float)
    p_lower = non_inferiority_p(p, se, margin, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_upper = _upper_tail(((0.5 + margin) - p) / se, df)
    p_eq = np.maximum(p_lower, p_upper)
    if df is None:
        z = ndtri(1 - alpha)
    else:
        df_arr = np.asarray(df, dtype=float)
        quantiles = {d: t_quantile(1 - alpha, d) for d in np.unique(df_arr[np.isfinite(df_arr) & (df_arr > 0)])}
        z = np.array([quantiles.get(d, np.nan) for d in np.atleast_1d(df_arr).ravel()]).reshape(np.shape(df_arr))
    return {"non_inferiority_p": p_lower, "equivalence_p": p_eq,
            "ci90_low": p - z * se, "ci90_high": p + z * se,
            "non_inferior": p_lower < alpha, "equivalent": p_eq < alpha}
