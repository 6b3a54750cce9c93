"""Annotator sessions, next task, votes and the finish step (contract section 4).

Every write happens in a transaction (or is one statement); a refusal (an ``AnnotateError``)
writes nothing.

``next_task`` and ``record_vote`` are what a crowd calls all the time: each runs a fixed,
small number of indexed queries whatever the study's size (tests/platform/
test_annotator_path_queries.py counts them). Counts come from counters kept in the same
statement or transaction as the change (``Annotator.regular_votes``/``check_votes``,
``studies.counters``), never from counting rows. On PostgreSQL the common cases (claiming a
new regular task, a valid vote on an open regular task) are one statement each
(:mod:`annotate.statements`); everything else (refusals, retries, attention checks) takes the
general path, which tells them apart.
"""
import math
import secrets
import uuid
from collections.abc import Iterable
from datetime import timedelta
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from studies import counters
from studies.lifecycle import VOTING_STATUSES
from studies.models import STUDY_BULK_FIELDS, Study, WorkItem

from . import assignment as assigning
from . import attention, statements
from .errors import (
    AssignmentExpired,
    CrowdIdRequired,
    AssignmentNotFound,
    InvalidInput,
    QuotaExhausted,
    StudyNotLive,
    TooFast,
    TooManyOpenTasks,
    VoteConflict,
    WorkRemaining,
)
from .models import Annotator, AnnotatorSession, Assignment, Vote
from .statements import Shown
from .tokens import hash_token, new_token

MAX_ID_LENGTH = 128
MAX_RESPONSE_MS = 24 * 3600 * 1000
MAX_EXCLUDE = 5
#: How much longer than the server's own figure a client's response_ms may be (clock granularity).
CLOCK_SLACK_MS = 1000
#: Open tasks one annotator (all their sessions together) may hold: the one shown and the preloaded
#: one. A script that claims without voting holds at most this many slots per annotator.
MAX_OPEN_TASKS = 2


def _check_crowd_id(name: str, value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, not {type(value).__name__}")
    value = value.strip()
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInput(f"{name} is {len(value)} characters long; the limit is {MAX_ID_LENGTH}")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        # NUL cannot even be stored in PostgreSQL text; no crowd platform sends control characters.
        raise InvalidInput(f"{name} contains control characters (e.g. NUL)")
    return value


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable())


def _new_annotator(study: Study, **ids) -> Annotator:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Annotator.objects.create(study=study, pseudonym=f"a-{secrets.token_hex(6)}", **ids)
        except IntegrityError:
            if ids.get("external_id"):
                found = Annotator.objects.filter(study=study, external_id=ids["external_id"]).first()
                if found:
                    return found  # the same person joined twice at once
    raise IntegrityError("could not create an annotator with a unique pseudonym")


def _find_or_create_annotator(study: Study, external_id: str, crowd_study_id: str, crowd_session_id: str):
    annotator = None
    if external_id:
        annotator = Annotator.objects.filter(study=study, external_id=external_id).first()
    if annotator is None:
        return _new_annotator(study, external_id=external_id, crowd_study_id=crowd_study_id,
                              crowd_session_id=crowd_session_id)
    changes = {k: v for k, v in (("crowd_study_id", crowd_study_id), ("crowd_session_id", crowd_session_id))
               if v and getattr(annotator, k) != v}
    for key, value in changes.items():
        setattr(annotator, key, value)
    annotator.save(update_fields=[*changes, "last_seen_at"])
    return annotator


