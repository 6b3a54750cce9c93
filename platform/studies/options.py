"""The options a researcher sets on a new study, declared once: on the :class:`~studies.models.Study` fields.

Each option is a ``Study`` field; its default, its range (``MinValueValidator`` /
``MaxValueValidator``), its length limit, its other validators and its help text are read from the
field here, and everything else takes them from this module:

- the service (``studies.services.create_study_from_bundle``) checks values with :func:`clean_options`;
- the create form (``dashboard.forms``) builds its fields with :func:`option_formfield`;
- ``manage.py import_bundle`` builds its flags from :data:`OPTIONS` (type, default, help, range) and
  checks them with :func:`clean_option`;
- the admin is a ModelForm, so Django runs the same validators.

A refusal is a :class:`~studies.errors.StudyError` whose message starts with the field's name
(``votes_per_pair: must be between 1 and 100, got 0``).

One default differs from the field's: an import asks for :data:`~studies.models.GOLD_PAIRS_AT_IMPORT`
gold checks, while ``Study.gold_pairs`` records how many were made (none for a study created
without an import).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from .errors import StudyError
from .models import GOLD_PAIRS_AT_IMPORT, Study

__all__ = ["OPTIONS", "Option", "clean_option", "clean_options", "option_formfield"]

#: The ``Study`` fields a researcher sets when creating a study, in the order forms and ``--help`` show them.
OPTION_NAMES = (
    "name", "public_title", "votes_per_pair", "allow_ties", "quota_per_annotator", "assignment_timeout_s",
    "attention_check_rate", "attention_min_votes_before_check", "exclude_after_failed_checks", "gold_pairs",
    "instructions", "consent_text", "completion_code", "redirect_url", "screen_out_code", "require_crowd_id",
)
#: Defaults of an import that are not the field's own (see the module docstring).
IMPORT_DEFAULTS = {"gold_pairs": GOLD_PAIRS_AT_IMPORT}


@dataclass(frozen=True)
class Option:
    """What the ``Study`` field ``name`` says about the option: kind, default, limits, help."""

    name: str
    field: models.Field
    kind: type  # int, float, bool or str
    default: Any
    low: float | None
    high: float | None
    max_length: int | None
    nullable: bool

    @property
    def help(self) -> str:
        return str(self.field.help_text)

    def range_words(self) -> str:
        """``"between 1 and 100"``, ``"at least 10"`` or ``""``."""
        if self.low is not None and self.high is not None:
            return f"between {self.low:g} and {self.high:g}"
        return f"at least {self.low:g}" if self.low is not None else ""


def _declared(field: models.Field, kind: type) -> list:
    """The validators given in the field's declaration (not the database's integer range)."""
    return [v for v in field.deconstruct()[3].get("validators", []) if isinstance(v, kind)]


def _option(name: str) -> Option:
    field = Study._meta.get_field(name)
    if isinstance(field, models.BooleanField):
        kind = bool
    elif isinstance(field, models.FloatField):
        kind = float
    elif isinstance(field, models.IntegerField):
        kind = int
    else:
        kind = str
    lows = [v.limit_value for v in _declared(field, MinValueValidator)]
    highs = [v.limit_value for v in _declared(field, MaxValueValidator)]
    if kind in (int, float) and not lows:
        raise TypeError(f"Study.{name}: a numeric option needs a MinValueValidator (its range is declared there)")
    default = IMPORT_DEFAULTS.get(name, field.default if field.has_default() else None)
    if kind is str and default is None:
        default = ""
    return Option(name=name, field=field, kind=kind, default=default, low=max(lows, default=None),
                  high=min(highs, default=None), max_length=field.max_length if kind is str else None,
                  nullable=field.null)


#: name -> :class:`Option`, for every option, read from the ``Study`` model.
OPTIONS: dict[str, Option] = {name: _option(name) for name in OPTION_NAMES}


def clean_option(name: str, value):
    """``value`` checked and converted as the ``Study`` field ``name`` declares.

    Raises
    ------
    StudyError
        The value breaks the field's type, range, length or validators; the message starts with ``name``.
    """
    option = OPTIONS[name]
    if option.kind is bool:
        return bool(value)
    if option.nullable and value in (None, ""):
        return None
    if option.kind is str:
        return _text(option, value)
    number = _int(name, value) if option.kind is int else _float(name, value)
    if (option.low is not None and number < option.low) or (option.high is not None and number > option.high):
        raise StudyError(f"{name}: must be {option.range_words()}, got {number}")
    return number


def clean_options(values: dict) -> dict:
    """Every option: the value given in ``values`` (checked by :func:`clean_option`) or its default.

    Raises
    ------
    TypeError
        ``values`` names something that is not an option (as a bad keyword argument would).
    StudyError
        A value is refused, or a rule across options (``Study.clean``) is broken.
    """
    unknown = sorted(set(values) - set(OPTIONS))
    if unknown:
        raise TypeError(f"unknown study option(s): {', '.join(unknown)}; options are {', '.join(OPTIONS)}")
    cleaned = {name: clean_option(name, values.get(name, option.default)) for name, option in OPTIONS.items()}
    try:
        Study(**cleaned).clean()  # the rules across options
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise StudyError(f"{field}: {' '.join(messages)}") from None
    return cleaned


def option_formfield(name: str, **overrides):
    """The form field of option ``name``: the model field's own, with its range and validators.

    ``overrides`` (label, required, widget, ...) change how the page shows it, never what it accepts.
    """
    option = OPTIONS[name]
    kwargs: dict[str, Any] = {"initial": option.default}
    if option.kind in (int, float):
        kwargs.update(min_value=option.low, max_value=option.high)
    elif option.kind is str:
        kwargs["validators"] = [v for v in option.field.deconstruct()[3].get("validators", [])]
    return option.field.formfield(**{**kwargs, **overrides})


# -- checks per kind ------------------------------------------------------------------------------

def _text(option: Option, value) -> str:
    if value is not None and not isinstance(value, str):
        raise StudyError(f"{option.name}: {value!r} is not text")
    if option.field.get_internal_type() == "TextField":
        return value or ""
    text = (value or "").strip()
    if option.max_length is not None and len(text) > option.max_length:
        raise StudyError(f"{option.name}: at most {option.max_length} characters, got {len(text)}")
    if text:
        try:
            option.field.run_validators(text)
        except ValidationError as exc:
            reasons = " ".join(dict.fromkeys(exc.messages))  # a URLField's two URL validators say the same
            raise StudyError(f"{option.name}: {text!r} is refused: {reasons}") from None
    return text


def _int(name: str, value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StudyError(f"{name}: {value!r} is not an integer") from None
    if isinstance(value, bool) or number != value and not isinstance(value, str):
        raise StudyError(f"{name}: {value!r} is not an integer")
    return number


def _float(name: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StudyError(f"{name}: {value!r} is not a number") from None
    if isinstance(value, bool) or math.isnan(number):
        raise StudyError(f"{name}: {value!r} is not a number")
    return number
