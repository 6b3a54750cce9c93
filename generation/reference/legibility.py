"""Does an image read as its caption? A deterministic geometric checker for the shapes world.

It reads an image the way a person glances at it, with no learned model:

1. **Colours.** The background is the median colour of the image's border.
   Every pixel is explained as a blend ``background + a * (colour - background)``
   of the background with one of the world's six shape colours (the one with the
   smallest residual); it belongs to that colour when ``a >= 0.5``. Anti-aliased
   edges are blends, so they do not turn into specks of a third colour.
2. **Blobs.** Each colour's pixels split into 8-connected blobs; blobs smaller
   than :data:`MIN_AREA` of the image (about 40% of the smallest shape) are specks
   and ignored. A blob counts as ``floor(long side / short side + 0.45)`` shapes of
   its bounding box (shapes of a group stand in a row, so touching shapes make an
   elongated blob: two shapes about 1.9-2.5 times as long as high, three 2.6-3.1)
   and is cut into that many equal parts along its long side.
3. **Shapes.** Each part is compared with three templates fitted to its bounding
   box, a full box (square), the inscribed ellipse (circle) and an isosceles
   triangle with its point up or down; it reads as the template with the highest
   intersection over union. Squares have corners, triangles points, circles neither.

Against the caption (:func:`generation.reference.world.parse_caption`), a blob
belongs to the group of its colour; when no group or both groups have its colour,
to the group on its side of the frame along the caption's relation (so the three
judgements are separate: a shape in the wrong colour still counts for its group's
count and shape). Then

* **colour** is right when the blobs' colours are exactly the caption's colours;
* **count** is right when every group has exactly its number of shapes;
* **shape** is right when every shape of every group reads as the group's shape.

Usage::

    python -m generation.reference.legibility                 # the shipped model, 48 held-out prompts x 3 seeds
    python -m generation.reference.legibility --world         # the world's own renders (the checker's ceiling)
    python -m generation.reference.legibility --split train   # training-distribution prompts instead
    python -m generation.reference.legibility --pipeline DIR --steps 2 --out var/legibility.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import world

__all__ = ["MIN_AREA", "Blob", "Reading", "find_blobs", "read_shape", "read_image", "check", "scorer_view", "main"]

MIN_AREA = 0.007  # fraction of the image; the smallest shape (a small triangle) covers 0.0178
_PALETTE = np.array(list(world.COLOURS.values()), dtype=np.float32)
_NAMES = list(world.COLOURS)


@dataclass(frozen=True)
class Blob:
    """One connected region of one colour: its pixels (``mask``, cropped to ``box``) and shape count."""

    colour: str
    box: tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive)
    mask: np.ndarray
    count: int

    @property
    def centre(self) -> tuple[float, float]:
        """(y, x) of the bounding box's centre, in pixels."""
        y0, x0, y1, x1 = self.box
        return (y0 + y1) / 2, (x0 + x1) / 2

    def parts(self) -> list[np.ndarray]:
        """The blob cut into ``count`` equal parts along its long side (each cropped to its pixels)."""
        if self.count == 1:
            return [self.mask]
        axis = 1 if self.mask.shape[1] >= self.mask.shape[0] else 0
        edges = np.linspace(0, self.mask.shape[axis], self.count + 1).round().astype(int)
        parts = [np.take(self.mask, range(a, b), axis=axis) for a, b in zip(edges[:-1], edges[1:])]
        return [_crop(p) for p in parts if p.any()]


@dataclass(frozen=True)
class Reading:
    """What the checker read in one image, against its caption."""

    caption: str
    shape: bool
    colour: bool
    count: bool
    seen: str  # e.g. "red: square square | blue: circle", blobs in reading order

    @property
    def all(self) -> bool:
        return self.shape and self.colour and self.count


