"""Systems of a study as small recipes: a base pipeline, a quantization, optional Q-Sched.

A recipe is a JSON-friendly dict, so it can travel in a bundle plan to
another machine (see :mod:`generation.tasks`)::

    {"id": "w4a8-qsched", "label": "...", "quant": "w4a8", "include_conv": false, "dtype": "float16",
     "qsched": {"c_x": [1.01, 1.0], "c_theta": [0.96, 1.0]}}

An unquantized system is named for the dtype it runs in: ``fp16``, ``bf16``
or ``fp32``, or ``float`` for "whatever the source loads in". Its recipe
carries that dtype, and a name that disagrees with the dtype the source
actually loads in (``fp16`` on a CPU, where presets load in float32) is
refused, at planning time when the source's dtype is known and again when
the pipeline is built.
"""

from __future__ import annotations

import json
from pathlib import Path

from generation.manifest import check_id
from generation.quantize import SCHEMES

__all__ = ["FLOAT_DTYPES", "float_system_name", "parse_system", "read_qsched_config", "build_pipeline",
           "denoiser_of"]

#: Unquantized system names and the dtype each means (``float``: the source's own).
FLOAT_DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32", "float": None}
_FLOAT = set(FLOAT_DTYPES)


def float_system_name(dtype: str) -> str:
    """The unquantized system's name for ``dtype`` (``float16`` -> ``fp16``)."""
    names = {v: k for k, v in FLOAT_DTYPES.items() if v}
    if dtype not in names:
        raise ValueError(f"no system name for dtype {dtype!r}; known: {', '.join(sorted(names))}")
    return names[dtype]


def parse_system(spec: str, qsched: dict | None = None, include_conv: bool = False,
                 source_dtype: str | None = None) -> dict:
    """Recipe for a system name such as ``fp32``, ``w4a8``, ``w8a8``, ``w4``, ``w4a8-qsched`` (or ``w4a8+qsched``).

    Parameters
    ----------
    spec : str
    qsched : dict, optional
        ``{"c_x": ..., "c_theta": ...}``; required for ``*-qsched`` systems.
    include_conv : bool
    source_dtype : str, optional
        The dtype the model source loads in (:func:`generation.presets.source_dtype`);
        recorded in the recipe and checked against ``fp16``/``bf16``/``fp32``.

    Raises
    ------
    ValueError
        Unknown quantization, missing coefficients, or a float name that
        disagrees with ``source_dtype``.
    """
    name = spec.strip().replace("+", "-")
    base, _, suffix = name.partition("-")
    if suffix not in ("", "qsched"):
        raise ValueError(f"system {spec!r}: unknown suffix {suffix!r} (only '-qsched')")
    if base not in _FLOAT and base not in SCHEMES:
        raise ValueError(f"system {spec!r}: unknown precision {base!r}; use one of "
                         f"{', '.join(sorted(_FLOAT | set(SCHEMES) - {'none'}))}")
    named = FLOAT_DTYPES.get(base)
    if named and source_dtype and named != source_dtype:
        raise ValueError(f"system {spec!r} means {named}, but the model source loads in {source_dtype} here; "
                         f"call it {float_system_name(source_dtype)!r} (or 'float'), or pass --dtype {named}")
    recipe = {"id": check_id(name, "system id"), "label": name, "quant": "none" if base in _FLOAT else base,
              "include_conv": include_conv, "qsched": None}
    if named or source_dtype:
        recipe["dtype"] = named or source_dtype
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


def _check_dtype(recipe: dict, denoiser) -> None:
    """Refuse to run a system whose recipe names a dtype other than the one its model loaded in."""
    wanted = recipe.get("dtype")
    loaded = str(next(denoiser.parameters()).dtype).removeprefix("torch.")
    if wanted and wanted != loaded:
        raise ValueError(f"system {recipe.get('id', '?')!r} is planned in {wanted} but its model loaded in {loaded} "
                         f"on this machine; give the same --dtype/--device everywhere or plan it as "
                         f"{float_system_name(loaded)!r}")


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
    _check_dtype(recipe, denoiser_of(pipe))
    size = quantize_denoiser(denoiser_of(pipe), recipe["quant"], include_conv=recipe.get("include_conv", False))
    if report is not None:
        report.append(size)
    if recipe.get("qsched"):
        q = recipe["qsched"]
        pipe.scheduler = QSched(stock_scheduler(pipe), c_x=_coefficients(q["c_x"]), c_theta=_coefficients(q["c_theta"]))
    return pipe
