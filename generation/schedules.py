"""Per-step coefficient schedules for Q-Sched.

A schedule is given either as a ``(start, end)`` pair, expanded to
``linspace(start, end, steps)`` once the step count is known (the paper's
form), or as an explicit per-step list whose length must equal the number of
denoising steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "COEFFICIENT_MIN",
    "COEFFICIENT_MAX",
    "ScheduleSpec",
    "normalize_spec",
    "expand_schedule",
]

#: Smallest and largest coefficient Q-Sched accepts. The paper searches
#: [0.8, 1.2]; values far outside [0.5, 1.5] destroy the sample.
COEFFICIENT_MIN = 0.5
COEFFICIENT_MAX = 1.5

#: Canonical JSON-friendly form: ``{"start": s, "end": e}`` or ``[c0, c1, ...]``.
ScheduleSpec = dict | list


def _check_value(name: str, position: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}{position} = {value!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{name}{position} = {v} is not finite")
    if not (COEFFICIENT_MIN <= v <= COEFFICIENT_MAX):
        raise ValueError(
            f"{name}{position} = {v} is outside the allowed range "
            f"[{COEFFICIENT_MIN}, {COEFFICIENT_MAX}]"
        )
    return v


def normalize_spec(name: str, spec) -> ScheduleSpec:
    """Validate a schedule and return its canonical, JSON-serialisable form.

    Parameters
    ----------
    name : str
        Name used in error messages (``"c_x"`` or ``"c_theta"``).
    spec : tuple of two floats, dict with ``start``/``end``, or list of floats
        A tuple ``(start, end)`` (or ``{"start": s, "end": e}``) is a linear
        schedule; a list is one coefficient per step. A bare number is a
        constant schedule.

    Returns
    -------
    dict or list
        ``{"start": s, "end": e}`` for linear schedules, a list of floats for
        per-step schedules.

    Raises
    ------
    ValueError
        If a value is not a finite number inside
        [``COEFFICIENT_MIN``, ``COEFFICIENT_MAX``] or the shape is wrong.
    """
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        v = _check_value(name, "", spec)
        return {"start": v, "end": v}
    if isinstance(spec, Mapping):
        if set(spec) != {"start", "end"}:
            raise ValueError(f"{name} as a mapping needs exactly the keys 'start' and 'end', got {sorted(spec)}")
        return {"start": _check_value(name, ".start", spec["start"]), "end": _check_value(name, ".end", spec["end"])}
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ValueError(f"{name} as a tuple must be (start, end), got {len(spec)} values")
        return {"start": _check_value(name, "[0] (start)", spec[0]), "end": _check_value(name, "[1] (end)", spec[1])}
    if isinstance(spec, (Sequence, np.ndarray)) and not isinstance(spec, (str, bytes)):
        values = [_check_value(name, f"[{i}]", v) for i, v in enumerate(list(spec))]
        if not values:
            raise ValueError(f"{name} is an empty list; give one coefficient per step or a (start, end) tuple")
        return values
    raise ValueError(f"{name} must be a (start, end) tuple or a per-step list of floats, got {type(spec).__name__}")


def expand_schedule(name: str, spec: ScheduleSpec, num_steps: int) -> list[float]:
    """Expand a canonical schedule to exactly ``num_steps`` per-step values.

    Parameters
    ----------
    name : str
        Name used in error messages.
    spec : dict or list
        Output of :func:`normalize_spec`.
    num_steps : int
        Number of denoising steps the scheduler will run.

    Returns
    -------
    list of float
        ``linspace(start, end, num_steps)`` or the per-step list itself.

    Raises
    ------
    ValueError
        If a per-step list does not have ``num_steps`` entries.
    """
    if num_steps < 1:
        raise ValueError(f"number of steps must be >= 1, got {num_steps}")
    if isinstance(spec, Mapping):
        if num_steps == 1:
            return [float(spec["start"])]
        return [float(v) for v in np.linspace(spec["start"], spec["end"], num_steps)]
    if len(spec) != num_steps:
        raise ValueError(
            f"{name} has {len(spec)} per-step values but the scheduler runs {num_steps} steps; "
            f"give exactly {num_steps} values or a (start, end) tuple"
        )
    return [float(v) for v in spec]