def _crop(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _as_array(image) -> np.ndarray:
    arr = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an RGB image [h, w, 3], got shape {arr.shape}")
    return arr.astype(np.float32)


def _colour_labels(img: np.ndarray) -> np.ndarray:
    """Per pixel: index into the world's colours, or -1 for background (see the module's step 1)."""
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    bg = np.median(border, axis=0)
    p = img - bg                                    # [h, w, 3]
    d = _PALETTE - bg                               # [6, 3]
    a = np.clip(np.einsum("hwc,kc->hwk", p, d) / np.maximum((d * d).sum(1), 1e-6), 0, 1)
    resid = ((p[:, :, None, :] - a[..., None] * d) ** 2).sum(-1)
    best = resid.argmin(-1)
    alpha = np.take_along_axis(a, best[..., None], -1)[..., 0]
    return np.where(alpha >= 0.5, best, -1)


def find_blobs(image) -> list[Blob]:
    """The image's shape-sized blobs, by colour, in a fixed order (colour, then top-left)."""
    from scipy import ndimage

    img = _as_array(image)
    labels = _colour_labels(img)
    min_px = MIN_AREA * img.shape[0] * img.shape[1]
    blobs = []
    for k, name in enumerate(_NAMES):
        comp, _ = ndimage.label(labels == k, structure=np.ones((3, 3), dtype=int))
        for i, sl in enumerate(ndimage.find_objects(comp), start=1):
            mask = comp[sl] == i
            if mask.sum() < min_px:
                continue
            h, w = mask.shape
            count = max(1, int(max(h, w) / min(h, w) + 0.45))
            blobs.append(Blob(name, (sl[0].start, sl[1].start, sl[0].stop, sl[1].stop), mask, count))
    return blobs


def _templates(h: int, w: int) -> dict[str, np.ndarray]:
    ys = (np.arange(h) + 0.5)[:, None] / h          # 0..1 top to bottom
    xs = (np.arange(w) + 0.5)[None, :] / w
    up = np.abs(xs - 0.5) <= ys / 2
    return {"square": np.ones((h, w), dtype=bool),
            "circle": (xs - 0.5) ** 2 + (ys - 0.5) ** 2 <= 0.25,
            "triangle": up, "triangle-down": up[::-1]}


def read_shape(mask: np.ndarray) -> str:
    """``"circle"``, ``"square"`` or ``"triangle"``: the template best matching a blob's pixels (IoU)."""
    mask = _crop(mask)
    best, best_iou = "square", -1.0
    for name, t in _templates(*mask.shape).items():
        iou = (mask & t).sum() / (mask | t).sum()
        if iou > best_iou:
            best, best_iou = name, iou
    return best.removesuffix("-down")


def _group_of(blob: Blob, scene: world.Scene, size: int) -> int:
    """Index of the caption group a blob belongs to: the one of its colour, else the one on its side.

    The side is the half of the frame along the caption's relation (``above``: group 0 is the
    upper half), so a shape drawn in a wrong colour still counts for its group's count and shape.
    """
    same = [i for i, g in enumerate(scene.groups) if g.colour == blob.colour]
    if len(same) == 1 or len(scene.groups) == 1:
        return same[0] if same else 0
    y, x = blob.centre
    first_side = {"above": y < size / 2, "below": y >= size / 2,
                  "left of": x < size / 2, "right of": x >= size / 2}[scene.relation]
    return 0 if first_side else 1


def read_image(image, caption: str) -> Reading:
    """Check one image against its caption (see the module docstring for the three rules)."""
    scene = world.parse_caption(caption)
    blobs = find_blobs(image)
    size = _as_array(image).shape[0]
    shapes: list[list[str]] = [[] for _ in scene.groups]
    for b in blobs:
        shapes[_group_of(b, scene, size)] += [read_shape(p) for p in b.parts()]
    colour = {b.colour for b in blobs} == {g.colour for g in scene.groups}
    count = all(len(s) == g.count for s, g in zip(shapes, scene.groups))
    shape = all(s and all(x == g.shape for x in s) for s, g in zip(shapes, scene.groups))
    seen = " | ".join(f"{b.colour}: " + " ".join(read_shape(p) for p in b.parts()) for b in blobs)
    return Reading(caption, shape, colour, count, seen)


def check(images: Sequence, captions: Sequence[str]) -> dict:
    """Rates of ``shape``, ``colour``, ``count`` and ``all`` three right over paired images and captions."""
    if len(images) != len(captions):
        raise ValueError(f"got {len(images)} images but {len(captions)} captions; they are paired")
    if not captions:
        raise ValueError("nothing to check: no images")
    readings = [read_image(im, c) for im, c in zip(images, captions)]
    rates = {k: float(np.mean([getattr(r, k) for r in readings])) for k in ("shape", "colour", "count", "all")}
    return {"n": len(readings), **rates, "readings": [asdict(r) | {"all": r.all} for r in readings]}


def _generated(pipeline: Path, prompts, seeds, steps: int, guidance: float) -> list:
    from generation.images import generate_images

    from .model import load_pipeline

    pipe = load_pipeline(pipeline)
    images = []
    for s in seeds:
        images += generate_images(pipe, list(prompts), [s] * len(prompts), num_inference_steps=steps,
                                  guidance_scale=guidance)
    return images


def scorer_view(images: Sequence, captions: Sequence[str], readings: Sequence[dict], n_prompts: int) -> dict:
    """The world scorer on the same images: how often it ranks an image's own caption first among the
    ``n_prompts`` prompts (images come in blocks of ``n_prompts``, one block per seed), overall and
    separately for the images the checker passes and fails, with their mean CLIPScore."""
    import torch

    from .scorer import load_scorer

    scorer = load_scorer()
    prompts = list(captions[:n_prompts])
    sim = scorer.similarity(images, prompts)
    own = torch.arange(len(images)) % n_prompts
    top1 = (sim.argmax(1) == own).numpy()
    clip = scorer.clip_score(images, list(captions)).numpy()
    ok = np.array([r["all"] for r in readings])
    view = {"scorer_top1": float(top1.mean())}
    for name, sel in (("checker_ok", ok), ("checker_wrong", ~ok)):
        view[f"scorer_top1_{name}"] = float(top1[sel].mean()) if sel.any() else None
        view[f"clip_score_{name}"] = float(clip[sel].mean()) if sel.any() else None
    return view


def main(argv: list[str] | None = None) -> None:
    from .model import DEFAULT_GUIDANCE, DEFAULT_PIPELINE, DEFAULT_STEPS

    p = argparse.ArgumentParser(description="Geometric legibility check on held-out prompts")
    p.add_argument("--pipeline", type=Path, default=DEFAULT_PIPELINE)
    p.add_argument("--world", action="store_true", help="check the world's own renders instead of a model's")
    p.add_argument("--size", type=int, default=world.IMAGE_SIZE, help="render size with --world")
    p.add_argument("--prompts", type=int, default=48)
    p.add_argument("--split", choices=["heldout", "train"], default="heldout",
                   help="held-out prompts (those of results.py) or training-distribution ones")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    p.add_argument("--guidance", type=float, default=DEFAULT_GUIDANCE)
    p.add_argument("--out", type=Path, default=None, help="write every reading as JSON here")
    a = p.parse_args(argv)
    scenes = world.distinct_scenes(a.prompts, 1234, a.split)  # held-out: the prompts of results.py
    prompts = [s.caption for s in scenes]
    if a.world:
        images = [world.render(sc, np.random.default_rng([s, i]), a.size)
                  for s in a.seeds for i, sc in enumerate(scenes)]
    else:
        images = _generated(a.pipeline, prompts, a.seeds, a.steps, a.guidance)
    result = check(images, prompts * len(a.seeds))
    result |= scorer_view(images, prompts * len(a.seeds), result["readings"], len(prompts))
    result |= {"source": "world renders" if a.world else str(a.pipeline), "split": a.split,
               "steps": None if a.world else a.steps,
               "seeds": a.seeds, "image_size": int(_as_array(images[0]).shape[0])}
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "readings"}, indent=1))


if __name__ == "__main__":
    main()
