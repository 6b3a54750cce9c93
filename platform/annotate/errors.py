"""Refusals of the annotator services, each with the HTTP status and the stable ``code`` the API answers with.

``qsched_platform.api_errors`` turns one into ``{"detail": <message>, "code": <code>, **extra}``;
the codes are listed in docs/formats.md ("Refusals") and the voting page (vote.js) switches on them.
"""


class AnnotateError(Exception):
    """Base class: a user-facing refusal. Nothing is written when one is raised."""

    status = 400
    code = "invalid"
    #: Seconds after which the same request may succeed (sent as ``Retry-After``); None: do not retry.
    retry_after: int | None = None

    def __init__(self, message: str = "", **extra):
        super().__init__(message)
        self.extra = extra  # more fields of the JSON refusal, beside detail and code


class InvalidInput(AnnotateError):
    status = 400
    code = "invalid"


class NotAuthenticated(AnnotateError):
    """No ``Authorization: Bearer`` header, or a token of no session."""

    status = 401
    code = "not_authenticated"


class StudyNotLive(AnnotateError):
    status = 403
    code = "study_not_live"


class StudyNotFound(AnnotateError):
    """No such study, or a draft (not public yet): the same answer for both."""

    status = 404
    code = "not_found"


class CrowdIdRequired(AnnotateError):
    status = 403
    code = "crowd_id_required"


class QuotaExhausted(AnnotateError):
    status = 409
    code = "quota_exhausted"


class AssignmentNotFound(AnnotateError):
    status = 404
    code = "not_found"


class AssignmentExpired(AnnotateError):
    status = 410
    code = "expired"


class VoteConflict(AnnotateError):
    status = 409
    code = "already_voted"


class TooFast(AnnotateError):
    status = 400
    code = "too_fast"


class TooManyOpenTasks(AnnotateError):
    status = 409
    code = "too_many_open_tasks"


class WorkRemaining(AnnotateError):
    status = 409
    code = "work_remaining"


class Busy(AnnotateError):
    status = 503
    code = "busy"
    retry_after = 1
