"""Attention checks (gold and repeated pairs): hand one out now and then, score it, exclude failers.

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
- Two kinds, alternating (an annotator's even-numbered checks are gold first, odd ones repeats
  first; either kind stands in when the other has nothing left for them):
  gold checks pair one of the study's images with a visibly degraded copy of itself made at
  import (``Image.degraded_from``, ``studies.reencode.degraded_png``; ``Assignment.gold``),
  under the study's ``overall`` or ``quality`` criterion where it has one; repeats show an
  earlier regular vote's pair again. Each gold copy is shown to an annotator at most once.
- Every check's images are served as fresh bytes (``studies.reencode.fresh_png``, keyed to
  the link: a re-fetch gives the same bytes): a repeat never has the hashes of its first
  showing, so remembering files does not pass it.
- At most one check per original vote (a unique constraint) and one open check
  per annotator at a time.
- A repeat passes when the annotator picks the same system again, or a tie both
  times; a tie on only one of the two occasions fails. A gold check passes only when
  the original is picked: the degraded copy or a tie fails.
- Each failure adds one to ``Annotator.checks_failed``; on reaching
  ``study.exclude_after_failed_checks`` (0 = never) the annotator is marked
  ``excluded``: exports show ``annotator_excluded`` true and rankings leave
  them out. At that moment their open regular tasks expire and each of their regular votes
  gives its slot back (``annotate.recollect``), so the items are dealt again and still reach
  k valid votes; their votes stay in the export with ``annotator_excluded`` true.
"""
import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q

from studies.models import Image, WorkItem

from . import recollect
from .models import Annotator, Assignment, Vote

#: Criteria under which a degraded copy is plainly worse; any other criterion only as a last resort.
GOLD_CRITERIA = ("overall", "quality")

__all__ = ["GOLD_CRITERIA", "check_due", "check_summary", "draws_check", "issue_check", "score_check"]

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
    """Issue an attention check, gold or repeat (alternating); None if neither has anything left."""
    kinds = (_issue_gold, _issue_repeat) if annotator.check_votes % 2 == 0 else (_issue_repeat, _issue_gold)
    for issue in kinds:
        check = issue(annotator, now)
        if check is not None:
            return check
    return None


def _issue_gold(annotator: Annotator, now) -> Assignment | None:
    if not annotator.study.gold_pairs:
        return None  # no query for a study without gold copies
    shown = Assignment.objects.filter(annotator=annotator, gold=True)
    copies = list(Image.with_gold_copies.filter(study_id=annotator.study_id, degraded_from__isnull=False)
                  .exclude(id__in=shown.values("left_image_id")).exclude(id__in=shown.values("right_image_id"))
                  .values_list("id", "degraded_from_id"))
    if not copies:
        return None
    copy_id, source_id = _rng.choice(copies)
    items = list(WorkItem.objects.filter(Q(comparison__image_a_id=source_id) | Q(comparison__image_b_id=source_id))
                 .values_list("id", "criterion__key", "criterion__position"))
    if not items:
        return None
    items.sort(key=lambda row: (row[1] not in GOLD_CRITERIA, row[2], row[0]))
    left, right = (source_id, copy_id) if _rng.random() < 0.5 else (copy_id, source_id)
    return Assignment.objects.create(
        annotator=annotator, work_item_id=items[0][0], left_image_id=left, right_image_id=right,
        attention_check=True, gold=True, expires_at=now + timedelta(seconds=annotator.study.assignment_timeout_s))


def _issue_repeat(annotator: Annotator, now) -> Assignment | None:
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
    if assignment.gold:
        original_side = Vote.Choice.LEFT if assignment.left_image.degraded_from_id is None else Vote.Choice.RIGHT
        passed = vote.choice == original_side  # a tie fails
    else:
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
        recollect.exclude(vote.annotator_id, checks_failed__gte=threshold)
    return False


def check_summary(study) -> dict:
    """Counts for the researcher: checks ``issued``, ``answered``, ``passed``, ``failed``,
    annotators ``excluded`` (by checks or by hand) and annotators whose crowd id opened more than
    one session (``annotators_with_extra_sessions``: a second browser, or a shared or guessed id)."""
    scored = Q(assignment__repeat_of__isnull=False) | Q(assignment__gold=True)
    votes = Vote.objects.filter(scored, study=study, attention_check=True).aggregate(
        answered=Count("id"), passed=Count("id", filter=Q(check_passed=True)),
        failed=Count("id", filter=Q(check_passed=False)))
    return {
        "issued": Assignment.objects.filter(Q(repeat_of__isnull=False) | Q(gold=True), work_item__study=study).count(),
        **votes,
        "annotators_excluded": Annotator.objects.filter(study=study, excluded=True).count(),
        "annotators_with_extra_sessions": Annotator.objects.filter(study=study, extra_sessions__gt=0).count(),
    }
