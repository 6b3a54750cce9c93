"""Per-study counts that the annotator path reads on every request, kept instead of counted.

Rules
-----
- One :class:`~studies.models.StudyCounters` row per study: ``work_items`` (fixed once the
  study is imported) and ``items_full`` (work items with no free slot, ``reserved == k``).
- ``items_full`` changes only in the transaction that changes an item's fullness: +1 by the
  claim that takes an item's last slot, -1 by the expiry that gives a slot of a full item back
  (``annotate.assignment``). The update is one ``UPDATE ... SET items_full = items_full + d``.
- The row is written at import (:func:`start`); a study built another way (tests, the admin,
  an older database) gets it on first need by counting once (:func:`ensure`), never per request.
"""
from __future__ import annotations

from django.db.models import F

from .models import Study, StudyCounters, WorkItem

__all__ = ["add_full", "ensure", "start"]


def start(study: Study, *, work_items: int) -> None:
    """Write the counters of a freshly imported study (no slot taken yet)."""
    StudyCounters.objects.create(study=study, work_items=work_items, items_full=0)


def ensure(study: Study) -> None:
    """Create the study's counters by counting, unless they exist (safe to call concurrently)."""
    if StudyCounters.objects.filter(study_id=study.pk).exists():
        return
    items = WorkItem.objects.filter(study_id=study.pk)
    counted = StudyCounters(study_id=study.pk, work_items=items.count(),
                            items_full=items.filter(reserved__gte=study.votes_per_pair).count())
    StudyCounters.objects.bulk_create([counted], ignore_conflicts=True)


def add_full(study: Study, delta: int) -> None:
    """Add ``delta`` to the study's full items, inside the caller's transaction."""
    if delta and not StudyCounters.objects.filter(study_id=study.pk).update(items_full=F("items_full") + delta):
        ensure(Study.objects.only("votes_per_pair").get(pk=study.pk))  # counted now, the caller's change included