def start_session(*, study: Study, external_id: str = "", crowd_study_id: str = "", crowd_session_id: str = "",
                  user_agent: str = "") -> tuple[Annotator, str]:
    """Open an annotator session and return (annotator, bearer token).

    The same non-empty ``external_id`` (e.g. PROLIFIC_PID) always returns the same annotator.
    A session opened for a crowd id that already has one is allowed (a second tab or browser)
    but flagged: ``Annotator.extra_sessions`` counts them, researchers see it. Both sessions
    are the same annotator, so they share its open tasks (at most two), its history and its
    quota: a second browser never gets more work than the first would have.

    Raises
    ------
    StudyNotLive
        The study is not live (draft, paused or closed).
    CrowdIdRequired
        The study requires a crowd id and none was given.
    QuotaExhausted
        This annotator already gave ``study.quota_per_annotator`` votes.
    InvalidInput
        An id is not a string or is too long.
    """
    external_id = _check_crowd_id("external_id", external_id)
    crowd_study_id = _check_crowd_id("study_id", crowd_study_id)
    crowd_session_id = _check_crowd_id("session_id", crowd_session_id)
    if study.status == Study.Status.CLOSED and study.screen_out_code:
        raise StudyNotLive(f"study {study.slug!r} is closed", screen_out_code=study.screen_out_code)
    if not study.is_live:
        raise StudyNotLive(f"study {study.slug!r} is {study.status}, not live")
    if study.require_crowd_id and not external_id:
        raise CrowdIdRequired("this study takes part only through its crowd platform: open it from the "
                              "link there (it carries your PROLIFIC_PID)")
    with transaction.atomic():
        annotator = _find_or_create_annotator(study, external_id, crowd_study_id, crowd_session_id)
        quota = study.quota_per_annotator
        if quota is not None and annotator.regular_votes >= quota:
            raise QuotaExhausted(f"this annotator already gave the study's quota of {quota} votes")
        counters.ensure(study)
        if external_id and AnnotatorSession.objects.filter(annotator=annotator).exists():
            # A second browser (or someone else) with the same crowd id: flagged for the researcher.
            # It shares the annotator's open tasks and quota, so it gets no extra work.
            Annotator.objects.filter(id=annotator.id).update(extra_sessions=F("extra_sessions") + 1)
        token = new_token()
        AnnotatorSession.objects.create(annotator=annotator, token_sha256=hash_token(token),
                                        user_agent=_printable(user_agent or "")[:300])
    return annotator, token


def _parse_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _refresh_state(annotator: Annotator) -> None:
    """Reload, in one query, what other requests change: the annotator's counters and exclusion
    and the study's status (the caller's objects may be older than this request)."""
    (annotator.excluded, annotator.regular_votes, annotator.check_votes,
     annotator.study.status) = (Annotator.objects.filter(id=annotator.id)
                                .values_list("excluded", "regular_votes", "check_votes", "study__status").get())


def _progress(annotator: Annotator, open_ones: list[Assignment], claimable: int | None = None) -> dict:
    quota = annotator.study.quota_per_annotator
    regular = annotator.regular_votes + sum(not a.attention_check for a in open_ones)
    if not annotator.excluded and (quota is None or regular < quota):
        regular += assigning.claimable_count(annotator) if claimable is None else claimable
    if quota is not None:
        regular = min(regular, quota)
    checks = annotator.check_votes + sum(a.attention_check for a in open_ones)
    done = annotator.regular_votes + annotator.check_votes
    return {"done": done, "total": max(regular + checks, done)}


def progress(annotator: Annotator) -> dict:
    """Return {"done": votes given, "total": done + open + still claimable}.

    The regular part of ``total`` is capped by the quota; attention checks (voted or
    open) are added on top, so a check looks like any other task. An excluded
    annotator's total leaves out claimable work (they get none). Read from stored
    counters (``Annotator.regular_votes``/``check_votes``, ``studies.counters``), never
    by counting the study.
    """
    _refresh_state(annotator)
    return _progress(annotator, list(assigning.open_assignments(annotator, now=timezone.now())))


@dataclass(frozen=True)
class Task:
    """A task to show: the assignment, what the screen shows besides the images, and progress."""

    assignment: Assignment
    shown: Shown
    progress: dict


def _shown(assignment: Assignment) -> Shown:
    criterion, question, prompt = (WorkItem.objects.filter(id=assignment.work_item_id)
                                   .values_list("criterion__key", "criterion__question",
                                                "comparison__prompt__text").get())
    return Shown(criterion, question, prompt)


