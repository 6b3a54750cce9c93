"""Build a study's analysis report (the work behind ``results.tasks.refresh_report``).

The report is ``analysis.report.write_report`` on the study's votes
(``studies.export.votes_dataframe``), with system and image metrics and the
comparisons of its bundle. Files are written to a fresh folder and swapped in
by renames, so a download never sees half a report.
"""
from __future__ import annotations

import logging
import re
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import StudyReport

logger = logging.getLogger(__name__)

__all__ = ["REPORT_FILE_RE", "ensure_report", "refresh_report", "report_dir", "report_file"]

#: Names that may be downloaded: the tables, the summary and the plots.
REPORT_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.(json|csv|png|svg)$")
STALE_BUILD = timedelta(minutes=30)


def report_dir(study) -> Path:
    """``MEDIA_ROOT/reports/<slug>``."""
    return Path(settings.MEDIA_ROOT) / "reports" / study.slug


def report_file(study, name: str) -> Path | None:
    """The path of report file ``name`` of ``study``, or None if there is no such file (or the name is unsafe)."""
    if not REPORT_FILE_RE.match(name):
        return None
    folder = report_dir(study).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def ensure_report(study) -> StudyReport:
    """The study's report row (created empty on first use)."""
    report, _ = StudyReport.objects.get_or_create(study=study)
    return report


def _claim(report: StudyReport) -> bool:
    now = timezone.now()
    free = Q(building_since__isnull=True) | Q(building_since__lt=now - STALE_BUILD)
    return StudyReport.objects.filter(free, pk=report.pk).update(building_since=now) == 1


def _bundle_inputs(study):
    metrics = {s.key: {k: float(v) for k, v in (s.metrics or {}).items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool)}
               for s in study.systems.all()}
    images = {}
    rows = study.images.exclude(metrics={}).values_list("system__key", "prompt__key", "seed", "metrics")
    for system, prompt, seed, m in rows.iterator(chunk_size=2000):
        values = {k: float(v) for k, v in (m or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if values:
            images[(system, prompt, int(seed))] = values
    comparisons = None
    raw = (study.manifest or {}).get("comparisons")
    if isinstance(raw, list):
        comparisons = [(str(c["a"]), str(c["b"])) for c in raw if isinstance(c, dict) and {"a", "b"} <= set(c)]
    return metrics, images, comparisons


def _swap_in(tmp: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex}")
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def refresh_report(*, study, n_bootstrap: int | None = None, plots: bool | None = None) -> StudyReport:
    """Rebuild the report of ``study`` from all its votes so far.

    Parameters
    ----------
    study : studies.models.Study
    n_bootstrap : int, optional
        Samples per bootstrap kind (default ``settings.QSCHED_REPORT_BOOTSTRAP`` or 1000).
    plots : bool, optional
        Draw the figures (default ``settings.QSCHED_REPORT_PLOTS`` or True).

    Returns
    -------
    StudyReport
        With ``status`` "ok" (files written), "empty" (no votes yet; older
        files are kept) or "failed" (``message`` says why; older files are kept).
        When another worker is building the same report, returns the row unchanged.
    """
    from studies.export import votes_dataframe

    from analysis.io import VotesError
    from analysis.report import write_report

    report = ensure_report(study)
    if not _claim(report):
        logger.info("report of %s is being built by another worker", study.slug)
        return report
    try:
        votes = votes_dataframe(study)
        if len(votes) == 0:
            report.status, report.message, report.n_votes = StudyReport.Status.EMPTY, "no votes yet", 0
            return report
        metrics, images, comparisons = _bundle_inputs(study)
        final = report_dir(study)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex}")
        if n_bootstrap is None:
            n_bootstrap = int(getattr(settings, "QSCHED_REPORT_BOOTSTRAP", 1000))
        if plots is None:
            plots = bool(getattr(settings, "QSCHED_REPORT_PLOTS", True))
        try:
            write_report(votes, tmp, plots=plots, metrics=metrics, image_metrics=images, comparisons=comparisons,
                         n_bootstrap=n_bootstrap)
            _swap_in(tmp, final)
        except (VotesError, ValueError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            report.status, report.message = StudyReport.Status.FAILED, str(exc)
            return report
        except Exception:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        report.status, report.message, report.n_votes = StudyReport.Status.OK, "", len(votes)
        report.refreshed_at = timezone.now()
        report.files = sorted(p.name for p in final.iterdir() if REPORT_FILE_RE.match(p.name))
        report.headline = _headline(final / "summary.json")
        return report
    finally:
        report.building_since = None
        report.save(update_fields=["status", "message", "n_votes", "refreshed_at", "files", "headline",
                                   "building_since"])


def _headline(summary_path: Path) -> dict:
    import json

    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    out = {}
    for crit, res in summary["by_criterion"].items():
        out[crit] = {"bradley_terry": res["bradley_terry"], "interval_method": res["interval_method"],
                     "n_votes": res["n_votes"], "agreement": {k: res["agreement"].get(k) for k in
                                                              ("krippendorff_alpha", "fleiss_kappa", "n_items")},
                     "notes": res["notes"]}
    return out
