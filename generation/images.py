"""Running a pipeline reproducibly, and a small on-disk image cache."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

__all__ = ["generate_images", "resolve_pipeline", "stock_scheduler", "ImageCache", "ensure_writable_dir", "sha256_file"]


def resolve_pipeline(pipe_or_factory):
    """The pipeline itself, or what a zero-argument factory returns.

    The one rule for "is this a pipeline or a factory": an object with
    ``components`` (every diffusers ``DiffusionPipeline``, and wrappers that
    forward attribute access to one) is a pipeline; anything else must be a
    callable that builds one.
    """
    if hasattr(pipe_or_factory, "components"):
        return pipe_or_factory
    if not callable(pipe_or_factory):
        raise TypeError(f"expected a diffusers pipeline or a factory building one, got {type(pipe_or_factory).__name__}")
    return pipe_or_factory()


def stock_scheduler(pipe):
    """The pipeline's scheduler without any Q-Sched wrapper."""
    from generation.qsched import QSched

    sched = pipe.scheduler
    return sched.scheduler if isinstance(sched, QSched) else sched


def generate_images(pipe, prompts: Sequence[str], seeds: Sequence[int], *, num_inference_steps: int,
                    guidance_scale: float | None = None, height: int | None = None, width: int | None = None,
                    device: str | None = None, **pipe_kwargs) -> list[Image.Image]:
    """Generate one image per (prompt, seed) in one batched pipeline call.

    Each image gets its own ``torch.Generator`` seeded with its seed, so its
    initial noise (and any ancestral noise) depends on the seed only, not on
    the batch it is in or on the system that runs it.
    """
    if len(prompts) != len(seeds):
        raise ValueError(f"got {len(prompts)} prompts but {len(seeds)} seeds")
    if not prompts:
        return []
    gen_device = device or "cpu"
    kwargs = dict(prompt=list(prompts), num_inference_steps=num_inference_steps, output_type="pil",
                  generator=[torch.Generator(gen_device).manual_seed(int(s)) for s in seeds], **pipe_kwargs)
    if guidance_scale is not None:
        kwargs["guidance_scale"] = guidance_scale
    if height is not None:
        kwargs["height"] = height
    if width is not None:
        kwargs["width"] = width
    with torch.no_grad():
        return list(pipe(**kwargs).images)


def ensure_writable_dir(path, what: str = "output directory") -> Path:
    """Create ``path`` if needed and check that files can be written in it.

    Raises
    ------
    ValueError
        Naming the directory and the reason when it cannot be used.
    """
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ValueError(f"{what} {str(p)!r} is not writable: {exc.strerror or exc}") from None
    return p


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_png_atomic(image: Image.Image, path: Path) -> None:
    """Write a PNG so that an interrupted write never leaves a truncated file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    image.save(tmp, format="PNG")
    os.replace(tmp, path)


class ImageCache:
    """Calibration images on disk, keyed by (context, coefficients, prompt, seed).

    Parameters
    ----------
    root : path
        Cache directory (created; must be writable).
    context : str
        What else determines the image: model, quantization, steps, guidance,
        size. Use one context (or directory) per model setup.
    """

    def __init__(self, root, context: str = ""):
        self.root = ensure_writable_dir(root, "cache directory")
        self.context = context
        self.hits = self.misses = 0

    def path(self, c_x, c_theta, prompt: str, seed: int) -> Path:
        key = json.dumps({"context": self.context, "c_x": c_x, "c_theta": c_theta, "prompt": prompt,
                          "seed": int(seed)}, sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.root / digest[:2] / f"{digest}.png"

    def get(self, c_x, c_theta, prompt: str, seed: int) -> Image.Image | None:
        p = self.path(c_x, c_theta, prompt, seed)
        if p.is_file():
            try:
                with Image.open(p) as im:
                    im.load()
                    self.hits += 1
                    return im.copy()
            except OSError:
                p.unlink(missing_ok=True)  # unreadable: regenerate
        self.misses += 1
        return None

    def put(self, image: Image.Image, c_x, c_theta, prompt: str, seed: int) -> None:
        save_png_atomic(image, self.path(c_x, c_theta, prompt, seed))
