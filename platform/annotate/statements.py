"""The annotator hot path on PostgreSQL: a claim and a vote, each ONE statement (one round trip).

Rules
-----
- Each function runs a single ``WITH ... UPDATE/INSERT ... RETURNING`` statement. A statement is
  atomic on its own, so in autocommit (a request) it needs no BEGIN/COMMIT; inside an outer
  transaction the caller wraps it in a savepoint (``transaction.atomic()``) so an
  IntegrityError leaves that transaction usable.
- They run on a cursor that binds parameters on the server and prepares each statement
  (:func:`prepared_cursor`): the planner (about as costly as running these statements) then
  runs once per connection, not on every claim and vote.
- All parts of a statement see the same snapshot: the statement's final SELECT reads the
  counters as they were before its own changes (callers correct for that where they use it).
- The rules themselves (deal order, k, unique items, expiry, counters) are those of
  :mod:`annotate.assignment` and :mod:`annotate.services`; SQLite runs the same rules as
  several ORM statements in one transaction.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import connection

from studies.models import Comparison, Criterion, Image, Prompt, Study, StudyCounters, WorkItem

from .models import Annotator, Assignment, Vote

__all__ = ["Shown", "claim", "record_regular_vote"]


@dataclass(frozen=True)
class Shown:
    """What the annotator's screen shows of a task besides the two images."""

    criterion: str
    question: str
    prompt: str


