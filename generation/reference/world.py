"""A procedural, captioned world of coloured shapes.

Every image is a small scene of flat shapes on a plain background, drawn with
anti-aliasing (supersampled, then box-filtered) and captioned in plain English,
for example ``"two small red circles above a blue square on a grey background"``.
Everything is deterministic from an integer seed.

Scenes come in two kinds:

* one group: ``"<count> <size> <colour> <shape(s)> on a <bg> background"``,
  the shapes side by side in a row;
* two groups: ``"<group A> <relation> <group B> on a <bg> background"`` where
  the relation is ``above``, ``below``, ``left of`` or ``right of``.

Held-out prompts combine attributes in ways the training split never shows:
the colour/shape pairs in :data:`HELD_OUT_PAIRS` (e.g. a green triangle) never
occur in training scenes, while each colour and each shape does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BACKGROUNDS",
    "COLOURS",
    "SHAPES",
    "SIZES",
    "RELATIONS",
    "HELD_OUT_PAIRS",
    "Group",
    "Scene",
    "sample_scene",
    "sample_scenes",
    "render",
    "make_dataset",
    "distinct_scenes",
    "heldout_prompts",
    "parse_caption",
    "vocabulary",
]

IMAGE_SIZE = 64  # pixels; 32 still renders (the scorer reads 32x32), but small shapes lose their corners there
SUPERSAMPLE = 4

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (240, 210, 40),
    "purple": (140, 50, 180),
    "orange": (245, 140, 30),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (235, 235, 235),
    "grey": (128, 128, 128),
    "black": (20, 20, 20),
}
SHAPES = ("circle", "square", "triangle")
SIZES: dict[str, float] = {"small": 0.09, "large": 0.15}  # half-extent, fraction of the frame
RELATIONS = ("above", "below", "left of", "right of")
COUNT_WORDS = {1: "a", 2: "two", 3: "three"}
HELD_OUT_PAIRS = frozenset({("green", "triangle"), ("purple", "circle"), ("orange", "square")})


@dataclass(frozen=True)
class Group:
    """``count`` identical shapes of one size and colour."""

    count: int
    size: str
    colour: str
    shape: str

    def phrase(self) -> str:
        noun = self.shape if self.count == 1 else self.shape + "s"
        return f"{COUNT_WORDS[self.count]} {self.size} {self.colour} {noun}"

    def pairs(self) -> tuple[str, str]:
        return (self.colour, self.shape)


@dataclass(frozen=True)
class Scene:
    """A scene: one or two groups, an optional relation, a background."""

    groups: tuple[Group, ...]
    background: str
    relation: str | None = None

    @property
    def caption(self) -> str:
        if len(self.groups) == 1:
            body = self.groups[0].phrase()
        else:
            body = f"{self.groups[0].phrase()} {self.relation} {self.groups[1].phrase()}"
        return f"{body} on a {self.background} background"

    def is_held_out(self) -> bool:
        return any(g.pairs() in HELD_OUT_PAIRS for g in self.groups)


def _parse_group(words: list[str]) -> Group:
    count_of = {w: n for n, w in COUNT_WORDS.items()}
    if len(words) != 4 or words[0] not in count_of or words[1] not in SIZES or words[2] not in COLOURS:
        raise ValueError(f"not a group phrase: {' '.join(words)!r}")
    count, noun = count_of[words[0]], words[3]
    shape = noun[:-1] if count > 1 and noun.endswith("s") else noun
    if shape not in SHAPES or (count > 1) != (noun != shape):
        raise ValueError(f"not a group phrase: {' '.join(words)!r}")
    return Group(count, words[1], words[2], shape)


def parse_caption(caption: str) -> Scene:
    """The :class:`Scene` a caption describes (the inverse of :attr:`Scene.caption`).

    Raises ``ValueError`` naming the caption when it is not one of this world's.
    """
    words = caption.split()
    if len(words) < 8 or words[-4:-2] != ["on", "a"] or words[-1] != "background" or words[-2] not in BACKGROUNDS:
        raise ValueError(f"not a caption of the shapes world: {caption!r}")
    body = words[:-4]
    try:
        if len(body) == 4:
            return Scene((_parse_group(body),), words[-2])
        relation = " ".join(body[4:-4])
        if relation not in RELATIONS:
            raise ValueError(f"unknown relation {relation!r}")
        return Scene((_parse_group(body[:4]), _parse_group(body[-4:])), words[-2], relation)
    except ValueError as e:
        raise ValueError(f"not a caption of the shapes world: {caption!r} ({e})") from None


def vocabulary() -> list[str]:
    """Every word a caption of this world can contain, in a fixed order."""
    words = ["a", "two", "three", "on", "background", "of"]
    words += list(SIZES) + list(COLOURS) + list(BACKGROUNDS)
    words += list(SHAPES) + [s + "s" for s in SHAPES]
    words += ["above", "below", "left", "right"]
    seen: list[str] = []
    for w in words:
        if w not in seen:
            seen.append(w)
    return seen


def _random_group(rng: np.random.Generator, max_count: int) -> Group:
    return Group(
        count=int(rng.integers(1, max_count + 1)),
        size=str(rng.choice(list(SIZES))),
        colour=str(rng.choice(list(COLOURS))),
        shape=str(rng.choice(SHAPES)),
    )


def sample_scene(rng: np.random.Generator, split: str = "train") -> Scene:
    """Draw one scene from ``split`` (``"train"`` or ``"heldout"``).

    Training scenes never contain a colour/shape pair of
    :data:`HELD_OUT_PAIRS`; held-out scenes always contain at least one.
    """
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    while True:
        background = str(rng.choice(list(BACKGROUNDS)))
        if rng.random() < 0.4:
            scene = Scene((_random_group(rng, 3),), background)
        else:
            a, b = _random_group(rng, 2), _random_group(rng, 1)
            if (a.colour, a.shape) == (b.colour, b.shape):
                continue
            scene = Scene((a, b), background, str(rng.choice(RELATIONS)))
        if scene.is_held_out() == (split == "heldout"):
            return scene


def sample_scenes(n: int, seed: int, split: str = "train") -> list[Scene]:
    """``n`` scenes drawn deterministically from ``seed``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    return [sample_scene(rng, split) for _ in range(n)]


