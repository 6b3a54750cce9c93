"""The id rule of contract section 1: system, prompt and criterion ids.

Rule: an id is a string of 1-64 characters, each one of ``A-Z a-z 0-9 . _ -``.
Defined here once; the bundle validator, the platform's models and forms and the
generation writers all use :data:`ID_PATTERN` / :func:`is_id`.
"""
from __future__ import annotations

import re

__all__ = ["ID_PATTERN", "ID_RULE", "is_id"]

#: The regular expression (the platform's model validators use its ``.pattern``).
ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: The rule in words, for error messages.
ID_RULE = "1-64 characters of A-Z a-z 0-9 . _ -"


def is_id(value) -> bool:
    """True when ``value`` is a string that follows the id rule."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None
