"""The reference model's shipped Q-Sched coefficients and the calibration prompts that found them.

``weights/qsched.json`` is written by :mod:`generation.reference.results` and
read by :mod:`generation.reference.demo`; both import this module, so neither
imports the other.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import world

__all__ = ["QSCHED_PATH", "CALIBRATION_SEED", "calibration_prompts", "load_qsched_coefficients",
           "save_qsched_coefficients"]

QSCHED_PATH = Path(__file__).parent / "weights" / "qsched.json"
#: World seed of the calibration scenes (training distribution, disjoint from the evaluation prompts).
CALIBRATION_SEED = 2025


def calibration_prompts(n: int = 5) -> list[str]:
    """Captions of ``n`` distinct training-distribution scenes used to calibrate Q-Sched."""
    return [s.caption for s in world.distinct_scenes(n, seed=CALIBRATION_SEED, split="train")]


def load_qsched_coefficients(path: str | Path = QSCHED_PATH) -> dict:
    """``{"c_x": [start, end], "c_theta": [start, end], ...}`` saved by ``results.py``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no Q-Sched coefficients at {path}; run `python -m generation.reference.results`"
                                " or pass calibrate=True")
    data = json.loads(path.read_text())
    for key in ("c_x", "c_theta"):
        if key not in data:
            raise ValueError(f"{path} has no {key!r} entry")
    return data


def save_qsched_coefficients(record: dict, path: str | Path = QSCHED_PATH) -> Path:
    """Write ``record`` (with ``c_x`` and ``c_theta``) as the shipped coefficients."""
    for key in ("c_x", "c_theta"):
        if key not in record:
            raise ValueError(f"the coefficients record has no {key!r} entry")
    path = Path(path)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
