"""Refusals of the annotator services, each with the HTTP status the API answers with."""


class AnnotateError(Exception):
    """Base class: a user-facing refusal. Nothing is written when one is raised."""

    status = 400
    code = "invalid"
    #: Seconds after which the same request may succeed (sent as ``Retry-After``); None: do not retry.
    retry_after: int | None = None


class InvalidInput(AnnotateError):
    status = 400
    code = "invalid"


class StudyNotLive(AnnotateError):
    status = 403
    code = "study_not_live"


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


class WorkRemaining(AnnotateError):
    status = 409
    code = "work_remaining"


class Busy(AnnotateError):
    status = 503
    code = "busy"
    retry_after = 1
