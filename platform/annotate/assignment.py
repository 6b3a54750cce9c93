"""Handing out work: which (comparison, criterion) an annotator gets next.

Rules
-----
- A work item takes exactly ``k = study.votes_per_pair`` votes, each from a
  different annotator. ``WorkItem.reserved`` counts open assignments plus votes;
  a claim raises it by one only while it is below ``k``, so concurrent claims
  never over-fill an item.
- Deal order: items go out by (``reserved``, ``deal_rank``). Every item's first
  slot is dealt before any item's second slot (least-filled first), and within
  a round in the study's random deal order (``WorkItem.deal_rank``, drawn at
  import), so the order follows neither the bundle nor the ids: early annotators
  see every system pair, not only the first one listed.
- An annotator never gets the same (comparison, criterion) twice (a unique
  constraint backs this), and gets a comparison already seen under another
  criterion only when no unseen comparison has a free slot.
- Left/right is random per task.
- An assignment not voted on within ``study.assignment_timeout_s`` expires and
  gives its slot back (``reserved - 1``), so the item is dealt again first. Expiry
  is lazy: before every claim, :func:`release_expired` expires up to
  :data:`RELEASE_PER_CLAIM` overdue assignments (of any study, oldest deadline
  first); nothing scans a study.
- Attention checks (``annotate.attention``) repeat an item the annotator already
  voted on; they hold no slot, so expiring one gives nothing back.
- ``studies.counters``: the claim that takes an item's last slot adds one to the
  study's ``items_full``, the expiry that frees a slot of a full item takes one
  off, each in its own transaction.

Cost per call (does not grow with the study)
--------------------------------------------
- Picking the item: ``SELECT ... WHERE study = ? AND reserved < k AND NOT EXISTS
  (seen by this annotator) ORDER BY reserved, deal_rank LIMIT 1`` walks the index
  ``workitem_deal`` (study, reserved, deal_rank) from its head and passes over only
  the items this annotator has seen (each an index probe) and, on PostgreSQL, the
  rows other claims hold at that moment.
- Taking it: ``UPDATE ... SET reserved = reserved + 1 WHERE id = (that SELECT) AND
  reserved < k RETURNING ...``. On PostgreSQL the whole claim (slot, assignment,
  counter, what the screen shows, progress) is ONE prepared statement
  (:mod:`annotate.statements`), run without BEGIN/COMMIT; on SQLite a few
  statements in one transaction.
- Expiry reads the partial index ``assignment_expiry`` (open assignments only);
  an annotator's open tasks come from ``assignment_open`` (:func:`open_and_overdue`
  reads both in one query on PostgreSQL).
- Progress: :func:`claimable_count` reads the study's counters and this
  annotator's own assignments, never the study's items.

Concurrency
-----------
PostgreSQL: the candidate row is taken with ``FOR UPDATE SKIP LOCKED``, so
concurrent claims take different items without waiting for each other. When a
claim finds nothing, a plain read tells "nothing left for you" from "what is left
is being claimed right now"; then the next try waits for that one row (holding no
other lock, so it can be in no deadlock) and takes what the other claim left,
and after :func:`claim`'s rounds it answers :class:`~annotate.errors.Busy` (503).
The same annotator claiming in two parallel requests can meet the unique
constraint (IntegrityError): that try writes nothing and the next one starts over.
SQLite: one writer at a time (transactions start ``IMMEDIATE``), so a claim runs alone.
"""
import random
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F

from studies import counters
from studies.models import Comparison, Study, StudyCounters, WorkItem

from . import statements
from .errors import Busy
from .models import Annotator, Assignment

#: Overdue assignments a claim expires before it looks for a free slot.
RELEASE_PER_CLAIM = 5
_rng = random.SystemRandom()  # annotators must not be able to predict sides


def _overdue(now, limit: int) -> list[int]:
    return list(Assignment.objects.filter(status=Assignment.Status.ISSUED, expires_at__lte=now)
                .order_by("expires_at").values_list("id", flat=True)[:limit])


def release_expired(*, now, limit: int = RELEASE_PER_CLAIM, overdue: list[int] | None = None) -> int:
    """Expire up to ``limit`` open assignments past their deadline; return how many slots came back.

    One indexed read when nothing is overdue (the usual case; none when the caller already read
    ``overdue``, see :func:`open_and_overdue`). Otherwise a short transaction of its own, which skips
    rows another request is expiring or voting on right now (PostgreSQL), and then locks items and
    counters in a fixed order, so concurrent sweeps never deadlock.
    """
    overdue = _overdue(now, limit) if overdue is None else overdue[:limit]
    if not overdue:
        return 0
    with transaction.atomic():
        stale = list(Assignment.objects.filter(id__in=overdue, status=Assignment.Status.ISSUED)
                     .order_by("id").select_for_update(skip_locked=True)
                     .values_list("id", "work_item_id", "attention_check"))
        Assignment.objects.filter(id__in=[row[0] for row in stale]).update(status=Assignment.Status.EXPIRED)
        slots = Counter(item for _, item, attention_check in stale if not attention_check)
        for item_id in sorted(slots):
            WorkItem.objects.filter(id=item_id).update(reserved=F("reserved") - slots[item_id])
        if slots:
            _count_items_no_longer_full(slots)
    return sum(slots.values())


