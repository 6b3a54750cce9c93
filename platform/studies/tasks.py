"""Celery tasks of the studies app: thin wrappers that load by id and call a service."""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import Study
from .progress import compute_progress

logger = logging.getLogger(__name__)

__all__ = ["refresh_progress", "request_progress_refresh"]


@shared_task(name="studies.refresh_progress", ignore_result=True)
def refresh_progress(study_id: int) -> bool:
    """Compute the progress of study ``study_id`` and store it on the study.

    Returns False (and does nothing) if the study no longer exists.
    """
    study = Study.objects.filter(pk=study_id).first()
    if study is None:
        logger.info("refresh_progress: study %s is gone", study_id)
        return False
    progress = compute_progress(study)
    Study.objects.filter(pk=study_id).update(progress=progress, progress_updated_at=timezone.now())
    return True


def request_progress_refresh(study: Study) -> None:
    """Queue :func:`refresh_progress` for ``study`` once the current transaction commits.

    Debounced across processes: a refresh is queued only if none was queued in the last
    ``settings.QSCHED_PROGRESS_DEBOUNCE_S`` seconds (a conditional UPDATE on
    ``study.progress_requested_at`` that must change one row). The task runs that many
    seconds later, so it also counts the votes that arrive meanwhile.
    """
    study_id = study.pk
    transaction.on_commit(lambda: _queue_if_due(study_id))


def _queue_if_due(study_id: int) -> bool:
    delay = settings.QSCHED_PROGRESS_DEBOUNCE_S
    now = timezone.now()
    due = Q(progress_requested_at__isnull=True) | Q(progress_requested_at__lte=now - timedelta(seconds=delay))
    if Study.objects.filter(due, pk=study_id).update(progress_requested_at=now) != 1:
        return False
    refresh_progress.apply_async(args=[study_id], countdown=delay)
    return True
