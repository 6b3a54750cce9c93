"""Captioned sample grids (``python -m generation.reference.grid --out docs/reference_grid.png``).

Under each caption the legibility checker's verdict (:mod:`generation.reference.legibility`),
so a reader can compare their own glance with it.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Sequence

import torch
from PIL import Image, ImageDraw, ImageFont

__all__ = ["generate", "captioned_grid", "checker_note", "main"]


def generate(pipe, prompts: Sequence[str], seed: int = 0, steps: int | None = None,
             guidance: float | None = None, batch_size: int = 16) -> list[Image.Image]:
    """One image per prompt; image ``i`` uses generator seed ``seed + i`` (batched)."""
    from .model import DEFAULT_GUIDANCE, DEFAULT_STEPS

    if not prompts:
        raise ValueError("prompts is empty")
    out: list[Image.Image] = []
    for i in range(0, len(prompts), batch_size):
        chunk = list(prompts[i:i + batch_size])
        gens = [torch.Generator().manual_seed(seed + i + j) for j in range(len(chunk))]
        out += pipe(chunk, num_inference_steps=steps or DEFAULT_STEPS,
                    guidance_scale=DEFAULT_GUIDANCE if guidance is None else guidance,
                    generator=gens, output_type="pil").images
    return out


def captioned_grid(images: Sequence[Image.Image], captions: Sequence[str], cols: int = 6,
                   cell: int = 128, text_lines: int = 4, notes: Sequence[tuple[str, str]] | None = None
                   ) -> Image.Image:
    """Upscaled images in a grid, each with its (wrapped) caption beneath.

    ``notes``: optional ``(text, colour)`` per image, drawn on one more line under the caption.
    """
    if len(images) != len(captions) or (notes is not None and len(notes) != len(images)):
        raise ValueError(f"{len(images)} images but {len(captions)} captions"
                         + (f" and {len(notes)} notes" if notes is not None else ""))
    font = ImageFont.load_default()
    line_h = 11
    rows = (len(images) + cols - 1) // cols
    h = cell + 4 + (text_lines + (notes is not None)) * line_h
    canvas = Image.new("RGB", (cols * (cell + 8), rows * (h + 8)), "white")
    draw = ImageDraw.Draw(canvas)
    for k, (im, cap) in enumerate(zip(images, captions)):
        x, y = (k % cols) * (cell + 8) + 4, (k // cols) * (h + 8) + 4
        canvas.paste(im.convert("RGB").resize((cell, cell), Image.NEAREST), (x, y))
        for j, line in enumerate(textwrap.wrap(cap, width=cell // 6)[:text_lines]):
            draw.text((x, y + cell + 2 + j * line_h), line, fill="black", font=font)
        if notes is not None:
            draw.text((x, y + cell + 2 + text_lines * line_h), notes[k][0], fill=notes[k][1], font=font)
    return canvas


def checker_note(image: Image.Image, caption: str) -> tuple[str, str]:
    """The legibility checker's verdict on one image as a grid note: ``("checker: ok", green)`` or what is wrong
    (``("wrong shape count", red)``)."""
    from .legibility import read_image

    r = read_image(image, caption)
    wrong = [k for k in ("shape", "colour", "count") if not getattr(r, k)]
    return ("checker: ok", "darkgreen") if not wrong else ("wrong " + " ".join(wrong), "red")


def main(argv: list[str] | None = None) -> None:
    from . import world
    from .model import DEFAULT_PIPELINE, load_pipeline

    p = argparse.ArgumentParser(description="4-step samples of the reference model with captions")
    p.add_argument("--out", type=Path, default=Path("docs/reference_grid.png"))
    p.add_argument("--pipeline", type=Path, default=DEFAULT_PIPELINE)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--guidance", type=float, default=None)
    p.add_argument("--scheduler", choices=["lcm", "tcd"], default=None)
    p.add_argument("--n", type=int, default=24)
    p.add_argument("--heldout", type=int, default=6, help="how many of the n prompts are held-out")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    pipe = load_pipeline(a.pipeline, scheduler=a.scheduler)
    prompts = [s.caption for s in world.sample_scenes(a.n - a.heldout, seed=777)]
    prompts += world.heldout_prompts(a.heldout, seed=4321)
    images = generate(pipe, prompts, seed=a.seed, steps=a.steps, guidance=a.guidance)
    caps = [c + (" [held-out]" if k >= a.n - a.heldout else "") for k, c in enumerate(prompts)]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    notes = [checker_note(im, c) for im, c in zip(images, prompts)]
    captioned_grid(images, caps, cell=max(150, images[0].width * 2), notes=notes).save(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