def next_task(*, annotator: Annotator, exclude: Iterable = (), fresh: bool = False) -> Task | None:
    """Return the annotator's next task, or None when nothing is left for them.

    The oldest open assignment not listed in ``exclude`` comes first (so asking
    again without voting returns the same task, and a reloaded page resumes);
    otherwise a new one is claimed (:mod:`annotate.assignment`). A page that shows one
    task and preloads the next passes the shown one in ``exclude``: the preloaded
    task holds a slot too.

    Now and then (``study.attention_check_rate``) the new task is a repeated-pair
    attention check instead, see :mod:`annotate.attention`: one draw per request for a
    new task once checks are due, and a check only while regular work is still waiting.
    An annotator excluded by quality control gets no new tasks.

    ``fresh``: ``annotator`` and ``annotator.study`` were loaded in this request (the API
    does), so their counters and status need no reload.

    A fixed number of indexed queries, whatever the size of the study (on PostgreSQL a
    new regular task is 3 round trips: session, open tasks with overdue ids, the claim).

    Raises
    ------
    StudyNotLive
        The study is not live.
    InvalidInput
        ``exclude`` holds more than 5 ids.
    Busy
        Every free slot was being claimed by others, several times in a row (503).
    TooManyOpenTasks
        The annotator holds :data:`MAX_OPEN_TASKS` open tasks, all listed in ``exclude`` (409).
    """
    if not fresh:
        _refresh_state(annotator)
    study = annotator.study
    if not study.is_live:
        raise StudyNotLive(f"study {study.slug!r} is {study.status}, not live")
    excluded = _excluded_ids(exclude)
    now = timezone.now()
    open_ones, overdue = assigning.open_and_overdue(annotator, now=now)
    waiting = next((a for a in open_ones if a.public_id not in excluded), None)
    if waiting is not None:
        return Task(waiting, _shown(waiting), _progress(annotator, open_ones))
    if not _may_take_new_work(annotator, open_ones):
        return None
    return _new_task(annotator, open_ones, overdue, now=now)


def _excluded_ids(exclude: Iterable) -> set[uuid.UUID]:
    """The assignment ids a page lists in ``exclude`` (at most :data:`MAX_EXCLUDE`; unparsable ones dropped)."""
    exclude = list(exclude)
    if len(exclude) > MAX_EXCLUDE:
        raise InvalidInput(f"exclude lists {len(exclude)} assignments; the limit is {MAX_EXCLUDE}")
    return {u for u in map(_parse_uuid, exclude) if u is not None}


def _may_take_new_work(annotator: Annotator, open_ones: list[Assignment]) -> bool:
    """False when the annotator is excluded or their quota is used up (by votes and open tasks).

    Raises
    ------
    TooManyOpenTasks
        They hold :data:`MAX_OPEN_TASKS` open tasks already.
    """
    if annotator.excluded:
        return False
    quota = annotator.study.quota_per_annotator
    if quota is not None and annotator.regular_votes + sum(not a.attention_check for a in open_ones) >= quota:
        return False
    if len(open_ones) >= MAX_OPEN_TASKS:
        raise TooManyOpenTasks(f"{len(open_ones)} tasks are open already (the one shown and the one preloaded); "
                               "vote on one of them first")
    return True


def _new_task(annotator: Annotator, open_ones: list[Assignment], overdue, *, now) -> Task | None:
    """An attention check when one is due and drawn (see :mod:`annotate.attention`), else a newly claimed
    regular task; None when nothing is left to claim."""
    if attention.check_due(annotator=annotator, open_ones=open_ones) and attention.draws_check(annotator.study):
        if not assigning.has_claimable(annotator):
            return None  # checks go between regular tasks, never after the last one
        check = attention.issue_check(annotator=annotator, now=now)
        if check is not None:
            return Task(check, _shown(check), _progress(annotator, [*open_ones, check]))
    assigning.release_expired(now=now, overdue=overdue)
    claim = assigning.claim(annotator, now=now)
    if claim is None:
        return None
    new = claim.assignment
    return Task(new, claim.shown or _shown(new), _progress(annotator, [*open_ones, new], claim.claimable))


def next_assignment(*, annotator: Annotator, exclude: Iterable = ()) -> Assignment | None:
    """The assignment of :func:`next_task`, or None when nothing is left for the annotator."""
    task = next_task(annotator=annotator, exclude=exclude)
    return None if task is None else task.assignment


def _check_vote_input(study: Study, choice, response_ms) -> tuple[str, int]:
    if choice not in Vote.Choice.values:
        raise InvalidInput(f"choice must be one of left, right, tie; got {choice!r}")
    if choice == Vote.Choice.TIE and not study.allow_ties:
        raise InvalidInput(f"study {study.slug!r} does not allow ties; choose left or right")
    if isinstance(response_ms, bool) or not isinstance(response_ms, (int, float)) or math.isnan(response_ms):
        raise InvalidInput(f"response_ms must be a number of milliseconds; got {response_ms!r}")
    if not 0 <= response_ms <= MAX_RESPONSE_MS:
        raise InvalidInput(f"response_ms={response_ms} is outside 0..{MAX_RESPONSE_MS}")
    return choice, round(response_ms)