def _count_items_no_longer_full(slots: Counter) -> None:
    rows = WorkItem.objects.filter(id__in=slots).values_list("id", "reserved", "study_id", "study__votes_per_pair")
    freed = Counter(study for item, reserved, study, k in rows if reserved + slots[item] == k)
    for study_id in sorted(freed):
        counters.add_full(Study(pk=study_id), -freed[study_id])


def open_assignments(annotator: Annotator, *, now):
    """The annotator's issued, unexpired, unvoted assignments, oldest first."""
    return Assignment.objects.filter(annotator=annotator, status=Assignment.Status.ISSUED,
                                     expires_at__gt=now).order_by("issued_at", "id")


def open_and_overdue(annotator: Annotator, *, now, limit: int = RELEASE_PER_CLAIM) -> tuple[list, list[int]]:
    """(the annotator's open assignments, oldest first; ids of up to ``limit`` overdue assignments
    of any study, for :func:`release_expired`). One query on PostgreSQL, two elsewhere."""
    if connection.vendor != "postgresql":
        return list(open_assignments(annotator, now=now)), _overdue(now, limit)
    names = [f.attname for f in Assignment._meta.concrete_fields]
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    table = _quoted(Assignment)
    sql = (f"(SELECT {columns}, false FROM {table} WHERE annotator_id = %(annotator)s AND status = %(issued)s "
           f"AND expires_at > %(now)s) UNION ALL (SELECT {columns}, true FROM {table} WHERE status = %(issued)s "
           f"AND expires_at <= %(now)s ORDER BY expires_at LIMIT %(limit)s)")
    with statements.prepared_cursor() as cursor:
        cursor.execute(sql, {"annotator": annotator.pk, "issued": Assignment.Status.ISSUED, "now": now,
                             "limit": limit})
        rows = cursor.fetchall()
    open_ones = sorted((Assignment.from_db(connection.alias, names, row[:-1]) for row in rows if not row[-1]),
                       key=lambda a: (a.issued_at, a.id))
    return open_ones, [row[0] for row in rows if row[-1]]


def _quoted(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _candidate_sql(*, unseen_comparisons: bool, lock: str = "") -> str:
    """SELECT the first free item in deal order that the annotator may get (one id or none)."""
    items, assignments = _quoted(WorkItem), _quoted(Assignment)
    if unseen_comparisons:  # nothing of the same comparison, under any criterion
        seen = (f"SELECT 1 FROM {items} x JOIN {assignments} s ON s.work_item_id = x.id "
                f"WHERE x.comparison_id = w.comparison_id AND s.annotator_id = %(annotator)s "
                f"AND NOT s.attention_check")
    else:
        seen = (f"SELECT 1 FROM {assignments} s WHERE s.annotator_id = %(annotator)s "
                f"AND s.work_item_id = w.id AND NOT s.attention_check")
    return (f"SELECT w.id FROM {items} w WHERE w.study_id = %(study)s AND w.reserved < %(k)s "
            f"AND NOT EXISTS ({seen}) ORDER BY w.reserved, w.deal_rank LIMIT 1 {lock}")


def _params(annotator: Annotator) -> dict:
    return {"annotator": annotator.pk, "study": annotator.study_id, "k": annotator.study.votes_per_pair}


def _first_claimable(annotator: Annotator) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(_candidate_sql(unseen_comparisons=False), _params(annotator))
        row = cursor.fetchone()
    return row[0] if row else None


def has_claimable(annotator: Annotator) -> bool:
    """Whether some item still has a free slot this annotator may take (a read, no lock)."""
    return _first_claimable(annotator) is not None


def _claimable_sql() -> str:
    counts, items, assignments = _quoted(StudyCounters), _quoted(WorkItem), _quoted(Assignment)
    return (f"SELECT c.work_items - c.items_full - (SELECT COUNT(*) FROM {assignments} s "
            f"JOIN {items} w ON w.id = s.work_item_id WHERE s.annotator_id = %(annotator)s "
            f"AND NOT s.attention_check AND w.reserved < %(k)s) FROM {counts} c WHERE c.study_id = %(study)s")


def claimable_count(annotator: Annotator) -> int:
    """Items with a free slot that this annotator has never been given, from the stored counters.

    ``work_items - items_full`` minus the annotator's own items that still have a free slot:
    the last term reads only this annotator's assignments, never the study's items.
    """
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(_claimable_sql(), _params(annotator))
            row = cursor.fetchone()
        if row is not None:
            return max(row[0], 0)
        counters.ensure(annotator.study)
    raise RuntimeError(f"study {annotator.study_id} has no counters")  # ensure() just wrote them


@dataclass(frozen=True)
class Claim:
    """A new regular assignment; ``shown`` and ``claimable`` (after this claim) where the claim
    statement read them too (PostgreSQL), else None."""

    assignment: Assignment
    shown: statements.Shown | None = None
    claimable: int | None = None


def _claim_row(annotator: Annotator, candidate_sql: str) -> tuple | None:
    sql = (f"UPDATE {_quoted(WorkItem)} SET reserved = reserved + 1 WHERE id = ({candidate_sql}) "
           f"AND reserved < %(k)s RETURNING id, comparison_id, reserved")
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(annotator))
        rows = cursor.fetchall()
    return rows[0] if rows else None


