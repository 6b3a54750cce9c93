"""A study's status and what each status allows, declared once.

::

    draft --> live <--> paused
      \\        \\         /
       `-------> closed <'        (closed is final)

- :data:`TRANSITIONS` lists the moves; ``studies.services.set_status`` makes them (the researcher API
  and the dashboard call it), the dashboard shows one button per move (``dashboard.pages``) and the
  researcher API lists them (``next_statuses``).
- Work is handed out (sessions start, new tasks are claimed) only while a study is live
  (``Study.is_live``); votes on work already handed out are taken while live or paused
  (:data:`VOTING_STATUSES`); annotators never see a draft.
"""
from __future__ import annotations

from .errors import StudyStateError
from .models import Study

__all__ = ["TRANSITIONS", "VOTING_STATUSES", "check_transition", "next_statuses"]

Status = Study.Status

#: status -> the statuses it may move to, in the order the dashboard shows their buttons.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.DRAFT: (Status.LIVE, Status.CLOSED),
    Status.LIVE: (Status.PAUSED, Status.CLOSED),
    Status.PAUSED: (Status.LIVE, Status.CLOSED),
    Status.CLOSED: (),
}
#: Statuses in which votes are taken (a paused study still takes votes on work already handed out).
VOTING_STATUSES = (Status.LIVE, Status.PAUSED)


def next_statuses(status: str) -> tuple[str, ...]:
    """The statuses a study in ``status`` may move to (none from closed)."""
    return TRANSITIONS[Status(status)]


def check_transition(*, slug: str, current: str, target: str) -> None:
    """Refuse a move the state machine does not allow.

    Raises
    ------
    StudyStateError
        ``target`` is no status, or study ``slug`` cannot move from ``current`` to it.
    """
    if target not in Status.values:
        raise StudyStateError(f"unknown status {target!r}; choose one of {', '.join(Status.values)}")
    allowed = next_statuses(current)
    if target not in allowed:
        words = ", ".join(sorted(allowed)) or "nothing (closed is final)"
        raise StudyStateError(f"study {slug!r} is {current}; it can move to {words}, not {target}")
