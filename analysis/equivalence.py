"""Non-inferiority and equivalence (two one-sided tests) on win rates.

A quantization study usually asks "no visible loss", not "who wins": is
system ``a`` not worse than ``b`` by more than ``margin`` in win rate
(``H0: win_rate <= 0.5 - margin``), and is it equivalent
(``|win_rate - 0.5| < margin``, TOST: both one-sided nulls rejected)?

The tests are z-tests on the observed win rate with a standard error that is
either analytic (votes independent) or the standard deviation of the
cluster-bootstrap win rates (votes clustered by annotator or prompt).
"""
from __future__ import annotations

import numpy as np

from .numeric import ndtr, ndtri

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


def non_inferiority_p(win_rate, se, margin: float):
    """One-sided p-value of ``H0: win_rate <= 0.5 - margin``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return ndtr(-(np.asarray(win_rate, float) - (0.5 - margin)) / np.asarray(se, float))


def equivalence_test(win_rate, se, margin: float, alpha: float = 0.05) -> dict:
    """Non-inferiority and TOST equivalence for each win rate.

    Parameters
    ----------
    win_rate, se : array_like
        Observed win rates of ``a`` against ``b`` and their standard errors.
    margin : float
        Largest loss in win rate still counted as "no loss" (0 < margin < 0.5).
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
    p_lower = non_inferiority_p(p, se, margin)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_upper = ndtr((p - (0.5 + margin)) / se)
    p_eq = np.maximum(p_lower, p_upper)
    z = ndtri(1 - alpha)
    return {"non_inferiority_p": p_lower, "equivalence_p": p_eq,
            "ci90_low": p - z * se, "ci90_high": p + z * se,
            "non_inferior": p_lower < alpha, "equivalent": p_eq < alpha}
