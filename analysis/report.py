"""The analysis summary (contract section 3) and the files written beside it."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from formats.report import REPORT_FORMAT, SUMMARY_FILE

from .agreement import attention_checks
from .bootstrap import KINDS
from .bradley_terry import ELO_BASE
from .criterion import analyse_criterion
from .encode import encode_votes, item_ids, n_distinct
from .io import validate_votes
from .question import Question, answer_question, parse_question
from .tables import write_tables

__all__ = ["BOOTSTRAP_CHOICES", "ELO_ANCHOR", "FORMAT", "build_summary", "write_report", "write_tables"]

#: The summary's format id (:data:`formats.report.REPORT_FORMAT`).
FORMAT = REPORT_FORMAT
#: ``auto`` (the default) clusters by annotator, or by prompt where that design effect is larger.
BOOTSTRAP_CHOICES = ("auto",) + KINDS
ELO_ANCHOR = {
    "formula": "elo = 1000 + 400 * score / ln(10)",
    "base": ELO_BASE,
    "anchor": "scores sum to zero over the systems of each connected group, so 1000 is the group's average "
              "system; Elo differences, not levels, compare systems, and only within one group",
}


def build_summary(votes: pd.DataFrame, *, metrics: dict[str, dict[str, float]] | None = None,
                  image_metrics: dict | None = None, n_bootstrap: int = 1000, seed: int = 0,
                  bootstrap: str = "auto", include_excluded: bool = False, margin: float = 0.05,
                  comparisons: list[tuple[str, str]] | None = None, prior: float = 1.0,
                  systems: list[str] | None = None, question: dict | None = None,
                  progress: Callable[[str], None] | None = None) -> dict:
    """Compute the analysis summary of a set of votes.

    Long because the docstring documents thirteen options; the code is twenty lines of named steps.

    Parameters
    ----------
    votes : pandas.DataFrame
        Votes with the columns of contract section 2 (validated here).
    metrics : dict, optional
        System-level metrics ``{system: {"jaq": .., "fid": .., "clip_score": ..}}``
        (a bundle's ``systems[].metrics``), correlated with the BT scores.
    image_metrics : dict, optional
        ``{(system, prompt, seed): {metric: value}}`` (a bundle's ``images[].metrics``):
        how often the image with the higher value wins.
    n_bootstrap : int
        Samples of each bootstrap kind (vote, annotator, prompt); 0 for none.
    seed : int
        Seed of every random draw: the same inputs give the same summary.
    bootstrap : {"auto", "vote", "annotator", "prompt"}
        Which kind gives the main ``ci95`` of the scores and of their
        differences (all three are reported under ``ci95_by_bootstrap``).
        ``auto`` (default) clusters by annotator, or by prompt where the
        prompt design effect is larger; win rates then use the two-way
        cluster-robust variance. ``vote`` assumes independent votes
        everywhere (intervals, tests, standard errors) and says so.
    include_excluded : bool
        Count votes from annotators marked ``annotator_excluded`` too.
    margin : float
        Non-inferiority / equivalence margin in win rate.
    comparisons : list of (str, str), optional
        Orientation of the win-rate rows, ``(a, b)`` = "a against b" (a
        bundle's ``comparisons``); other pairs put the higher-scored system first.
    prior : float
        Virtual ties per compared pair when no maximum-likelihood estimate exists.
    systems : list of str, optional
        Every system of the study (a bundle's ``systems``), so that systems
        without a vote still appear (``pairs_without_votes``, notes).
    question : dict, optional
        The study's question (:func:`analysis.question.parse_question`); its
        answer is ``summary["question"]``.
    progress : callable, optional
        Called with a short label before each criterion (for progress bars).

    Returns
    -------
    dict
        JSON-serialisable summary: the fields of contract section 3 plus
        ``notes``, ``settings``, ``davidson``, ``equivalence``,
        ``ci95_by_bootstrap``, ``attention_checks`` and more.
    """
    question = _checked_options(bootstrap, n_bootstrap, margin, prior, question)
    if not votes.attrs.get("qsched_validated"):
        votes = validate_votes(votes)
    metrics = {str(s): dict(m) for s, m in (metrics or {}).items()}
    ev = encode_votes(votes, extra_systems=systems or ())
    item = item_ids(ev)
    settings = _settings(n_bootstrap, seed, bootstrap, include_excluded, margin, prior)
    summary = _summary_head(votes, ev, item, include_excluded, settings)
    summary["notes"] += _pooling_notes(summary["studies"], metrics, ev.systems)
    for c, name in enumerate(ev.criteria):
        if progress:
            progress(name)
        res = analyse_criterion(ev, c, item, n_bootstrap=int(n_bootstrap), seed=int(seed), bootstrap=bootstrap,
                                include_excluded=include_excluded, metrics=metrics, image_metrics=image_metrics,
                                comparisons=comparisons, margin=margin, prior=prior)
        res["annotator_agreement"] = _annotator_rows(res.pop("annotators"))
        summary["by_criterion"][name] = res
    if question is not None:
        summary["question"] = answer_question(question, summary["by_criterion"])
    return summary


def _checked_options(bootstrap, n_bootstrap, margin, prior, question) -> Question | None:
    """Refuse an option out of range (naming it and its limits); the question parsed."""
    if bootstrap not in BOOTSTRAP_CHOICES:
        raise ValueError(f"bootstrap must be one of {', '.join(BOOTSTRAP_CHOICES)}, got {bootstrap!r}")
    if question is not None:
        question = parse_question(question)
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer, got {n_bootstrap!r}")
    if not 0.0 < margin < 0.5:
        raise ValueError(f"margin must be between 0 and 0.5, got {margin}")
    if prior <= 0:
        raise ValueError(f"prior must be positive, got {prior}")
    return question


def _settings(n_bootstrap, seed, bootstrap, include_excluded, margin, prior) -> dict:
    """The summary's ``settings``: the options, and the interval and test they choose for win rates."""
    return {"n_bootstrap": int(n_bootstrap), "seed": int(seed), "bootstrap": bootstrap,
            "include_excluded": bool(include_excluded), "margin": float(margin), "prior": float(prior),
            "win_rate_interval": ("wilson; assumes independent votes" if bootstrap == "vote" else
                                  "wilson with n / design effect (two-way cluster-robust variance)"),
            "p_value": ("exact two-sided sign test (ties left out); assumes independent votes"
                        if bootstrap == "vote" else "two-sided score test with n / design effect")}


def _summary_head(votes: pd.DataFrame, ev, item, include_excluded: bool, settings: dict) -> dict:
    """The summary's fields before the per-criterion results (``by_criterion`` empty, no notes yet)."""
    counted = ev.counted(include_excluded)
    return {
        "format": FORMAT,
        "n_votes": len(votes),
        "n_votes_counted": int(counted.sum()),
        "n_annotators": n_distinct(ev.annotator, len(ev.annotators)),
        "n_annotators_counted": n_distinct(ev.annotator[counted], len(ev.annotators)),
        "studies": sorted(map(str, votes["study"].cat.categories)),
        "systems": list(ev.systems),
        "criteria": list(ev.criteria),
        "settings": settings,
        "elo_anchor": ELO_ANCHOR,
        "attention_checks": attention_checks(ev, item),
        "by_criterion": {},
        "notes": [],
    }


def _pooling_notes(studies: list[str], metrics: dict, systems) -> list[str]:
    """Notes on what was put together: several studies, metrics of systems without votes."""
    notes = []
    if len(studies) > 1:
        notes.append(f"votes from {len(studies)} studies are pooled")
    unknown = sorted(set(metrics) - set(systems))
    if unknown:
        notes.append(f"metrics given for systems without votes: {', '.join(unknown)}")
    return notes


def _annotator_rows(per: pd.DataFrame) -> list[dict]:
    """The summary's ``annotator_agreement`` rows from the per-annotator frame of :func:`analyse_criterion`."""
    return [{"annotator": str(a), "n_votes": int(r.n_votes), "n_evaluable": int(r.n_evaluable),
             "agreement_with_majority": _float_or_none(r.agreement_with_majority),
             "left_rate": _float_or_none(r.left_rate), "excluded": bool(r.excluded)}
            for a, r in zip(per.index, per.itertuples())]


def _float_or_none(x):
    return None if x is None or not np.isfinite(x) else float(x)


def write_report(votes: pd.DataFrame, out_dir: str | Path, *, plots: bool = True, summary: dict | None = None,
                 **kw) -> Path:
    """Build the summary and write it with its tables and plots.

    Parameters
    ----------
    votes : pandas.DataFrame
        Votes (contract section 2).
    out_dir : str or Path
        Created if missing. Receives ``summary.json``, ``win_rates.csv``,
        ``bradley_terry.csv``, ``agreement.csv``, ``annotators.csv``,
        ``equivalence.csv``, ``differences.csv``, ``prompt_drilldown.csv``,
        ``correlation.csv`` and, with ``plots``, PNG and
        SVG figures.
    plots : bool
        Draw the figures (matplotlib, the slowest part).
    summary : dict, optional
        A summary already built from ``votes`` (skips recomputing it).
    **kw
        Passed to :func:`build_summary`.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if summary is None:
        summary = build_summary(votes, **kw)
    if plots:
        from .plots import write_plots

        summary["plots"] = [p.name for p in write_plots(summary, out, metrics=kw.get("metrics"))]
    write_tables(summary, out)
    tmp = out / f"{SUMMARY_FILE}.tmp"
    tmp.write_text(json.dumps(summary, indent=1, allow_nan=False), encoding="utf-8")
    tmp.replace(out / SUMMARY_FILE)
    return out