def _least_time(response_ms: int) -> timedelta:
    """The least time since handing out that :func:`_check_timing` accepts for ``response_ms``."""
    if not settings.QSCHED_RATE_LIMITS:
        return timedelta(0)
    return timedelta(milliseconds=max(settings.QSCHED_MIN_RESPONSE_MS, response_ms - CLOCK_SLACK_MS, 0))


def _check_timing(response_ms: int, server_ms: int) -> None:
    """Plausibility of a vote against the server's own clock (handed out -> voted); part of the
    abuse limits, so off with ``QSCHED_RATE_LIMITS=off``.

    The client's ``response_ms`` (from showing the images to the vote) cannot be longer than the
    time since the server handed the task out (plus :data:`CLOCK_SLACK_MS`), and no one looks at
    two images and decides in less than ``settings.QSCHED_MIN_RESPONSE_MS`` after the task was
    handed out (a preloaded task was handed out well before it was shown).
    """
    if not settings.QSCHED_RATE_LIMITS:
        return
    if response_ms > server_ms + CLOCK_SLACK_MS:
        raise InvalidInput(f"response_ms={response_ms} is longer than the {server_ms} ms since this task "
                           "was handed out")
    if server_ms < settings.QSCHED_MIN_RESPONSE_MS:
        raise TooFast(f"voted {server_ms} ms after the task was handed out; the minimum is "
                      f"{settings.QSCHED_MIN_RESPONSE_MS} ms")


def _existing_vote(assignment: Assignment, choice: str) -> tuple[Vote, bool]:
    vote = Vote.objects.get(assignment_id=assignment.id)
    if vote.choice != choice:
        raise VoteConflict(f"this assignment already has the vote {vote.choice!r}; votes cannot be changed")
    return vote, False


def _take_slot(assignment: Assignment) -> bool:
    """Mark the issued assignment voted; False if a concurrent request changed it meanwhile."""
    return bool(Assignment.objects.filter(id=assignment.id, status=Assignment.Status.ISSUED).update(
        status=Assignment.Status.VOTED))


def _record_once(annotator: Annotator, public_id: uuid.UUID, choice, response_ms) -> tuple[Vote, bool]:
    assignment = (
        Assignment.objects.select_related("work_item__study", "left_image", "right_image")
        .defer(*(f"work_item__study__{name}" for name in STUDY_BULK_FIELDS))
        .filter(public_id=public_id, annotator=annotator).first()
    )
    if assignment is None:
        raise AssignmentNotFound("no assignment with this id in this session")
    study = assignment.work_item.study
    choice, response_ms = _check_vote_input(study, choice, response_ms)
    if assignment.status == Assignment.Status.VOTED:
        return _existing_vote(assignment, choice)
    if study.status not in VOTING_STATUSES:
        raise StudyNotLive(f"study {study.slug!r} is {study.status}; it takes no more votes")
    now = timezone.now()
    if assignment.status == Assignment.Status.EXPIRED or assignment.expires_at <= now:
        # Contract: a vote on an expired assignment is 410 and writes nothing; its
        # slot is (or will be, at the next claim's expiry sweep) handed out again.
        raise AssignmentExpired("this assignment expired; fetch the next task")
    server_ms = max(0, int((now - assignment.issued_at).total_seconds() * 1000))
    _check_timing(response_ms, server_ms)
    if not _take_slot(assignment):
        raise _Changed()
    left, right = assignment.left_image.system_id, assignment.right_image.system_id
    winner = {Vote.Choice.LEFT: left, Vote.Choice.RIGHT: right}.get(choice)
    vote = Vote.objects.create(
        assignment=assignment, study=study, annotator=annotator,
        comparison_id=assignment.work_item.comparison_id, criterion_id=assignment.work_item.criterion_id,
        system_left_id=left, system_right_id=right, choice=choice, winner_id=winner,
        response_ms=response_ms, server_ms=server_ms, attention_check=assignment.attention_check,
    )
    if assignment.attention_check:
        if assignment.repeat_of_id is not None or assignment.gold:
            attention.score_check(vote=vote, assignment=assignment)
        counted = {"check_votes": F("check_votes") + 1}
    else:
        WorkItem.objects.filter(id=assignment.work_item_id).update(votes=F("votes") + 1)
        counted = {"regular_votes": F("regular_votes") + 1}
    Annotator.objects.filter(id=annotator.id).update(last_seen_at=now, **counted)
    return vote, True