def _claim_sqlite(annotator: Annotator, *, now) -> Claim | None:
    """Several statements in one IMMEDIATE transaction: SQLite runs one writer at a time."""
    row = (_claim_row(annotator, _candidate_sql(unseen_comparisons=True))
           or _claim_row(annotator, _candidate_sql(unseen_comparisons=False)))
    if row is None:
        return None
    item_id, comparison_id, reserved = row
    study = annotator.study
    left, right = Comparison.objects.filter(id=comparison_id).values_list("image_a_id", "image_b_id").get()
    if _rng.random() < 0.5:
        left, right = right, left
    assignment = Assignment.objects.create(
        annotator=annotator, work_item_id=item_id, left_image_id=left, right_image_id=right,
        expires_at=now + timedelta(seconds=study.assignment_timeout_s),
    )
    if reserved == study.votes_per_pair:
        counters.add_full(study, 1)
    return Claim(assignment)


class Contended(Exception):
    """What is left for the annotator is held by claims in flight: try again."""


def _claim_postgresql(annotator: Annotator, *, now, wait: bool) -> Claim | None:
    """One statement per try (:func:`annotate.statements.claim`), so no transaction is needed."""
    study = annotator.study
    params = _params(annotator)

    def attempt(candidate_sql):
        claimed = statements.claim(
            annotator, now=now, expires_at=now + timedelta(seconds=study.assignment_timeout_s),
            swap=_rng.random() < 0.5, candidate_sql=candidate_sql, claimable_sql=_claimable_sql(), params=params)
        return None if claimed is None else Claim(*claimed)

    if not wait:
        skip = "FOR UPDATE SKIP LOCKED"
        claimed = (attempt(_candidate_sql(unseen_comparisons=True, lock=skip))
                   or attempt(_candidate_sql(unseen_comparisons=False, lock=skip)))
        if claimed is None and has_claimable(annotator):
            raise Contended()
        return claimed
    # A retry: wait for the one row a claim in flight holds (this statement holds no other lock,
    # so the wait can be in no deadlock), then take a slot if that claim left one.
    candidate = _first_claimable(annotator)
    if candidate is None:
        return None
    params["candidate"] = candidate
    claimed = attempt("%(candidate)s")
    if claimed is None:
        raise Contended()
    return claimed


def claim(annotator: Annotator, *, now, rounds: int = 8) -> Claim | None:
    """Take the next free slot for ``annotator`` and return its new assignment; None when none is left.

    The caller runs :func:`release_expired` first. PostgreSQL: one statement per try, with
    ``FOR UPDATE SKIP LOCKED``; when what is left is held by claims in flight, later tries wait
    for that row instead. SQLite: one transaction.

    Raises
    ------
    Busy
        ``rounds`` tries in a row met concurrent claims (503); the client may simply retry.
    """
    postgresql = connection.features.has_select_for_update_skip_locked
    for round_ in range(rounds):
        try:
            # A single statement is atomic by itself; inside an outer transaction (tests) a
            # savepoint keeps that transaction usable after an IntegrityError.
            with transaction.atomic() if not postgresql or connection.in_atomic_block else nullcontext():
                if postgresql:
                    return _claim_postgresql(annotator, now=now, wait=round_ > 0)
                return _claim_sqlite(annotator, now=now)
        except (Contended, IntegrityError):
            continue  # IntegrityError: the same annotator took this item in a parallel request
    raise Busy("every free task was taken by others at the same moment; try again")
