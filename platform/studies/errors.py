"""User-facing errors of the studies app (messages are shown to researchers as they are)."""


class StudyError(Exception):
    """Base class for errors a researcher can fix: bad bundle, bad option, bad transition."""


class StudyStateError(StudyError):
    """A lifecycle change that is not allowed from the study's current status."""


class MembershipError(StudyError, ValueError):
    """Adding or removing a member failed (unknown user, already a member, the owner, ...)."""