def _q(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def prepared_cursor():
    """A Django cursor (logged and wrapped like any other) whose statements PostgreSQL plans once
    per connection: server-side binding, and every statement prepared on first use (psycopg keeps
    them per connection; Django itself turns automatic preparing off). Elsewhere a plain cursor."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.ensure_connection()
    pg = connection.connection
    if pg.prepare_threshold is None:  # Django's default, which turns preparing off: set up once per connection
        pg.prepare_threshold = 2**31  # only this cursor, which asks each time, prepares
        # One plan per statement for the connection's life: these statements filter on ids and
        # walk an index in order, so the generic plan is the custom one, without planning each time.
        # (Only prepared statements are affected, and only these are prepared.)
        with connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
    return connection._prepare_cursor(_PreparingCursor(pg))


def _preparing_cursor_class():
    import psycopg

    class PreparingCursor(psycopg.Cursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            self._query = pgq  # what Django's query log shows (the statement, $n for parameters)
            return super()._send_query_prepared(name, pgq, binary=binary)

    return PreparingCursor


class _LazyClass:
    def __init__(self, make):
        self.make, self.cls = make, None

    def __call__(self, *args):
        self.cls = self.cls or self.make()
        return self.cls(*args)


_PreparingCursor = _LazyClass(_preparing_cursor_class)  # psycopg is imported only on PostgreSQL


def _claim_sql(candidate_sql: str, claimable_sql: str) -> str:
    return f"""
WITH claimed AS (
    UPDATE {_q(WorkItem)} SET reserved = reserved + 1
    WHERE id = ({candidate_sql}) AND reserved < %(k)s
    RETURNING id, comparison_id, criterion_id, reserved
), made AS (
    INSERT INTO {_q(Assignment)} (public_id, annotator_id, work_item_id, left_image_id, right_image_id,
                                  status, attention_check, gold, issued_at, expires_at)
    SELECT %(public_id)s, %(annotator)s, claimed.id,
           CASE WHEN %(swap)s THEN c.image_b_id ELSE c.image_a_id END,
           CASE WHEN %(swap)s THEN c.image_a_id ELSE c.image_b_id END,
           %(issued)s, false, false, %(now)s, %(expires_at)s
    FROM claimed JOIN {_q(Comparison)} c ON c.id = claimed.comparison_id
    RETURNING id, left_image_id, right_image_id
), filled AS (
    UPDATE {_q(StudyCounters)} SET items_full = items_full + 1
    WHERE study_id = %(study)s AND EXISTS (SELECT 1 FROM claimed WHERE reserved = %(k)s)
    RETURNING study_id
)
SELECT made.id, made.left_image_id, made.right_image_id, claimed.id, claimed.reserved,
       (SELECT COUNT(*) FROM filled), cr.key, cr.question, p.text, ({claimable_sql})
FROM made, claimed
JOIN {_q(Criterion)} cr ON cr.id = claimed.criterion_id
JOIN {_q(Comparison)} c2 ON c2.id = claimed.comparison_id
JOIN {_q(Prompt)} p ON p.id = c2.prompt_id"""


def claim(annotator: Annotator, *, now, expires_at, swap: bool, candidate_sql: str, claimable_sql: str,
          params: dict) -> tuple[Assignment, Shown, int | None] | None:
    """Take the slot ``candidate_sql`` picks and create its assignment, in one statement.

    Returns (assignment, what it shows, items still claimable for the annotator after this claim,
    or None where the study has no counters yet), or None when the candidate query found nothing.
    """
    public_id = uuid.uuid4()
    with prepared_cursor() as cursor:
        cursor.execute(_claim_sql(candidate_sql, claimable_sql), {
            **params, "public_id": public_id, "swap": swap, "issued": Assignment.Status.ISSUED, "now": now,
            "expires_at": expires_at})
        row = cursor.fetchone()
    if row is None:
        return None
    (assignment_id, left, right, item_id, reserved, filled, criterion, question, prompt, claimable) = row
    if reserved == params["k"] and not filled:
        from studies import counters

        counters.ensure(annotator.study)  # counted now, this claim included
    assignment = Assignment.from_db(connection.alias, [
        "id", "public_id", "annotator_id", "work_item_id", "left_image_id", "right_image_id", "status",
        "attention_check", "repeat_of_id", "gold", "issued_at", "expires_at"], [
        assignment_id, public_id, annotator.pk, item_id, left, right, Assignment.Status.ISSUED, False, None, False,
        now, expires_at])
    assignment.annotator = annotator
    # The final SELECT saw the counters before this claim, which took one claimable item.
    return assignment, Shown(criterion, question, prompt), None if claimable is None else max(claimable - 1, 0)


_VOTE_SQL = """
WITH taken AS (
    UPDATE {assignments} a SET status = %(voted)s
    FROM {items} w, {studies} st
    WHERE a.public_id = %(public_id)s AND a.annotator_id = %(annotator)s AND a.status = %(issued)s
      AND NOT a.attention_check AND a.expires_at > %(now)s AND a.issued_at <= %(issued_by)s
      AND w.id = a.work_item_id AND st.id = w.study_id AND st.status = ANY(%(voting)s)
    RETURNING a.id, a.work_item_id, w.comparison_id, w.criterion_id, w.study_id, a.left_image_id, a.right_image_id,
              a.issued_at
), cast_vote AS (
    INSERT INTO {votes} (public_id, assignment_id, study_id, annotator_id, comparison_id, criterion_id,
                         system_left_id, system_right_id, choice, winner_id, response_ms, server_ms,
                         attention_check, created_at)
    SELECT %(vote_id)s, t.id, t.study_id, %(annotator)s, t.comparison_id, t.criterion_id, l.system_id, r.system_id,
           %(choice)s::varchar, CASE %(choice)s::varchar WHEN 'left' THEN l.system_id WHEN 'right' THEN r.system_id END,
           %(response_ms)s, GREATEST(0, FLOOR(EXTRACT(EPOCH FROM (%(now)s - t.issued_at)) * 1000))::integer,
           false, %(now)s
    FROM taken t JOIN {images} l ON l.id = t.left_image_id JOIN {images} r ON r.id = t.right_image_id
    RETURNING id, assignment_id, study_id, comparison_id, criterion_id, system_left_id, system_right_id, winner_id,
              server_ms
), counted AS (
    UPDATE {items} SET votes = votes + 1 WHERE id = (SELECT work_item_id FROM taken)
    RETURNING id
), seen AS (
    UPDATE {annotators} SET last_seen_at = %(now)s, regular_votes = regular_votes + 1
    WHERE id = %(annotator)s AND EXISTS (SELECT 1 FROM taken)
    RETURNING id
)
SELECT v.id, v.assignment_id, v.study_id, v.comparison_id, v.criterion_id, v.system_left_id, v.system_right_id,
       v.winner_id, (SELECT COUNT(*) FROM counted) + (SELECT COUNT(*) FROM seen), v.server_ms
FROM cast_vote v"""


def record_regular_vote(annotator: Annotator, *, public_id: uuid.UUID, choice: str, response_ms: int,
                        now, voting_statuses, issued_by) -> Vote | None:
    """Record a valid vote on an open, unexpired regular assignment of ``annotator``, in one statement.

    Marks the assignment voted, inserts the vote (systems as shown, the winner), adds one to
    the item's votes and to the annotator's regular votes. Returns None, writing nothing, when
    the assignment is anything else (not theirs, voted, expired, a check, the study not taking
    votes, handed out after ``issued_by``: the timing rules of ``annotate.services``): the
    caller then takes the general path, which tells which. Stores ``server_ms``, the server's
    own time from handing the task out to this vote.
    """
    sql = _VOTE_SQL.format(assignments=_q(Assignment), items=_q(WorkItem), studies=_q(Study), votes=_q(Vote),
                           images=_q(Image), annotators=_q(Annotator))
    vote_id = uuid.uuid4()
    with prepared_cursor() as cursor:
        cursor.execute(sql, {"voted": Assignment.Status.VOTED, "issued": Assignment.Status.ISSUED,
                             "public_id": public_id, "annotator": annotator.pk, "now": now,
                             "voting": list(voting_statuses), "vote_id": vote_id, "choice": choice,
                             "response_ms": response_ms, "issued_by": issued_by})
        row = cursor.fetchone()
    if row is None:
        return None
    (pk, assignment_id, study_id, comparison_id, criterion_id, left, right, winner, updated, server_ms) = row
    if updated != 2:  # both counters rows must have changed with the vote
        raise RuntimeError(f"vote {vote_id}: the item or annotator counter was not updated")
    vote = Vote.from_db(connection.alias, [
        "id", "public_id", "assignment_id", "study_id", "annotator_id", "comparison_id", "criterion_id",
        "system_left_id", "system_right_id", "choice", "winner_id", "response_ms", "server_ms", "attention_check",
        "check_passed", "created_at"], [
        pk, vote_id, assignment_id, study_id, annotator.pk, comparison_id, criterion_id, left, right, choice,
        winner, response_ms, server_ms, False, None, now])
    vote.annotator = annotator
    return vote
