"""Handing out work: which (comparison, criterion) an annotator gets next.

Rules
-----
- A work item takes exactly ``k = study.votes_per_pair`` votes, each from a
  different annotator. ``WorkItem.reserved`` counts open assignments plus votes;
  a claim is ``UPDATE ... SET reserved = reserved + 1 WHERE id = ? AND reserved < k``
  that must change exactly one row, so concurrent claims never over-fill an item.
- An annotator never gets the same (comparison, criterion) twice (a unique
  constraint backs this), and gets a comparison already seen under another
  criterion only when no unseen comparison has a free slot.
- Least-filled items first, random among equals; left/right is random per task.
- An assignment not voted on within ``study.assignment_timeout_s`` expires: it
  gives its slot back (``reserved - 1``) and the item is handed out again.
- Attention checks (``annotate.attention``) repeat an item the annotator already
  voted on; they hold no slot, so expiring one gives nothing back.
"""
import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Min
from django.utils import timezone

from studies.models import Study, WorkItem

from .errors import Busy
from .models import Annotator, Assignment

CANDIDATES_PER_ROUND = 50
ROUNDS = 6
_rng = random.SystemRandom()  # annotators must not be able to predict sides


def release_expired(*, study: Study, now=None, limit: int = 500) -> int:
    """Expire the study's open assignments past their deadline; return how many slots came back."""
    now = now or timezone.now()
    stale = list(
        Assignment.objects.filter(work_item__study=study, status=Assignment.Status.ISSUED, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("id", "work_item_id", "attention_check")[:limit]
    )
    released = 0
    for assignment_id, work_item_id, attention_check in stale:
        with transaction.atomic():
            # A vote may win the race for this row: then nothing changes here.
            changed = Assignment.objects.filter(id=assignment_id, status=Assignment.Status.ISSUED).update(
                status=Assignment.Status.EXPIRED
            )
            if changed and not attention_check:  # an attention check holds no slot
                WorkItem.objects.filter(id=work_item_id).update(reserved=F("reserved") - 1)
                released += changed
    return released


def open_assignments(annotator: Annotator, *, now=None):
    """The annotator's issued, unexpired, unvoted assignments, oldest first."""
    now = now or timezone.now()
    return annotator.assignments.filter(status=Assignment.Status.ISSUED, expires_at__gt=now).order_by("issued_at", "id")


def claimable_items(annotator: Annotator):
    """Work items with a free slot that this annotator has never been given."""
    study = annotator.study
    return WorkItem.objects.filter(study=study, reserved__lt=study.votes_per_pair).exclude(
        id__in=Assignment.objects.filter(annotator=annotator).values("work_item_id")
    )


def _candidate_ids(annotator: Annotator) -> list[int]:
    """Ids of the least-filled claimable items, unseen comparisons first, shuffled."""
    base = claimable_items(annotator)
    unseen = base.exclude(
        comparison_id__in=Assignment.objects.filter(annotator=annotator).values("work_item__comparison_id")
    )
    for queryset in (unseen, base):
        lowest = queryset.aggregate(lowest=Min("reserved"))["lowest"]
        if lowest is None:
            continue
        ids = list(queryset.filter(reserved=lowest).values_list("id", flat=True)[: CANDIDATES_PER_ROUND * 4])
        _rng.shuffle(ids)
        return ids[:CANDIDATES_PER_ROUND]
    return []


def _try_claim(annotator: Annotator, work_item_id: int, now) -> Assignment | None:
    study = annotator.study
    try:
        with transaction.atomic():
            if not WorkItem.objects.filter(id=work_item_id, reserved__lt=study.votes_per_pair).update(
                reserved=F("reserved") + 1
            ):
                return None  # filled by someone else meanwhile
            item = WorkItem.objects.select_related("comparison").get(id=work_item_id)
            left, right = item.comparison.image_a_id, item.comparison.image_b_id
            if _rng.random() < 0.5:
                left, right = right, left
            return Assignment.objects.create(
                annotator=annotator, work_item=item, left_image_id=left, right_image_id=right,
                expires_at=now + timedelta(seconds=study.assignment_timeout_s),
            )
    except IntegrityError:
        return None  # the same annotator claimed this item in a parallel request


def claim_next(annotator: Annotator, *, now=None) -> Assignment | None:
    """Claim a new assignment for ``annotator``; None when nothing is left for them.

    Raises
    ------
    Busy
        When every candidate was taken by others in several rounds in a row
        (extreme contention); the caller may simply retry.
    """
    now = now or timezone.now()
    for _ in range(ROUNDS):
        candidates = _candidate_ids(annotator)
        if not candidates:
            return None
        for work_item_id in candidates:
            assignment = _try_claim(annotator, work_item_id, now)
            if assignment is not None:
                return assignment
    raise Busy("every free task was taken by others at the same moment; try again")
