"""Build a study's analysis report (the work behind ``results.tasks.refresh_report``).

The report is ``analysis.report.write_report`` on the study's votes
(``studies.export.votes_dataframe``), with system and image metrics, the
systems and comparisons of its bundle, and the study's question (each build
is one look of its sequential test; ``results.questions`` keeps the looks).
Files are written to a fresh folder and swapped in by renames, so a download
never sees half a report.

One build per report at a time, by a lease on the report row: ``building_by`` (the
holder: the Celery task id) and ``building_since`` (last renewal). A build claims it
with one conditional UPDATE that succeeds when the lease is free, lapsed (not renewed
for ``QSCHED_REPORT_LEASE_S``) or already its own (a redelivered task, same id, after
its worker died); a thread renews it every third of that while the build runs. So a
killed build holds the report for at most one lease, and the task that asked for it runs
again. A build that finds the lease held raises :class:`ReportBusy` (the task retries).
Rebuilding is idempotent: the report is a function of the votes.
"""
from __future__ import annotations

import logging
import re
import shutil
import threading
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone

from formats.bundle import listed_pairs, numeric_metrics
from formats.report import headline

from .models import StudyReport

logger = logging.getLogger(__name__)

__all__ = ["REPORT_FILE_RE", "ReportBusy", "ensure_report", "refresh_report", "report_dir", "report_file"]

#: Names that may be downloaded: the tables, the summary and the plots.
REPORT_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.(json|csv|png|svg)$")


class ReportBusy(Exception):
    """Another build holds a live lease on this report; try again after ``retry_after`` seconds."""

    def __init__(self, study_slug: str, holder: str, retry_after: int):
        super().__init__(f"the report of {study_slug} is being built by {holder or 'another worker'}")
        self.retry_after = retry_after


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


def _lease_seconds() -> int:
    return int(settings.QSCHED_REPORT_LEASE_S)


def _claim(report: StudyReport, holder: str) -> bool:
    now = timezone.now()
    free = (Q(building_since__isnull=True) | Q(building_since__lt=now - timedelta(seconds=_lease_seconds()))
            | Q(building_by=holder))
    return StudyReport.objects.filter(free, pk=report.pk).update(building_since=now, building_by=holder) == 1


class _LeaseRenewer:
    """Renews ``holder``'s lease on report ``pk`` every third of the lease, from a thread, until closed."""

    def __init__(self, pk: int, holder: str):
        self.pk, self.holder = pk, holder
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"report-lease-{pk}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(_lease_seconds() / 3):
                try:
                    renewed = StudyReport.objects.filter(pk=self.pk, building_by=self.holder).update(
                        building_since=timezone.now())
                except DatabaseError as exc:  # try again at the next beat; the lease is a third longer
                    logger.warning("report %s: lease renewal failed: %s", self.pk, exc)
                    continue
                if not renewed:
                    logger.warning("report %s: lease of %s was taken over", self.pk, self.holder)
        finally:
            connection.close()  # this thread's own connection


def _bundle_inputs(study):
    """System and image metrics and the listed pairs of the study's bundle, read as :mod:`formats.bundle` says."""
    metrics = {s.key: numeric_metrics(s.metrics) for s in study.systems.all()}
    images = {}
    rows = study.images.exclude(metrics={}).values_list("system__key", "prompt__key", "seed", "metrics")
    for system, prompt, seed, m in rows.iterator(chunk_size=2000):
        values = numeric_metrics(m)
        if values:
            images[(system, prompt, int(seed))] = values
    return metrics, images, listed_pairs(study.manifest or {})


def _swap_in(tmp: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex}")
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def refresh_report(*, study, n_bootstrap: int | None = None, plots: bool | None = None,
                   holder: str | None = None) -> StudyReport:
    """Rebuild the report of ``study`` from all its votes so far.

    Parameters
    ----------
    study : studies.models.Study
    n_bootstrap : int, optional
        Samples per bootstrap kind (default ``settings.QSCHED_REPORT_BOOTSTRAP``).
    plots : bool, optional
        Draw the figures (default ``settings.QSCHED_REPORT_PLOTS``).
    holder : str, optional
        Who builds (the Celery task id, so that a redelivered task takes over its own lease); default a
        fresh id.

    Returns
    -------
    StudyReport
        With ``status`` "ok" (files written), "empty" (no votes yet; older
        files are kept) or "failed" (``message`` says why; older files are kept).

    Raises
    ------
    ReportBusy
        Another holder's lease on the report is live; nothing was done.
    """
    report = ensure_report(study)
    holder = holder or f"direct-{uuid.uuid4().hex}"
    if not _claim(report, holder):
        report.refresh_from_db(fields=["building_by"])
        raise ReportBusy(study.slug, report.building_by, _lease_seconds())
    with _LeaseRenewer(report.pk, holder):
        return _build(report, study, n_bootstrap=n_bootstrap, plots=plots, holder=holder)


def _build(report: StudyReport, study, *, n_bootstrap, plots, holder: str) -> StudyReport:
    from studies.export import votes_dataframe

    from analysis.io import VotesError
    from analysis.report import build_summary, write_report

    from .questions import analysis_question, record_answer

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
            n_bootstrap = settings.QSCHED_REPORT_BOOTSTRAP
        if plots is None:
            plots = settings.QSCHED_REPORT_PLOTS
        question = analysis_question(study)
        try:
            summary = build_summary(votes, metrics=metrics, image_metrics=images, comparisons=comparisons,
                                    n_bootstrap=n_bootstrap, systems=sorted(metrics), question=question)
            write_report(votes, tmp, plots=plots, summary=summary, metrics=metrics)
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
        report.headline = headline(summary)  # from the summary in memory, never read back from disk
        record_answer(study, question, summary.get("question"))
        return report
    finally:
        # Recorded only while the lease is still ours (a build that lost it leaves the row to the new holder).
        report.building_since, report.building_by = None, ""
        StudyReport.objects.filter(pk=report.pk, building_by=holder).update(
            status=report.status, message=report.message, n_votes=report.n_votes, refreshed_at=report.refreshed_at,
            files=report.files, headline=report.headline, building_since=None, building_by="")
