"""Systems of a study as small recipes: a base pipeline, a quantization, optional Q-Sched.

A recipe is a JSON-friendly dict, so it can travel in a bundle plan to
another machine (see :mod:`generation.tasks`)::

    {"id": "w4a8-qsched", "label": "...", "quant": "w4a8", "include_conv": false,
     "qsched": {"c_x": [1.01, 1.0], "c_theta": [0.96, 1.0]}}
"""

from __future__ import annotations

import json
from pathlib import Path

from generation.manifest import check_id
from generation.quantize import SCHEMES

__all__ = ["parse_system", "read_qsched_config", "build_pipeline", "denoiser_of"]

_FLOAT = {"fp16", "fp32", "bf16", "float"}


def parse_system(spec: str, qsched: dict | None = None, include_conv: bool = False) -> dict:
    """Recipe for a system name such as ``fp16``, ``w4a8``, ``w8a8``, ``w4``, ``w4a8-qsched`` (or ``w4a8+qsched``).

    Parameters
    ----------
    spec : str
    qsched : dict, optional
        ``{"c_x": ..., "c_theta": ...}``; required for ``*-qsched`` systems.
    include_conv : bool

    Raises
    ------
    ValueError
        Unknown quantization or missing coefficients.
    """
    name = spec.strip().replace("+", "-")
    base, _, suffix = name.partition("-")
    if suffix not in ("", "qsched"):
        raise ValueError(f"system {spec!r}: unknown suffix {suffix!r} (only '-qsched')")
    if base not in _FLOAT and base not in SCHEMES:
        raise ValueError(f"system {spec!r}: unknown precision {base!r}; use one of "
                         f"{', '.join(sorted(_FLOAT | set(SCHEMES) - {'none'}))}")
    recipe = {"id": check_id(name, "system id"), "label": name, "quant": "none" if base in _FLOAT else base,
              "include_conv": include_conv, "qsched": None}
    if suffix == "qsched":
        if not qsched:
            raise ValueError(f"system {spec!r} needs Q-Sched coefficients (--qsched-config DIR or --c-x/--c-theta)")
        from generation.schedules import normalize_spec

        for key in ("c_x", "c_theta"):
            normalize_spec(key, _coefficients(list(qsched[key])))  # fail now, not on a worker hours later
        recipe["qsched"] = {"c_x": list(qsched["c_x"]), "c_theta": list(qsched["c_theta"])}
        recipe["label"] = f"{base.upper()} + Q-Sched"
    else:
        recipe["label"] = base.upper()
    return recipe


def read_qsched_config(path) -> dict:
    """``{"c_x", "c_theta"}`` from a calibration output dir, its ``scheduler/`` folder or a ``scheduler_config.json``."""
    p = Path(path)
    for candidate in (p, p / "scheduler_config.json", p / "scheduler" / "scheduler_config.json"):
        if candidate.is_file():
            cfg = json.loads(candidate.read_text())
            if "c_x" not in cfg or "c_theta" not in cfg:
                raise ValueError(f"{str(candidate)!r} is not a QSched scheduler config (no c_x/c_theta)")
            to_list = lambda v: [v["start"], v["end"]] if isinstance(v, dict) else list(v)  # noqa: E731
            return {"c_x": to_list(cfg["c_x"]), "c_theta": to_list(cfg["c_theta"])}
    raise ValueError(f"no QSched scheduler_config.json found at {str(p)!r}")


def denoiser_of(pipe):
    """The UNet or transformer of a pipeline."""
    for attr in ("transformer", "unet"):
        module = getattr(pipe, attr, None)
        if module is not None:
            return module
    raise ValueError(f"{type(pipe).__name__} has neither a transformer nor a unet to quantize")


def _coefficients(v):
    """Lists of two from JSON mean (start, end) pairs; longer lists are per-step."""
    return tuple(v) if isinstance(v, (list, tuple)) and len(v) == 2 else v


def build_pipeline(recipe: dict, *, preset: str | None = None, model_path=None, device: str = "cpu",
                   dtype: str | None = None, report: list | None = None):
    """Load the base pipeline and apply the recipe's quantization and Q-Sched.

    Parameters
    ----------
    recipe : dict
        From :func:`parse_system`.
    preset : str, optional
        A :mod:`generation.presets` name; otherwise ``model_path`` is a local
        diffusers pipeline folder.
    report : list, optional
        The quantization :class:`~generation.quantize.SizeReport` is appended here.
    """
    import diffusers
    import torch

    from generation.images import stock_scheduler
    from generation.qsched import QSched
    from generation.quantize import quantize_denoiser

    if preset:
        from generation.presets import load_preset

        pipe = load_preset(preset, model_path, device=device, dtype=dtype)
    elif model_path:
        if not (Path(model_path) / "model_index.json").is_file():
            raise ValueError(f"{str(model_path)!r} is not a diffusers pipeline folder (no model_index.json)")
        kwargs = {"torch_dtype": getattr(torch, dtype)} if dtype else {}
        pipe = diffusers.DiffusionPipeline.from_pretrained(model_path, local_files_only=True, **kwargs).to(device)
    else:
        raise ValueError("give a preset or a model path")
    pipe.set_progress_bar_config(disable=True)
    size = quantize_denoiser(denoiser_of(pipe), recipe["quant"], include_conv=recipe.get("include_conv", False))
    if report is not None:
        report.append(size)
    if recipe.get("qsched"):
        q = recipe["qsched"]
        pipe.scheduler = QSched(stock_scheduler(pipe), c_x=_coefficients(q["c_x"]), c_theta=_coefficients(q["c_theta"]))
    return pipe
