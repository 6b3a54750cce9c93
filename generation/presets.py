"""Presets for the few-step models of the Q-Sched paper.

Each preset names the Hugging Face hub id, the step count, the guidance scale
and the scheduler with its settings. Weights are never downloaded implicitly
in a way that hides failure: :func:`load_preset` looks in a local path first
(``model_path`` argument, or ``$QSCHED_MODELS_DIR/<preset folder>``), then in
the Hugging Face cache (``local_files_only``), and only downloads when
``allow_download=True``. Missing weights raise an error that says what to
download and where to put it.

Settings follow the paper's released code (enyac-group/q-sched): PCM runs
with the pipeline's default ``eta`` (0), FLUX.1-schnell with
``max_sequence_length=512``.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

__all__ = ["Preset", "PRESETS", "get_preset", "load_preset", "source_dtype", "MissingWeightsError"]


class MissingWeightsError(FileNotFoundError):
    """The weights of a preset are not available locally."""


@dataclasses.dataclass(frozen=True)
class Preset:
    """A few-step text-to-image setup.

    Attributes
    ----------
    name : str
    hub_id : str
        Base pipeline repository on the Hugging Face hub.
    steps : int
    guidance_scale : float
    scheduler : str
        diffusers scheduler class name.
    scheduler_settings : dict
        Passed to ``Scheduler.from_config(pipe.scheduler.config, **settings)``.
    lora : tuple or None
        ``(repo, subfolder, weight_name)`` of a LoRA to fuse (PCM).
    dtype : str
        ``float16`` or ``bfloat16`` on GPU.
    height, width : int
    pipe_kwargs : dict
        Extra pipeline call arguments.
    """

    name: str
    hub_id: str
    steps: int
    guidance_scale: float
    scheduler: str
    scheduler_settings: dict = dataclasses.field(default_factory=dict)
    lora: tuple | None = None
    dtype: str = "float16"
    height: int = 512
    width: int = 512
    pipe_kwargs: dict = dataclasses.field(default_factory=dict)

    @property
    def folder(self) -> str:
        """Folder name under ``$QSCHED_MODELS_DIR`` for the base weights."""
        return self.hub_id.split("/")[-1]


_TCD = {"timestep_spacing": "trailing"}
_SD15 = "stable-diffusion-v1-5/stable-diffusion-v1-5"
_SDXL = "stabilityai/stable-diffusion-xl-base-1.0"


def _pcm(base: str, kind: str, steps: int, size: int) -> Preset:
    return Preset(
        name=f"pcm-{kind}-{steps}", hub_id=base, steps=steps, guidance_scale=1.0, scheduler="TCDScheduler",
        scheduler_settings=_TCD, lora=("wangfuyun/PCM_Weights", kind, f"pcm_{kind}_smallcfg_{steps}step_converted.safetensors"),
        height=size, width=size,  # eta: the pipeline's default (0), as the official runs use
    )


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("lcm-dreamshaper-v7", "SimianLuo/LCM_Dreamshaper_v7", 4, 8.0, "LCMScheduler"),
        *[_pcm(_SD15, "sd15", n, 512) for n in (2, 4, 8)],
        *[_pcm(_SDXL, "sdxl", n, 1024) for n in (2, 4, 8)],
        Preset("sdxl-turbo-1", "stabilityai/sdxl-turbo", 1, 0.0, "EulerAncestralDiscreteScheduler", _TCD),
        Preset("sdxl-turbo-4", "stabilityai/sdxl-turbo", 4, 0.0, "EulerAncestralDiscreteScheduler", _TCD),
        Preset("flux-schnell-4", "black-forest-labs/FLUX.1-schnell", 4, 0.0, "FlowMatchEulerDiscreteScheduler",
               dtype="bfloat16", height=1024, width=1024, pipe_kwargs={"max_sequence_length": 512}),
    ]
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises
    ------
    ValueError
        Unknown name, listing the known ones.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}") from None


def source_dtype(preset: str | None, device: str = "cpu", dtype: str | None = None) -> str:
    """The dtype a model source loads in: ``dtype`` if given, else the preset's on a GPU, else float32.

    The one rule for it: :func:`load_preset` and :func:`generation.systems.build_pipeline`
    load in this dtype (a local pipeline folder without ``dtype`` loads in
    diffusers' default, float32), and system names are checked against it.
    """
    if dtype:
        return dtype
    if preset and device != "cpu":
        return get_preset(preset).dtype
    return "float32"


def _missing(preset: Preset, what: str, local: Path | None) -> MissingWeightsError:
    where = local or Path(os.environ.get("QSCHED_MODELS_DIR", "<models dir>")) / preset.folder
    lines = [
        f"weights for preset {preset.name!r} are missing: {what}.",
        f"Download them on a machine with network access:  hf download {preset.hub_id} --local-dir {where}",
    ]
    if preset.lora:
        repo, sub, weight = preset.lora
        lines.append(f"and the LoRA:  hf download {repo} {sub}/{weight} --local-dir {where}/lora")
    lines.append("then pass --model-path (model_path=) or set QSCHED_MODELS_DIR to the folder holding "
                 f"'{preset.folder}'.")
    return MissingWeightsError("\n".join(lines))


def load_preset(name: str, model_path=None, *, device: str = "cpu", dtype: str | None = None,
                allow_download: bool = False):
    """Build the preset's pipeline with its scheduler (and LoRA, fused).

    Parameters
    ----------
    name : str
        A key of :data:`PRESETS`.
    model_path : path, optional
        Local diffusers folder of the base model; default
        ``$QSCHED_MODELS_DIR/<folder>`` when that exists, else the hub id.
    device : str
    dtype : str, optional
        Override the preset's dtype (``float32`` on CPU).
    allow_download : bool
        Let ``from_pretrained`` download missing files.

    Returns
    -------
    diffusers.DiffusionPipeline

    Raises
    ------
    ValueError
        Unknown preset.
    MissingWeightsError
        Weights not found locally; the message says what to download and where.
    """
    import diffusers
    import torch

    preset = get_preset(name)
    local = _local_folder(preset, model_path)
    source = str(local) if local else preset.hub_id
    torch_dtype = getattr(torch, source_dtype(name, device, dtype))
    try:
        pipe = diffusers.DiffusionPipeline.from_pretrained(source, torch_dtype=torch_dtype,
                                                           local_files_only=not allow_download)
    except (OSError, ValueError) as exc:
        raise _missing(preset, f"could not load {source!r} ({type(exc).__name__})", local) from exc
    scheduler_cls = getattr(diffusers, preset.scheduler)
    pipe.scheduler = scheduler_cls.from_config(pipe.scheduler.config, **preset.scheduler_settings)
    if preset.lora:
        _fuse_lora(pipe, preset, local, allow_download)
    return pipe.to(device)


def _local_folder(preset: Preset, model_path) -> Path | None:
    """The local diffusers folder of the base weights, or None to look in the Hugging Face cache.

    ``model_path``, else ``$QSCHED_MODELS_DIR/<folder>`` when that exists; a
    folder without ``model_index.json`` is refused (:class:`MissingWeightsError`).
    """
    local = Path(model_path) if model_path else None
    if local is None and os.environ.get("QSCHED_MODELS_DIR"):
        candidate = Path(os.environ["QSCHED_MODELS_DIR"]) / preset.folder
        local = candidate if candidate.is_dir() else None
    if local is not None and not (local / "model_index.json").is_file():
        raise _missing(preset, f"no model_index.json in {str(local)!r}", local)
    return local


def _fuse_lora(pipe, preset: Preset, local: Path | None, allow_download: bool) -> None:
    """Load the preset's LoRA (from ``<local>/lora/<subfolder>`` when there, else the hub or its cache) and fuse it."""
    repo, sub, weight = preset.lora
    lora_dir = (local / "lora" / sub) if local and (local / "lora" / sub / weight).is_file() else None
    try:
        pipe.load_lora_weights(str(lora_dir) if lora_dir else repo, weight_name=weight,
                               subfolder=None if lora_dir else sub, local_files_only=not allow_download)
    except (OSError, ValueError) as exc:
        raise _missing(preset, f"LoRA {repo}/{sub}/{weight} not found", local) from exc
    pipe.fuse_lora()
