"""User-facing errors of the studies app (messages are shown to researchers as they are).

Each class carries the stable ``code`` the JSON API answers it with (a 400, through
``qsched_platform.api_errors``).
"""


class StudyError(Exception):
    """Base class for errors a researcher can fix: bad bundle, bad option, bad transition."""

    code = "invalid"


class StudyStateError(StudyError):
    """A lifecycle change that is not allowed from the study's current status."""

    code = "invalid_transition"


class MembershipError(StudyError, ValueError):
    """Adding or removing a member failed (unknown user, already a member, the owner, ...)."""

    code = "invalid_member"
