#!/usr/bin/env python
"""Draw a small demo study bundle (contract section 1) with PIL: a stand-in, not model output.

Eight simple prompts are drawn as flat scenes, two seeds each (the seed moves things
around). Three "systems" are the same drawing degraded by different amounts, so the
demo study has visible differences to vote on:

- ``fp16``: the clean drawing;
- ``w4a8``: strong colour quantization, noise and a colour cast (mimics a badly quantized model);
- ``w4a8-qsched``: milder quantization and noise (mimics the corrected trajectory).

Nothing here comes from a diffusion model; the manifest and the system labels say so.

Usage::

    python scripts/make_demo_bundle.py --out var/demo-bundle
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps
from tqdm import tqdm

SIZE = 256
SEEDS = (0, 1)
NOTE = "drawn stand-in by scripts/make_demo_bundle.py, not the output of a diffusion model"

PROMPTS = [
    ("p0001", "a red sun setting over green hills"),
    ("p0002", "a small blue house with a red door"),
    ("p0003", "three yellow balloons in a clear blue sky"),
    ("p0004", "a snowman in a field at night"),
    ("p0005", "a sailboat on a calm sea at sunset"),
    ("p0006", "a tree with orange leaves in autumn"),
    ("p0007", "a purple flower in a terracotta pot"),
    ("p0008", "a lighthouse on a rocky coast"),
]

SYSTEMS = [
    {"id": "fp16", "label": "FP16 reference (drawn stand-in)",
     "config": {"note": NOTE, "degradation": "none"}},
    {"id": "w4a8", "label": "W4A8, no correction (drawn stand-in)",
     "config": {"note": NOTE, "degradation": "posterize 2 bits, noise sd 28, colour cast"}},
    {"id": "w4a8-qsched", "label": "W4A8 + Q-Sched (drawn stand-in)",
     "config": {"note": NOTE, "degradation": "posterize 4 bits, noise sd 10"}},
]


def _sky(draw: ImageDraw.ImageDraw, top, bottom, height: int) -> None:
    for y in range(height):
        t = y / max(height - 1, 1)
        draw.line([(0, y), (SIZE, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))


def _scene(prompt_id: str, rng: random.Random) -> Image.Image:
    """Draw the clean picture for one prompt; ``rng`` (seeded) places its parts."""
    img = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    d = ImageDraw.Draw(img)
    jx, jy = rng.randint(-30, 30), rng.randint(-15, 15)
    if prompt_id == "p0001":
        _sky(d, (250, 170, 90), (255, 230, 170), SIZE)
        d.ellipse([100 + jx, 60 + jy, 160 + jx, 120 + jy], fill=(220, 40, 30))
        d.ellipse([-60, 150, 160, 330], fill=(60, 150, 60))
        d.ellipse([90, 170, 330, 340], fill=(40, 120, 50))
    elif prompt_id == "p0002":
        _sky(d, (150, 200, 250), (220, 240, 255), 180)
        d.rectangle([0, 180, SIZE, SIZE], fill=(110, 180, 90))
        d.rectangle([70 + jx, 110, 190 + jx, 200], fill=(60, 100, 200))
        d.polygon([(55 + jx, 112), (130 + jx, 50 + jy), (205 + jx, 112)], fill=(90, 60, 50))
        d.rectangle([118 + jx, 150, 142 + jx, 200], fill=(200, 30, 30))
    elif prompt_id == "p0003":
        _sky(d, (70, 140, 230), (170, 210, 250), SIZE)
        for i in range(3):
            x, y = 50 + 65 * i + rng.randint(-10, 10), 70 + rng.randint(-25, 25)
            d.line([(x + 20, y + 55), (x + 20 + rng.randint(-10, 10), y + 140)], fill=(80, 80, 80), width=2)
            d.ellipse([x, y, x + 40, y + 55], fill=(245, 210, 40))
    elif prompt_id == "p0004":
        _sky(d, (10, 15, 50), (40, 50, 100), SIZE)
        d.rectangle([0, 190, SIZE, SIZE], fill=(230, 235, 245))
        for _ in range(30):
            x, y = rng.randint(0, SIZE), rng.randint(0, 180)
            d.point((x, y), fill=(255, 255, 220))
        cx = 128 + jx
        d.ellipse([cx - 45, 140, cx + 45, 225], fill=(250, 250, 255))
        d.ellipse([cx - 30, 90, cx + 30, 150], fill=(250, 250, 255))
        d.polygon([(cx, 118), (cx + 22, 122), (cx, 126)], fill=(240, 130, 30))
    elif prompt_id == "p0005":
        _sky(d, (250, 120, 80), (250, 200, 140), 150)
        d.rectangle([0, 150, SIZE, SIZE], fill=(40, 80, 140))
        d.ellipse([150 + jx, 110, 210 + jx, 170], fill=(255, 200, 60))
        d.rectangle([0, 150, SIZE, SIZE], fill=(40, 80, 140))
        bx = 80 + jx
        d.polygon([(bx - 40, 170), (bx + 50, 170), (bx + 35, 190), (bx - 25, 190)], fill=(120, 70, 40))
        d.polygon([(bx + 5, 165), (bx + 5, 80 + jy), (bx + 50, 165)], fill=(250, 250, 245))
    elif prompt_id == "p0006":
        _sky(d, (180, 210, 240), (235, 240, 250), SIZE)
        d.rectangle([0, 200, SIZE, SIZE], fill=(150, 120, 70))
        tx = 128 + jx
        d.rectangle([tx - 12, 130, tx + 12, 210], fill=(100, 60, 30))
        for _ in range(14):
            x, y = tx + rng.randint(-70, 70), 95 + rng.randint(-50, 45)
            r = rng.randint(18, 32)
            d.ellipse([x - r, y - r, x + r, y + r], fill=(230, 120 + rng.randint(-20, 30), 30))
    elif prompt_id == "p0007":
        d.rectangle([0, 0, SIZE, SIZE], fill=(240, 235, 225))
        px = 128 + jx
        d.line([(px, 170), (px, 100)], fill=(40, 130, 50), width=5)
        for k in range(6):
            ox, oy = [(0, -28), (26, -10), (17, 22), (-17, 22), (-26, -10), (0, 0)][k]
            d.ellipse([px + ox - 18, 85 + oy - 18, px + ox + 18, 85 + oy + 18],
                      fill=(140, 60, 180) if k < 5 else (250, 220, 80))
        d.polygon([(px - 45, 165), (px + 45, 165), (px + 32, 235), (px - 32, 235)], fill=(200, 100, 60))
    else:  # p0008
        _sky(d, (120, 170, 220), (200, 225, 245), 170)
        d.rectangle([0, 170, SIZE, SIZE], fill=(30, 70, 120))
        d.polygon([(0, 200), (90, 150), (170, 190), (SIZE, 210), (SIZE, SIZE), (0, SIZE)], fill=(100, 95, 90))
        lx = 100 + jx
        d.polygon([(lx - 18, 160), (lx + 18, 160), (lx + 10, 60), (lx - 10, 60)], fill=(245, 245, 245))
        for y in (80, 115, 145):
            d.rectangle([lx - 16, y, lx + 16, y + 12], fill=(210, 40, 40))
        d.rectangle([lx - 12, 45, lx + 12, 60], fill=(250, 230, 90))
    return img


def _degrade(img: Image.Image, system: str, rng: random.Random) -> Image.Image:
    """Apply the system's stand-in degradation (deterministic given ``rng``)."""
    if system == "fp16":
        return img
    bits, noise_sd, cast = (2, 28, (18, -6, -14)) if system == "w4a8" else (4, 10, (0, 0, 0))
    out = ImageOps.posterize(img, bits)
    # Seeded noise (PIL's effect_noise uses the C library's unseeded rand()).
    noise_rng = np.random.default_rng(rng.getrandbits(64))
    grey = np.clip(noise_rng.normal(128.0, noise_sd, (SIZE, SIZE)), 0, 255).astype(np.uint8)
    noise = Image.fromarray(grey).convert("RGB")
    out = Image.blend(out, noise, 0.18 if system == "w4a8" else 0.06)
    r, g, b = out.split()
    r, g, b = (ch.point(lambda v, c=c: max(0, min(255, v + c))) for ch, c in zip((r, g, b), cast))
    out = Image.merge("RGB", (r, g, b))
    if system == "w4a8":
        out = out.filter(ImageFilter.GaussianBlur(radius=1.2 + rng.random()))
    return out


