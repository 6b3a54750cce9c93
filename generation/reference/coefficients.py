"""The reference models' shipped Q-Sched coefficients and the calibration prompts that found them.

Each pipeline folder holds the coefficients calibrated on it, ``<pipeline>/qsched.json``
(:func:`qsched_path`): written by :mod:`generation.reference.results` and read by
:mod:`generation.reference.demo`; both import this module, so neither imports the other.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import world

__all__ = ["QSCHED_PATH", "qsched_path", "CALIBRATION_SEED", "calibration_prompts", "load_qsched_coefficients",
           "save_qsched_coefficients"]



def qsched_path(pipeline: str | Path | None = None) -> Path:
    """Where the Q-Sched coefficients calibrated on ``pipeline`` (default: the testbed) are kept."""
    from .model import DEFAULT_PIPELINE

    return Path(pipeline or DEFAULT_PIPELINE) / "qsched.json"


#: The testbed's coefficients (the distilled student's).
QSCHED_PATH = qsched_path()
#: World seed of the calibration scenes (training distribution, disjoint from the evaluation prompts).
CALIBRATION_SEED = 2025


def calibration_prompts(n: int = 5) -> list[str]:
    """Captions of ``n`` distinct training-distribution scenes used to calibrate Q-Sched."""
    return [s.caption for s in world.distinct_scenes(n, seed=CALIBRATION_SEED, split="train")]


def load_qsched_coefficients(path: str | Path = QSCHED_PATH, system: str = "w4a8") -> dict:
    """``{"c_x": [start, end], "c_theta": [start, end], ...}`` calibrated on ``system`` (saved by ``results.py``).

    The file holds one entry per calibrated system under ``"systems"``
    (``fp32``, ``w4a8``, ``w4a4``); the shared search settings are merged in.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no Q-Sched coefficients at {path}; run `python -m generation.reference.results"
                                f" --pipeline {path.parent}` or pass calibrate=True")
    data = json.loads(path.read_text())
    systems = data.get("systems")
    if not isinstance(systems, dict) or system not in systems:
        found = ", ".join(sorted(systems)) if isinstance(systems, dict) else "none"
        raise ValueError(f"{path} has no Q-Sched coefficients for system {system!r} (found: {found})")
    entry = {k: v for k, v in data.items() if k != "systems"} | systems[system]
    for key in ("c_x", "c_theta"):
        if key not in entry:
            raise ValueError(f"{path} has no {key!r} entry for system {system!r}")
    return entry


def save_qsched_coefficients(record: dict, path: str | Path = QSCHED_PATH) -> Path:
    """Write ``record`` (``{"systems": {id: {"c_x", "c_theta", ...}}, ...}``) as the shipped coefficients."""
    systems = record.get("systems")
    if not isinstance(systems, dict) or not systems:
        raise ValueError("the coefficients record has no 'systems' entry")
    for sid, entry in systems.items():
        for key in ("c_x", "c_theta"):
            if key not in entry:
                raise ValueError(f"the coefficients record for {sid!r} has no {key!r} entry")
    path = Path(path)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
