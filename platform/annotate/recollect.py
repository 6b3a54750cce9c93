"""Re-collection: when an annotator is excluded, the work they held or did goes back to the pool.

Rules
-----
- Runs once per exclusion, in the transaction that excludes the annotator: every exclusion goes
  through :func:`exclude` (failed checks in ``annotate.attention.score_check``, a researcher in the
  admin), which sets the flag with a conditional update, so two at once reopen the work once.
- An exclusion is not undone: the slots were given to others (``Annotator.clean`` refuses it).
- Their open regular assignments expire: each gives its slot back (``reserved - 1``).
- Each of their regular votes stops counting: its item loses one vote and one reservation
  (``votes - 1``, ``reserved - 1``), so the item is dealt again (it is least filled) and
  still reaches k valid votes. The vote rows stay: the export keeps them with
  ``annotator_excluded`` true, and analysis and progress leave them out.
- Items that were full and now have a free slot take one off the study's
  ``StudyCounters.items_full`` (``studies.counters``).
- The excluded annotator is never dealt those items again (the unique constraint on
  (annotator, work item) still holds, and an excluded annotator gets no new work anyway).
- Cost: a few statements over the annotator's own rows (bounded by the quota), once.
"""
from collections import Counter

from django.db.models import F

from studies import counters
from studies.models import Study, WorkItem

from .models import Annotator, Assignment, Vote

__all__ = ["exclude", "reopen_work_of"]


def exclude(annotator_id: int, **conditions) -> bool:
    """Exclude the annotator (if not excluded yet and ``conditions`` hold, e.g. ``checks_failed__gte=3``)
    and give back their work; returns whether this call excluded them. Call inside a transaction."""
    if not Annotator.objects.filter(id=annotator_id, excluded=False, **conditions).update(excluded=True):
        return False
    reopen_work_of(annotator_id)
    return True


def reopen_work_of(annotator_id: int) -> int:
    """Give back every slot the (just excluded) annotator holds or filled; return how many."""
    open_ones = list(Assignment.objects.filter(annotator_id=annotator_id, status=Assignment.Status.ISSUED,
                                               attention_check=False).values_list("id", "work_item_id"))
    voted = list(Vote.objects.filter(annotator_id=annotator_id, attention_check=False)
                 .values_list("assignment__work_item_id", flat=True))
    if open_ones:
        Assignment.objects.filter(id__in=[a for a, _ in open_ones]).update(status=Assignment.Status.EXPIRED)
    items = sorted({item for _, item in open_ones} | set(voted))
    if not items:
        return 0
    full = Counter(study for _, study in WorkItem.objects.filter(
        id__in=items, reserved__gte=F("study__votes_per_pair")).values_list("id", "study_id"))
    if open_ones:
        WorkItem.objects.filter(id__in=[item for _, item in open_ones]).update(reserved=F("reserved") - 1)
    if voted:
        WorkItem.objects.filter(id__in=voted).update(reserved=F("reserved") - 1, votes=F("votes") - 1)
    for study_id in sorted(full):
        counters.add_full(Study(pk=study_id), -full[study_id])
    return len(items)
