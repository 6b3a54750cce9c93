"""Repeated-pair attention checks: hand one out now and then, score it, exclude repeat failers.

Rules
-----
- When an annotator asks for a new task, has given at least
  ``study.attention_min_votes_before_check`` regular votes, has no open check and
  regular work is still waiting for them, then with probability
  ``study.attention_check_rate`` (one draw per request from :data:`_rng`, a
  ``random.SystemRandom``) they get a repeat of one of their earlier regular votes
  (random among those not checked yet, the latest one left out while others exist),
  with left and right swapped. (``annotate.services`` claims the regular task first,
  which tells that regular work is left, and rolls that claim back when the draw
  asks for a check.)
- A check is an ``Assignment`` with ``attention_check=True`` and ``repeat_of``
  set. It reserves no ``WorkItem`` slot and never counts toward
  ``WorkItem.votes``, nor toward the annotator's quota. The API shows it exactly
  like a regular task (same fields, opaque links); ``done`` counts every vote the
  annotator gave and ``total`` grows by one for each check handed out.
- At most one check per original vote (a unique constraint) and one open check
  per annotator at a time.
- A check passes when the annotator picks the same system again, or a tie both
  times; a tie on only one of the two occasions fails.
- Each failure adds one to ``Annotator.checks_failed``; on reaching
  ``study.exclude_after_failed_checks`` (0 = never) the annotator is marked
  ``excluded``: exports show ``annotator_excluded`` true and rankings leave
  them out. An excluded annotator finishes their open tasks but gets no new ones.
"""
import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q

from .models import Annotator, Assignment, Vote

__all__ = ["check_due", "check_summary", "draws_check", "issue_check", "score_check"]

_rng = random.SystemRandom()  # unpredictable to annotators; tests replace it


def _check_candidates(annotator: Annotator) -> list[int]:
    """Ids of the annotator's regular votes that no check has repeated yet, newest first.

    Reads only this annotator's votes and checks (``Vote.annotator`` index, ``assignment_open``
    and the one-check-per-vote constraint), never the whole study.
    """
    return list(
        Vote.objects.filter(annotator=annotator, attention_check=False)
        .exclude(id__in=Assignment.objects.filter(annotator=annotator, repeat_of__isnull=False)
                 .values("repeat_of_id"))
        .order_by("-created_at", "-id").values_list("id", flat=True)
    )


def check_due(*, annotator: Annotator, open_ones: list[Assignment]) -> bool:
    """Whether a request for a new task takes a draw at all: checks are on, the annotator gave
    enough regular votes and has no open check (``open_ones``: their open assignments). No query."""
    study = annotator.study
    return bool((study.attention_check_rate or 0.0) > 0
                and annotator.regular_votes >= study.attention_min_votes_before_check
                and not any(a.attention_check for a in open_ones))


def draws_check(study) -> bool:
    """The one draw of a request: True with probability ``study.attention_check_rate``.

    The caller draws only after :func:`check_due` and once it knows regular work is still
    waiting for the annotator (checks go between regular tasks, never after the last one).
    """
    return _rng.random() < (study.attention_check_rate or 0.0)


def issue_check(*, annotator: Annotator, now) -> Assignment | None:
    """Issue an attention check repeating one of the annotator's regular votes; None if none is left."""
    candidates = _check_candidates(annotator)
    if len(candidates) > 1:
        candidates = candidates[1:]  # not the pair just seen
    if not candidates:
        return None
    original = Vote.objects.select_related("assignment").get(id=_rng.choice(candidates))
    try:
        with transaction.atomic():
            return Assignment.objects.create(
                annotator=annotator, work_item_id=original.assignment.work_item_id,
                # Sides swapped: what was on the left is now on the right.
                left_image_id=original.assignment.right_image_id, right_image_id=original.assignment.left_image_id,
                attention_check=True, repeat_of=original,
                expires_at=now + timedelta(seconds=annotator.study.assignment_timeout_s),
            )
    except IntegrityError:
        return None  # a parallel request checked the same vote; hand out regular work instead


def score_check(*, vote: Vote, assignment: Assignment) -> bool:
    """Score a just-recorded check vote, update the annotator, maybe exclude them; return passed.

    Runs inside the vote's transaction, once per check (retries return the stored vote
    before reaching here).
    """
    original = Vote.objects.only("winner_id").get(id=assignment.repeat_of_id)
    passed = vote.winner_id == original.winner_id  # both None = a tie both times
    Vote.objects.filter(id=vote.id).update(check_passed=passed)
    vote.check_passed = passed
    annotators = Annotator.objects.filter(id=vote.annotator_id)
    if passed:
        annotators.update(checks_passed=F("checks_passed") + 1)
        return True
    annotators.update(checks_failed=F("checks_failed") + 1)
    threshold = assignment.work_item.study.exclude_after_failed_checks
    if threshold:
        annotators.filter(checks_failed__gte=threshold).update(excluded=True)
    return False


def check_summary(study) -> dict:
    """Counts for the researcher: checks ``issued``, ``answered``, ``passed``, ``failed`` and
    annotators ``excluded`` (by checks or by hand)."""
    votes = Vote.objects.filter(study=study, attention_check=True, assignment__repeat_of__isnull=False).aggregate(
        answered=Count("id"), passed=Count("id", filter=Q(check_passed=True)),
        failed=Count("id", filter=Q(check_passed=False)))
    return {
        "issued": Assignment.objects.filter(work_item__study=study, repeat_of__isnull=False).count(),
        **votes,
        "annotators_excluded": Annotator.objects.filter(study=study, excluded=True).count(),
    }
