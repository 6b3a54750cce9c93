"""Power calculator: how many votes a pairwise comparison needs.

Normal approximations for the per-vote score (1 win, 1/2 tie, 0 loss) whose
mean is the win rate ``p``; with a tie share ``t`` its variance is
``p (1 - p) - t / 4``. ``design_effect`` inflates the count for votes that
are clustered (many votes per annotator or prompt); 1 means independent votes.
A study's report estimates it from its votes (``design_effect`` of each
criterion in ``summary.json``); :func:`design_effect_from_summary` reads it,
so a follow-up study with the same crowd is planned with the measured value.
"""
from __future__ import annotations

import math

from .numeric import ndtr, ndtri

__all__ = ["TESTS", "design_effect_from_summary", "power_of", "votes_needed"]

TESTS = ("superiority", "non-inferiority", "equivalence")


def _sf(x: float) -> float:
    return float(ndtr(-x))


def _check(win_rate, tie_rate, alpha, power, margin, design_effect, test):
    if test not in TESTS:
        raise ValueError(f"test must be one of {', '.join(TESTS)}, got {test!r}")
    if not 0.0 < win_rate < 1.0:
        raise ValueError(f"win_rate must be between 0 and 1, got {win_rate}")
    if not 0.0 <= tie_rate < 1.0:
        raise ValueError(f"tie_rate must be in [0, 1), got {tie_rate}")
    if not (tie_rate / 2 <= win_rate <= 1 - tie_rate / 2):
        raise ValueError(f"win_rate {win_rate} is impossible with tie_rate {tie_rate}: "
                         f"it must lie in [{tie_rate / 2}, {1 - tie_rate / 2}]")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must be between 0 and 0.5, got {alpha}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be between 0 and 1, got {power}")
    if design_effect < 1.0:
        raise ValueError(f"design_effect must be >= 1, got {design_effect}")
    if test != "superiority" and not 0.0 < margin < 0.5:
        raise ValueError(f"margin must be between 0 and 0.5 for a {test} test, got {margin}")


def _var(p: float, tie_rate: float) -> float:
    return max(p * (1 - p) - tie_rate / 4, 1e-12)


def votes_needed(win_rate: float, *, tie_rate: float = 0.0, alpha: float = 0.05, power: float = 0.8,
                 test: str = "superiority", margin: float = 0.0, design_effect: float = 1.0) -> int:
    """Votes on one pair needed to reach ``power``.

    Parameters
    ----------
    win_rate : float
        The true win rate of ``a`` against ``b`` to plan for.
    tie_rate : float
        Expected share of ties.
    alpha : float
        Significance level (two-sided for superiority, per one-sided test otherwise).
    power : float
        Wanted probability of a significant result.
    test : {"superiority", "non-inferiority", "equivalence"}
        ``superiority``: reject ``win_rate = 0.5``; ``non-inferiority``: reject
        ``win_rate <= 0.5 - margin``; ``equivalence``: reject both
        ``win_rate <= 0.5 - margin`` and ``win_rate >= 0.5 + margin`` (TOST).
    margin : float
        Non-inferiority / equivalence margin in win rate.
    design_effect : float
        Variance inflation for clustered votes (>= 1).

    Returns
    -------
    int
        Number of votes (rounded up).

    Raises
    ------
    ValueError
        Out-of-range inputs, or an effect that no number of votes can show
        (e.g. ``win_rate == 0.5`` for superiority).

    Examples
    --------
    >>> votes_needed(0.55)
    783
    """
    _check(win_rate, tie_rate, alpha, power, margin, design_effect, test)
    return math.ceil(_independent_votes(win_rate, tie_rate, alpha, power, test, margin) * design_effect)


def _independent_votes(win_rate: float, tie_rate: float, alpha: float, power: float, test: str,
                       margin: float) -> float:
    """Votes :func:`votes_needed` asks for if every vote were independent (not rounded)."""
    sd1 = math.sqrt(_var(win_rate, tie_rate))
    if test == "superiority":
        if win_rate == 0.5:
            raise ValueError("win_rate 0.5 means no difference: no number of votes detects it")
        sd0 = math.sqrt(_var(0.5, tie_rate))
        return ((ndtri(1 - alpha / 2) * sd0 + ndtri(power) * sd1) / (win_rate - 0.5)) ** 2
    if test == "non-inferiority":
        p0 = 0.5 - margin
        if win_rate <= p0:
            raise ValueError(f"win_rate {win_rate} is at or below the non-inferiority bound {p0}: "
                             f"no number of votes shows non-inferiority")
        sd0 = math.sqrt(_var(p0, min(tie_rate, 2 * p0)))
        return ((ndtri(1 - alpha) * sd0 + ndtri(power) * sd1) / (win_rate - p0)) ** 2
    gap = margin - abs(win_rate - 0.5)
    if gap <= 0:
        raise ValueError(f"win_rate {win_rate} is outside the equivalence range 0.5 +/- {margin}: "
                         f"no number of votes shows equivalence")
    beta = 1 - power
    zb = ndtri(1 - beta / 2) if win_rate == 0.5 else ndtri(1 - beta)
    return ((ndtri(1 - alpha) + zb) * sd1 / gap) ** 2


def power_of(n_votes: int, win_rate: float, *, tie_rate: float = 0.0, alpha: float = 0.05,
             test: str = "superiority", margin: float = 0.0) -> float:
    """Approximate power of ``n_votes`` votes (the inverse of :func:`votes_needed`)."""
    _check(win_rate, tie_rate, alpha, 0.5, margin, 1.0, test)
    if n_votes < 1:
        raise ValueError(f"n_votes must be >= 1, got {n_votes}")
    se1 = math.sqrt(_var(win_rate, tie_rate) / n_votes)
    if test == "superiority":
        se0 = math.sqrt(_var(0.5, tie_rate) / n_votes)
        zc = ndtri(1 - alpha / 2) * se0
        return float(_sf((zc - (win_rate - 0.5)) / se1) + ndtr((-zc - (win_rate - 0.5)) / se1))
    if test == "non-inferiority":
        p0 = 0.5 - margin
        se0 = math.sqrt(_var(p0, min(tie_rate, 2 * p0)) / n_votes)
        return float(_sf((ndtri(1 - alpha) * se0 - (win_rate - p0)) / se1))
    z = ndtri(1 - alpha)
    lo = _sf((0.5 - margin + z * se1 - win_rate) / se1)
    hi = ndtr((0.5 + margin - z * se1 - win_rate) / se1)
    return float(max(0.0, lo + hi - 1.0))


def design_effect_from_summary(summary: dict, criterion: str | None = None) -> float:
    """The estimated design effect of a report (``summary.json``): the clustered one used for win rates.

    Parameters
    ----------
    summary : dict
        A summary from :func:`analysis.report.build_summary`.
    criterion : str, optional
        Which criterion (default: the first).

    Returns
    -------
    float
        >= 1; 1.0 when the report could not estimate it (too few annotators).
    """
    by = summary.get("by_criterion") or {}
    if not by:
        raise ValueError("the summary has no criteria: no design effect to read")
    if criterion is None:
        criterion = next(iter(by))
    if criterion not in by:
        raise ValueError(f"the summary has no criterion {criterion!r} (it has {', '.join(by)})")
    deff = (by[criterion].get("design_effect") or {})
    value = deff.get("annotator_x_prompt") or deff.get("annotator")
    return float(max(1.0, value)) if value else 1.0
