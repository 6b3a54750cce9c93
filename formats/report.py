"""The analysis report, ``qsched-analysis/1`` (contract section 3): format id, file names, the headline.

Rules, defined here once:

- A report folder holds :data:`SUMMARY_FILE` (``format`` = :data:`REPORT_FORMAT`),
  CSV tables and, when drawn, each plot as PNG and SVG (:data:`PLOT_EXTENSIONS`).
- A plot's file name is ``<kind>_<criterion slug>.<ext>`` (:func:`plot_file`), with
  the kinds of :data:`PLOT_KINDS`; a score-against-metric plot puts the metric's slug
  in the kind (``score_vs_<metric>``). The analysis writes plots under these names
  and the platform's results panel looks them up by the same function.
- :func:`headline` is what the platform keeps of a summary to show on the study page
  (:class:`CriterionHeadline` per criterion); it is taken from the summary the
  analysis returned, never read back from disk.
"""
from __future__ import annotations

import re
from typing import TypedDict

__all__ = ["PLOT_EXTENSIONS", "PLOT_KINDS", "REPORT_FORMAT", "SUMMARY_FILE", "CriterionHeadline", "headline",
           "plot_file", "slug"]

REPORT_FORMAT = "qsched-analysis/1"
SUMMARY_FILE = "summary.json"
PLOT_EXTENSIONS = ("png", "svg")
#: Plot kinds, per criterion: the ranking (Bradley-Terry scores with intervals), the
#: win-rate matrix, agreement per annotator; ``score_vs_<metric>`` per system metric.
PLOT_KINDS = ("bt", "win_rate_matrix", "agreement_annotators")
#: The agreement figures of a criterion that the study page shows.
HEADLINE_AGREEMENT = ("krippendorff_alpha", "fleiss_kappa", "n_items", "chance_agreement")
#: The study page lists at most this many differences between systems per criterion.
HEADLINE_DIFFERENCES = 10


class CriterionHeadline(TypedDict):
    """What the study page shows of one criterion."""

    bradley_terry: list[dict]  # rows with system, score, ci95, elo
    interval_method: str
    n_votes: int
    agreement: dict  # the keys of HEADLINE_AGREEMENT
    design_effect: float | None  # annotator x prompt clustering, when estimated
    differences: list[dict]  # the first HEADLINE_DIFFERENCES rows of the summary's differences
    notes: list[str]
    ranking_plot: str  # file name of the PNG ranking plot (present in the report when it was drawn)


def slug(text: str) -> str:
    """A file-name-safe form of a criterion or metric name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def plot_file(kind: str, criterion: str, ext: str = "png") -> str:
    """``<kind>_<criterion slug>.<ext>``, e.g. ``bt_overall.png``; ``kind`` may be ``score_vs_<metric>``."""
    if ext not in PLOT_EXTENSIONS:
        raise ValueError(f"plot extension must be one of {', '.join(PLOT_EXTENSIONS)}, got {ext!r}")
    return f"{kind}_{slug(criterion)}.{ext}"


def headline(summary: dict) -> dict[str, CriterionHeadline]:
    """Per criterion, what the study page shows of ``summary`` (a ``build_summary`` result)."""
    out: dict[str, CriterionHeadline] = {}
    for criterion, res in summary["by_criterion"].items():
        out[criterion] = CriterionHeadline(
            bradley_terry=res["bradley_terry"], interval_method=res["interval_method"], n_votes=res["n_votes"],
            agreement={k: res["agreement"].get(k) for k in HEADLINE_AGREEMENT},
            design_effect=(res.get("design_effect") or {}).get("annotator_x_prompt"),
            differences=res.get("differences", [])[:HEADLINE_DIFFERENCES], notes=res["notes"],
            ranking_plot=plot_file("bt", criterion))
    return out
