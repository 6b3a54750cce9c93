"""The reference text-to-image model: components built from diffusers /
transformers classes and assembled into a standard ``StableDiffusionPipeline``.

* ``AutoencoderKL``: 64x64 RGB <-> 16x16x4 latents (three levels, factor 4; trained on the world);
* ``CLIPTextModel``: a 2-layer, 64-wide text encoder with the offline
  word-level tokenizer of :mod:`generation.reference.tokenizer`;
* ``UNet2DConditionModel``: v-prediction, cross-attention at 8x8 and 4x4;
* ``LCMScheduler`` (4 steps) by default; ``TCDScheduler`` works too.

Two pipelines are shipped, each a folder that loads with
``DiffusionPipeline.from_pretrained(folder)``, offline, like any diffusers pipeline:

* ``weights/teacher``: the undistilled v-prediction model trained by
  :mod:`generation.reference.train_diffusion`;
* ``weights/student``: the few-step student distilled from it by
  :mod:`generation.reference.train` (4-phase PCM-style, stored in float16), the
  **testbed** (:data:`DEFAULT_PIPELINE`): results, the demo, the grid, the
  legibility checker and the simulated crowd use it unless told otherwise.

Each folder also holds the Q-Sched coefficients calibrated on it (``qsched.json``,
:mod:`generation.reference.coefficients`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

__all__ = [
    "CONFIG_DIR",
    "DEFAULT_PIPELINE",
    "TEACHER_PIPELINE",
    "STUDENT_PIPELINE",
    "DEFAULT_STEPS",
    "DEFAULT_GUIDANCE",
    "build_vae",
    "build_unet",
    "build_text_encoder",
    "build_scheduler",
    "assemble_pipeline",
    "load_pipeline",
]

CONFIG_DIR = Path(__file__).parent / "configs"
TEACHER_PIPELINE = Path(__file__).parent / "weights" / "teacher"
STUDENT_PIPELINE = Path(__file__).parent / "weights" / "student"
#: The testbed: the distilled student.
DEFAULT_PIPELINE = STUDENT_PIPELINE
DEFAULT_STEPS = 4
DEFAULT_GUIDANCE = 1.0


def _cfg(name: str) -> dict:
    return json.loads((CONFIG_DIR / name).read_text())


def build_vae():
    """Untrained ``AutoencoderKL`` from ``configs/vae.json``."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(**_cfg("vae.json"))


def build_unet():
    """Untrained ``UNet2DConditionModel`` from ``configs/unet.json``."""
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(**_cfg("unet.json"))


def build_text_encoder():
    """Untrained ``CLIPTextModel`` from ``configs/text_encoder.json`` sized to the world's vocabulary."""
    from transformers import CLIPTextConfig, CLIPTextModel

    from .tokenizer import vocab

    v = vocab()
    cfg = CLIPTextConfig(vocab_size=len(v), pad_token_id=v["<pad>"], bos_token_id=v["<bos>"],
                         eos_token_id=v["<eot>"], **_cfg("text_encoder.json"))
    return CLIPTextModel(cfg)


def build_scheduler(kind: str = "lcm"):
    """The few-step scheduler with the training noise schedule: ``"lcm"``, ``"tcd"``, or ``"ddim"``
    (deterministic DDIM with trailing timesteps, ``999, 749, 499, 249`` for 4 steps: the phase edges a
    PCM-style phased student is trained on)."""
    from diffusers import DDIMScheduler, LCMScheduler, TCDScheduler

    s = _cfg("train.json")["scheduler"]
    kw = dict(num_train_timesteps=s["num_train_timesteps"], beta_start=s["beta_start"],
              beta_end=s["beta_end"], beta_schedule=s["beta_schedule"],
              prediction_type=_cfg("train.json")["unet"]["prediction_type"], clip_sample=False, steps_offset=1)
    if kind == "ddim":  # (trailing spacing does not use steps_offset; 1 keeps the pipeline from rewriting it)
        return DDIMScheduler(**kw, timestep_spacing="trailing", set_alpha_to_one=True)
    kw |= dict(original_inference_steps=s["original_inference_steps"])
    if kind == "lcm":
        return LCMScheduler(**kw)
    if kind == "tcd":
        return TCDScheduler(**kw)
    raise ValueError(f"scheduler kind must be 'lcm', 'tcd' or 'ddim', got {kind!r}")


def assemble_pipeline(vae, text_encoder, tokenizer, unet, scheduler=None):
    """A ``StableDiffusionPipeline`` (no safety checker) from the components."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=scheduler or build_scheduler("lcm"), safety_checker=None,
        feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def load_pipeline(path: str | Path = DEFAULT_PIPELINE, scheduler: str | None = None,
                  dtype: torch.dtype = torch.float32):
    """Load the shipped (or a retrained) reference pipeline from a local folder, offline.

    Parameters
    ----------
    path : folder written by ``train_diffusion`` (default: the shipped weights).
    scheduler : ``None`` keeps the saved one; ``"lcm"``, ``"tcd"`` or ``"ddim"`` swaps it.
    dtype : torch dtype of the weights (float32 on CPU).
    """
    from diffusers import DiffusionPipeline

    path = Path(path)
    if not (path / "model_index.json").exists():
        raise FileNotFoundError(
            f"no reference pipeline at {path} (model_index.json missing); train it with "
            "`python -m generation.reference.train_diffusion`")
    pipe = DiffusionPipeline.from_pretrained(path, dtype=dtype, local_files_only=True)
    if scheduler is not None:
        pipe.scheduler = build_scheduler(scheduler)
    pipe.set_progress_bar_config(disable=True)
    return pipe