def _layout(scene: Scene, rng: np.random.Generator) -> list[tuple[Group, float, float]]:
    """Centres (x, y) in [0, 1] of every shape, with a little random jitter."""
    out: list[tuple[Group, float, float]] = []

    def line(group: Group, cx: float, cy: float, vertical: bool, span: float) -> None:
        n = group.count
        offsets = [0.0] if n == 1 else list(np.linspace(-span / 2, span / 2, n))
        for o in offsets:
            jx, jy = rng.uniform(-0.02, 0.02, size=2)
            x, y = (cx, cy + o) if vertical else (cx + o, cy)
            out.append((group, x + jx, y + jy))

    gx, gy = rng.uniform(-0.04, 0.04, size=2)
    if len(scene.groups) == 1:
        g = scene.groups[0]
        line(g, 0.5 + gx, 0.5 + gy, vertical=False, span={1: 0.0, 2: 0.4, 3: 0.6}[g.count])
        return out
    a, b = scene.groups
    near, far = 0.28, 0.72
    if scene.relation in ("above", "below"):
        ya, yb = (near, far) if scene.relation == "above" else (far, near)
        line(a, 0.5 + gx, ya + gy, vertical=False, span=0.4)
        line(b, 0.5 + gx, yb + gy, vertical=False, span=0.4)
    else:
        xa, xb = (near, far) if scene.relation == "left of" else (far, near)
        line(a, xa + gx, 0.5 + gy, vertical=True, span=0.4)
        line(b, xb + gx, 0.5 + gy, vertical=True, span=0.4)
    return out


def _mask(shape: str, x: float, y: float, h: float, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    xs, ys = grid
    if shape == "circle":
        return (xs - x) ** 2 + (ys - y) ** 2 <= h * h
    if shape == "square":
        return (np.abs(xs - x) <= h * 0.9) & (np.abs(ys - y) <= h * 0.9)
    if shape == "triangle":  # pointing up, apex at y - h, base at y + h
        t = (ys - (y - h)) / (2 * h)  # 0 at apex, 1 at base
        return (t >= 0) & (t <= 1) & (np.abs(xs - x) <= t * h * 1.1)
    raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


_GRIDS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def render(scene: Scene, rng: np.random.Generator, size: int = IMAGE_SIZE) -> np.ndarray:
    """Draw ``scene`` as a ``(size, size, 3)`` uint8 RGB array.

    ``rng`` supplies the small position jitter, so the same scene and seed
    always give the same pixels.
    """
    if size < 8:
        raise ValueError(f"size must be >= 8 pixels, got {size}")
    hi = size * SUPERSAMPLE
    if hi not in _GRIDS:
        c = (np.arange(hi) + 0.5) / hi
        _GRIDS[hi] = (c[None, :], c[:, None])
    grid = _GRIDS[hi]
    canvas = np.empty((hi, hi, 3), dtype=np.float32)
    canvas[:] = BACKGROUNDS[scene.background]
    for group, x, y in _layout(scene, rng):
        canvas[_mask(group.shape, x, y, SIZES[group.size], grid)] = COLOURS[group.colour]
    small = canvas.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return np.clip(np.rint(small), 0, 255).astype(np.uint8)


def make_dataset(n: int, seed: int, split: str = "train", size: int = IMAGE_SIZE,
                 progress: bool = False) -> tuple[np.ndarray, list[str]]:
    """Render ``n`` scenes: returns ``(images uint8 [n, size, size, 3], captions)``."""
    scenes = sample_scenes(n, seed, split)
    rng = np.random.default_rng([seed, 1])
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    it = enumerate(scenes)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, total=n, desc=f"render {split}")
    for i, s in it:
        images[i] = render(s, rng, size)
    return images, [s.caption for s in scenes]


def distinct_scenes(n: int, seed: int, split: str = "heldout") -> list[Scene]:
    """``n`` scenes of ``split`` with pairwise different captions, deterministic from ``seed``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    seen: dict[str, Scene] = {}
    while len(seen) < n:
        s = sample_scene(rng, split)
        seen.setdefault(s.caption, s)
    return list(seen.values())


def heldout_prompts(n: int = 50, seed: int = 1234) -> list[str]:
    """``n`` distinct held-out captions (each has a colour/shape pair unseen in training)."""
    return [s.caption for s in distinct_scenes(n, seed, "heldout")]
