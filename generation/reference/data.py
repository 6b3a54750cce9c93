"""Rendered datasets of the shapes world, cached under ``var/reference/``.

Datasets are never committed: they are re-rendered deterministically from
their seed whenever the cache is missing (about a millisecond per image).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import world

__all__ = ["CACHE_DIR", "load_dataset", "to_tensor"]

CACHE_DIR = Path(__file__).resolve().parents[2] / "var" / "reference"


def load_dataset(n: int, seed: int, split: str = "train", cache_dir: Path | None = None,
                 size: int = world.IMAGE_SIZE) -> tuple[np.ndarray, list[str]]:
    """``(images uint8 [n, size, size, 3], captions)``, rendered once then read from cache."""
    cache = Path(cache_dir or CACHE_DIR)
    path = cache / f"{split}_{n}_{seed}_{size}px.npz"
    if path.exists():
        z = np.load(path)
        return z["images"], json.loads(str(z["captions"]))
    images, captions = world.make_dataset(n, seed, split, size=size, progress=True)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, images=images, captions=np.array(json.dumps(captions)))
    tmp.replace(path)
    return images, captions


def to_tensor(images: np.ndarray):
    """uint8 ``[n, h, w, 3]`` -> float tensor ``[n, 3, h, w]`` in [-1, 1]."""
    import torch

    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