def _record_in_one_statement(annotator: Annotator, public_id: uuid.UUID, choice, response_ms) -> Vote | None:
    """The common case in one round trip: a valid vote on an open regular task. None: anything else
    (a refusal, a retry, an attention check), which the general path below sorts out."""
    try:
        choice, response_ms = _check_vote_input(annotator.study, choice, response_ms)
    except InvalidInput:
        return None  # refused by the general path, after the checks that come first there
    now = timezone.now()
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        return statements.record_regular_vote(annotator, public_id=public_id, choice=choice,
                                              response_ms=response_ms, now=now, voting_statuses=VOTING_STATUSES,
                                              issued_by=now - _least_time(response_ms))


class _Changed(Exception):
    """The assignment changed between reading and writing it (a concurrent retry): look again."""


def record_vote(*, annotator: Annotator, assignment_public_id, choice, response_ms) -> tuple[Vote, bool]:
    """Record a vote; return (vote, created). A retry of the same vote returns the first one.

    Raises
    ------
    AssignmentNotFound
        No such assignment in this annotator's session (404).
    InvalidInput
        Bad choice (incl. "tie" where ties are off) or response time (400).
    AssignmentExpired
        The assignment's time limit (study.assignment_timeout_s) has passed (410).
    VoteConflict
        The assignment already has a different vote (409).
    StudyNotLive
        The study is closed or still a draft (403).
    """
    public_id = _parse_uuid(assignment_public_id)
    if public_id is None:
        raise AssignmentNotFound("no assignment with this id in this session")
    if connection.vendor == "postgresql":
        vote = _record_in_one_statement(annotator, public_id, choice, response_ms)
        if vote is not None:
            return vote, True
    for _ in range(3):
        try:
            with transaction.atomic():
                return _record_once(annotator, public_id, choice, response_ms)
        except (_Changed, IntegrityError):
            continue  # a concurrent request wrote first; the next pass sees its result
    raise AssignmentExpired("this assignment changed while voting; fetch the next task")


def finish(*, annotator: Annotator) -> dict:
    """Return {"done", "outcome", "completion_code", "redirect_url"} once nothing is left for the annotator.

    Rules (what a code means: paid work, or a screen-out):

    - ``outcome="completed"`` with the study's completion code and redirect: the annotator
      reached their quota, or gave at least one regular vote and nothing is left for them
      (the study filled or closed).
    - ``outcome="screened_out"`` with the study's screen-out code and no redirect: the
      annotator was excluded by quality control, or gave no regular vote and nothing is left
      (they joined after the study filled or closed). Never a completion code for zero votes.

    Raises
    ------
    WorkRemaining
        The annotator still has tasks to do (open or claimable, within the quota).
    StudyNotLive
        The study is paused (its work may come back) and the quota is not reached.
    """
    _refresh_state(annotator)
    study = annotator.study
    done = annotator.regular_votes + annotator.check_votes
    regular = annotator.regular_votes
    quota = study.quota_per_annotator
    if annotator.excluded:
        return _screened_out(study, done)
    if quota is not None and regular >= quota:
        return _completed(study, done)
    if study.status == Study.Status.PAUSED:
        raise StudyNotLive(f"study {study.slug!r} is paused; come back to it later")
    if study.is_live:
        now = timezone.now()
        assigning.release_expired(now=now)
        left = assigning.open_assignments(annotator, now=now).count() + assigning.claimable_count(annotator)
        if left:
            raise WorkRemaining(f"{left} tasks are still waiting for this annotator")
    return _completed(study, done) if regular else _screened_out(study, done)


def _completed(study: Study, done: int) -> dict:
    return {"done": done, "outcome": "completed", "completion_code": study.completion_code,
            "redirect_url": study.redirect_url}


def _screened_out(study: Study, done: int) -> dict:
    # No redirect: a crowd platform's redirect usually carries the completion code.
    return {"done": done, "outcome": "screened_out", "completion_code": study.screen_out_code, "redirect_url": ""}
