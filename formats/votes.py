"""The votes export (contract section 2): columns, choices, which votes count, a tie as half a win.

Rules, defined here once and used by the platform's export and progress table, the
dashboard and the analysis:

- A votes file has exactly :data:`VOTE_COLUMNS` (CSV with a header row in this order,
  JSON Lines with these keys, or Parquet); ``vote_id`` is unique in a file (a file with a
  repeated ``vote_id`` is refused: the vote would count twice).
- The values of :data:`ID_COLUMNS` follow the id rule of :mod:`formats.ids`; no identifier
  is empty or a spelling of a missing value (:data:`MISSING_SPELLINGS`). Readers strip
  surrounding whitespace from identifiers first (ids never hold spaces, so this merges
  nothing the contract allows).
- ``choice`` is one of :data:`CHOICES`; ``winner`` is the system shown on the chosen
  side, or :data:`TIE` for a tie (so no system may be called ``tie``).
- Booleans are written ``true`` / ``false`` in CSV (:func:`csv_bool`); readers accept
  :data:`TRUE_WORDS` and :data:`FALSE_WORDS`.
- CSV only: a text cell that starts like a spreadsheet formula (:data:`FORMULA_STARTS`,
  e.g. a crowd id ``=HYPERLINK(...)``) or with the mark :data:`CSV_ESCAPE` itself is written
  with a leading ``'`` (:func:`csv_safe`), and a CSV reader takes one leading ``'`` off
  (:func:`csv_unescape`), so every value reads back as it was written (a system id may
  start with ``-``). JSON Lines and Parquet keep values as they are.
- Rankings, win rates and the platform's pair table count only the votes that match
  :data:`COUNTED_WHEN`: not an attention check, from an annotator not excluded
  (:func:`is_counted`).
- A tie counts :data:`TIE_CREDIT` (half) a win for each side: the win rate of ``a``
  against ``b`` is (wins + ties/2) / (wins + losses + ties) (:func:`win_rate`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["CHOICES", "COUNTED_WHEN", "CSV_ESCAPE", "FALSE_WORDS", "FORMULA_STARTS", "ID_COLUMNS",
           "MISSING_SPELLINGS", "TIE", "TIE_CREDIT",
           "TRUE_WORDS", "VOTE_COLUMNS", "csv_bool", "csv_safe", "csv_unescape", "duplicate_ids", "is_counted",
           "win_rate", "winner_of"]

VOTE_COLUMNS = (
    "vote_id", "study", "criterion", "annotator", "prompt", "seed", "system_left", "system_right",
    "choice", "winner", "response_ms", "created_at", "attention_check", "annotator_excluded",
)
#: Columns whose values are ids of the bundle (``winner`` is one of the two systems, or :data:`TIE`).
ID_COLUMNS = ("criterion", "prompt", "system_left", "system_right")
#: What a missing value turns into on its way through CSV, pandas or JSON (lower case): never an id.
MISSING_SPELLINGS = frozenset({"nan", "none", "null", "na", "n/a", "<na>", "nat"})
CHOICES = ("left", "right", "tie")
#: The ``winner`` value of a tie.
TIE = "tie"
#: Column -> the value a vote must have there to count in rankings and win rates.
COUNTED_WHEN = {"attention_check": False, "annotator_excluded": False}
#: Share of a win that a tie gives each side.
TIE_CREDIT = 0.5
#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The mark before a CSV cell that would otherwise start like a formula (or with the mark).
CSV_ESCAPE = "'"
TRUE_WORDS = ("true", "True", "TRUE", "1", "t", "yes")
FALSE_WORDS = ("false", "False", "FALSE", "0", "f", "no", "")


def is_counted(vote: Mapping) -> bool:
    """True when ``vote`` (a row with the :data:`COUNTED_WHEN` columns) counts in rankings and win rates."""
    return all(bool(vote[column]) == value for column, value in COUNTED_WHEN.items())


def win_rate(wins: int, losses: int, ties: int) -> float | None:
    """(wins + ties/2) / (wins + losses + ties), or None when there are no votes."""
    n = wins + losses + ties
    return (wins + TIE_CREDIT * ties) / n if n else None


def winner_of(choice: str, system_left: str, system_right: str) -> str:
    """The ``winner`` field of a vote: the system on the chosen side, or :data:`TIE`."""
    if choice not in CHOICES:
        raise ValueError(f"choice must be one of {', '.join(CHOICES)}, got {choice!r}")
    return {"left": system_left, "right": system_right, "tie": TIE}[choice]


def csv_bool(value: bool) -> str:
    """How a boolean column is written in CSV."""
    return "true" if value else "false"


def csv_safe(value):
    """``value`` as a CSV cell: text starting like a formula (or with :data:`CSV_ESCAPE`) gets a leading ``'``."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, CSV_ESCAPE)):
        return CSV_ESCAPE + value
    return value


def csv_unescape(text: str) -> str:
    """The value of a CSV text cell written by :func:`csv_safe`."""
    return text[1:] if text.startswith(CSV_ESCAPE) else text


def duplicate_ids(vote_ids: Iterable) -> list:
    """The ``vote_id`` values that occur more than once, in order of their second occurrence."""
    seen, repeated, reported = set(), [], set()
    for vote_id in vote_ids:
        if vote_id in seen and vote_id not in reported:
            repeated.append(vote_id)
            reported.add(vote_id)
        seen.add(vote_id)
    return repeated
