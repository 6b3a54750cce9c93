"""Celery tasks of the results app: thin wrappers that load by id and call the service."""
from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from studies.models import Study

from .models import StudyReport
from .services import ReportBusy, ensure_report
from .services import refresh_report as build

logger = logging.getLogger(__name__)

__all__ = ["refresh_report", "request_report_refresh"]


@shared_task(name="results.refresh_report", ignore_result=True, bind=True, max_retries=30)
def refresh_report(self, study_id: int) -> str | None:
    """Rebuild the analysis report of study ``study_id``; returns its status (None if the study is gone).

    Holds the report's build lease under this task's id: if its worker dies, the redelivered task
    (acks_late) takes the lease over at once. While another build holds it, retries after the lease.
    """
    study = Study.objects.filter(pk=study_id).first()
    if study is None:
        logger.info("refresh_report: study %s is gone", study_id)
        return None
    try:
        return build(study=study, holder=self.request.id).status
    except ReportBusy as busy:
        if self.request.called_directly:
            raise
        raise self.retry(countdown=busy.retry_after) from busy


def request_report_refresh(study: Study) -> StudyReport:
    """Queue :func:`refresh_report` for ``study`` once the current transaction commits."""
    report = ensure_report(study)
    StudyReport.objects.filter(pk=report.pk).update(requested_at=timezone.now())
    study_id = study.pk
    transaction.on_commit(lambda: refresh_report.delay(study_id))
    return report