def build_demo_bundle(out_dir: Path, *, seeds: tuple[int, ...] = SEEDS) -> Path:
    """Write the drawn demo bundle into ``out_dir`` (replacing it) and return the directory.

    Parameters
    ----------
    out_dir : Path
        Target directory; removed first if it exists.
    seeds : tuple of int
        Seeds drawn per prompt and system.

    Returns
    -------
    Path
        ``out_dir``, now holding ``manifest.json`` and ``images/<system>/<prompt>_s<seed>.png``.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    images = []
    jobs = [(p, s, sys_) for p in PROMPTS for s in seeds for sys_ in SYSTEMS]
    for (prompt_id, _text), seed, system in tqdm(jobs, desc="drawing demo images", unit="img", leave=False):
        scene = _scene(prompt_id, random.Random(f"{prompt_id}/{seed}"))  # same scene for every system
        picture = _degrade(scene, system["id"], random.Random(f"{prompt_id}/{seed}/{system['id']}"))
        rel = f"images/{system['id']}/{prompt_id}_s{seed}.png"
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        picture.save(out_dir / rel)
        images.append({"system": system["id"], "prompt": prompt_id, "seed": seed, "path": rel,
                       "sha256": hashlib.sha256((out_dir / rel).read_bytes()).hexdigest()})
    manifest = {
        "format": "qsched-bundle/1",
        "name": "demo-drawn-stand-in",
        "note": NOTE,
        "systems": [{**system, "metrics": {}} for system in SYSTEMS],
        "prompts": [{"id": key, "text": text} for key, text in PROMPTS],
        "images": images,
        "comparisons": [{"a": "w4a8-qsched", "b": "w4a8"}, {"a": "w4a8-qsched", "b": "fp16"},
                        {"a": "w4a8", "b": "fp16"}],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write (replaced if it exists)")
    args = parser.parse_args(argv)
    out = build_demo_bundle(args.out)
    print(f"demo bundle written to {out} ({len(PROMPTS)} prompts x {len(SYSTEMS)} systems x {len(SEEDS)} seeds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
