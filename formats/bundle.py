"""The study bundle, ``qsched-bundle/1`` (contract section 1): the one validator.

Every reader and writer checks a bundle here: generation after writing one
(``python -m generation validate``), the platform's importer (``import_bundle``,
the upload form) and the analysis (``--bundle``). Each broken rule raises
:class:`BundleError` naming the entry (``images[3]``) and the field (``sha256``);
the first rule broken is the one reported, and nothing is written by any check.

Rules of the manifest (checked by :func:`check_manifest`, no file is opened):

- ``manifest.json`` is a UTF-8 JSON object of at most :data:`MAX_MANIFEST_BYTES`,
  ``format`` is :data:`BUNDLE_FORMAT`, ``name`` (optional) a string of at most 200.
- ``systems``: a non-empty list of objects; ``id`` follows the id rule
  (:mod:`formats.ids`) and is unique; at least two systems; ``label`` (optional) a
  string of at most 200; ``config`` (optional) an object; ``metrics`` (optional,
  here and on images) an object whose values are finite numbers or null.
- ``prompts``: a non-empty list of objects with a unique ``id`` and a non-empty ``text``.
- ``images``: a non-empty list of objects; ``system`` and ``prompt`` name listed ids;
  ``seed`` an integer in [0, 2^63-1]; one image per (system, prompt, seed);
  ``path`` relative, with forward slashes, no ``..``, ending in .png, .jpg, .jpeg or
  .webp, used by one image only; ``sha256`` (optional) 64 hex digits, either case.
- ``comparisons``: ``"all-pairs"`` (the default) or a non-empty list of ``{a, b}``
  naming two different listed systems, each unordered pair once (``a/b`` and ``b/a``
  are the same pair). A listed pair needs a (prompt, seed) imaged by both systems,
  and the bundle as a whole at least one comparison.

Rules of the files (checked by :func:`load_bundle`, after the manifest): each path
exists, is a regular file and does not lead out of the bundle through a link; its
bytes match ``sha256`` when given; it decodes as PNG, JPEG or WebP (Pillow; the
content decides, not the name) of at most :data:`MAX_IMAGE_PIXELS` pixels.

The analysis needs only the manifest (metrics and pairs), so it checks the
manifest rules and not the files; generation and the importer check both.
"""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .ids import ID_RULE, is_id

__all__ = ["BUNDLE_FORMAT", "IMAGE_FORMATS", "IMAGE_SUFFIXES", "MANIFEST_NAME", "MAX_IMAGE_PIXELS",
           "MAX_MANIFEST_BYTES", "MIN_SYSTEMS", "BundleError", "BundleSpec", "ComparisonSpec", "ImageEntry", "ImageSpec",
           "ManifestSpec", "PromptSpec", "SystemSpec", "check_id", "check_manifest", "check_pairs",
           "listed_pairs", "load_bundle", "numeric_metrics", "read_manifest"]

BUNDLE_FORMAT = "qsched-bundle/1"
MANIFEST_NAME = "manifest.json"
#: Pillow format name -> the suffix an image of that format is stored under.
IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
#: Names a manifest path may end in (the decoded content decides the format).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
#: A pairwise study compares at least this many systems.
MIN_SYSTEMS = 2
MAX_SEED = 2**63 - 1
MAX_LABEL = 200
MAX_NAME = 200
#: Defaults of the limits (the platform's settings ``QSCHED_MAX_IMAGE_PIXELS`` and
#: ``QSCHED_MAX_MANIFEST_BYTES`` pass their own).
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class BundleError(ValueError):
    """A bundle that breaks a rule of contract section 1.

    Attributes
    ----------
    entry : str
        Where the problem is, e.g. ``"images[3]"``, ``"systems[0]"``, ``"manifest"``, ``"manifest.json"``.
    field : str
        Which field of that entry, e.g. ``"sha256"``, ``"path"``, ``"id"`` (empty for the entry as a whole).
    problem : str
        What is wrong, in words.
    """

    def __init__(self, entry: str, field: str, problem: str):
        self.entry = entry
        self.field = field
        self.problem = problem
        where = f"{entry}.{field}" if field else entry
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # picklable across processes (Celery, multiprocessing)
        return type(self), (self.entry, self.field, self.problem)


@dataclass(frozen=True)
class SystemSpec:
    key: str
    label: str
    metrics: dict
    config: dict


@dataclass(frozen=True)
class PromptSpec:
    key: str
    text: str


@dataclass(frozen=True)
class ImageEntry:
    """An image as the manifest describes it (no file opened)."""

    system: str
    prompt: str
    seed: int
    path: str  # as written in the manifest, relative to the bundle
    sha256: str | None  # as given, lower-cased; None when not given
    metrics: dict


@dataclass(frozen=True)
class ImageSpec:
    """An image whose file was read, hashed and decoded."""

    system: str
    prompt: str
    seed: int
    path: str  # as written in the manifest, relative to the bundle
    file: Path  # resolved absolute path of the validated file
    suffix: str  # ".png" / ".jpg" / ".webp", from the decoded format
    sha256: str  # of the file's bytes (checked against the manifest when given)
    metrics: dict


@dataclass(frozen=True)
class ComparisonSpec:
    """Images of the same (prompt, seed) from the two systems of a listed pair."""

    prompt: str
    seed: int
    image_a: ImageSpec
    image_b: ImageSpec


@dataclass(frozen=True)
class ManifestSpec:
    """What a manifest describes, every manifest rule checked (files not opened)."""

    name: str
    manifest: dict
    systems: list[SystemSpec]
    prompts: list[PromptSpec]
    images: list[ImageEntry]
    pairs: list[tuple[str, str]]
    #: The pairs as listed in the manifest, None for ``"all-pairs"``.
    listed_pairs: list[tuple[str, str]] | None

    def system_metrics(self) -> dict[str, dict[str, float]]:
        """``{system id: {metric: value}}``, null metrics left out."""
        return {s.key: numeric_metrics(s.metrics) for s in self.systems}

    def image_metrics(self) -> dict[tuple[str, str, int], dict[str, float]]:
        """``{(system, prompt, seed): {metric: value}}`` for the images that have any."""
        out = {}
        for image in self.images:
            values = numeric_metrics(image.metrics)
            if values:
                out[(image.system, image.prompt, image.seed)] = values
        return out


@dataclass(frozen=True)
class BundleSpec:
    """A whole bundle, manifest and files checked."""

    root: Path
    name: str
    manifest: dict
    systems: list[SystemSpec]
    prompts: list[PromptSpec]
    images: list[ImageSpec]
    pairs: list[tuple[str, str]]
    comparisons: list[ComparisonSpec] = field(default_factory=list)


# -- entry points -----------------------------------------------------------------------------

def load_bundle(bundle_dir, *, progress: bool = False, max_manifest_bytes: int = MAX_MANIFEST_BYTES,
                max_image_pixels: int = MAX_IMAGE_PIXELS) -> BundleSpec:
    """Check the bundle in ``bundle_dir`` (manifest and files) and return what it describes.

    Parameters
    ----------
    bundle_dir : str or Path
        Directory holding ``manifest.json``.
    progress : bool
        Show a tqdm progress bar while the image files are checked (command line use).
    max_manifest_bytes, max_image_pixels : int
        Limits on the manifest's size and on each image's width x height.

    Returns
    -------
    BundleSpec
        Systems, prompts, images (each file read, hashed and decoded once) and the
        comparisons formed from the pairs.

    Raises
    ------
    BundleError
        On the first broken rule (see the module docstring); reading writes nothing.
    """
    root = Path(bundle_dir)
    if not root.is_dir():
        raise BundleError("bundle", "directory", f"{str(root)!r} is not a directory")
    root = root.resolve()
    manifest_path = root / MANIFEST_NAME
    if manifest_path.is_file() or manifest_path.is_symlink():
        _inside(root, manifest_path, MANIFEST_NAME, "")
    spec = _manifest_spec(read_manifest(manifest_path, max_bytes=max_manifest_bytes))
    images = _check_files(spec.images, root, progress, max_image_pixels)
    _check_pairs_have_images(spec.pairs, images, explicit=spec.listed_pairs is not None)
    return BundleSpec(root=root, name=spec.name or root.name, manifest=spec.manifest, systems=spec.systems,
                      prompts=spec.prompts, images=images, pairs=spec.pairs,
                      comparisons=_comparisons(spec.pairs, images))


def read_manifest(path, *, max_bytes: int = MAX_MANIFEST_BYTES) -> dict:
    """The JSON object in ``path`` (a ``manifest.json``, or a bundle directory holding one).

    Raises
    ------
    BundleError
        Missing, too large, not UTF-8, not JSON, nested too deeply, not an object, or
        another ``format`` than :data:`BUNDLE_FORMAT`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise BundleError(MANIFEST_NAME, "", f"not found ({path})")
    size = path.stat().st_size
    if size > max_bytes:
        raise BundleError(MANIFEST_NAME, "", f"is {size} bytes, over the limit of {max_bytes} bytes "
                                             "(QSCHED_MAX_MANIFEST_BYTES)")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BundleError(MANIFEST_NAME, "", f"not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        problem = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise BundleError(MANIFEST_NAME, "", problem) from None
    except RecursionError:
        raise BundleError(MANIFEST_NAME, "", "JSON nested too deeply") from None
    if not isinstance(manifest, dict):
        raise BundleError(MANIFEST_NAME, "", f"must be a JSON object, not {_kind(manifest)}")
    fmt = manifest.get("format")
    if fmt != BUNDLE_FORMAT:
        raise BundleError("manifest", "format", f"unsupported format {fmt!r}; expected {BUNDLE_FORMAT!r}")
    return manifest


def check_manifest(manifest: dict) -> ManifestSpec:
    """Check every manifest rule of a parsed manifest (see the module docstring); no file is opened.

    Raises
    ------
    BundleError
        On the first broken rule.
    """
    spec = _manifest_spec(manifest)
    _check_pairs_have_images(spec.pairs, spec.images, explicit=spec.listed_pairs is not None)
    return spec


def _manifest_spec(manifest: dict) -> ManifestSpec:
    """Every manifest rule but the pairs' coverage (which :func:`load_bundle` checks after the files)."""
    if not isinstance(manifest, dict):
        raise BundleError(MANIFEST_NAME, "", f"must be a JSON object, not {_kind(manifest)}")
    fmt = manifest.get("format")
    if fmt != BUNDLE_FORMAT:
        raise BundleError("manifest", "format", f"unsupported format {fmt!r}; expected {BUNDLE_FORMAT!r}")
    name = _optional_str(manifest, "manifest", "name", MAX_NAME)
    systems = _systems(manifest)
    prompts = _prompts(manifest)
    images = _images(manifest, {s.key for s in systems}, {p.key for p in prompts})
    raw = manifest.get("comparisons", "all-pairs")
    if raw == "all-pairs":
        pairs, listed = list(itertools.combinations([s.key for s in systems], 2)), None
    else:
        if not isinstance(raw, list) or not raw:
            raise BundleError("manifest", "comparisons", f'must be "all-pairs" or a non-empty list, got {_kind(raw)}')
        pairs = listed = check_pairs(raw, [s.key for s in systems])
    return ManifestSpec(name=name, manifest=manifest, systems=systems, prompts=prompts, images=images,
                        pairs=pairs, listed_pairs=listed)


def check_pairs(entries: Iterable, systems: list[str]) -> list[tuple[str, str]]:
    """The ``comparisons`` list as (a, b) pairs, each naming two different known systems, each unordered pair once.

    Also used by writers (``python -m generation bundle --comparisons``) to refuse a list before any work.
    """
    known, pairs, seen = set(systems), [], {}
    for i, entry in enumerate(entries):
        where = f"comparisons[{i}]"
        _object(entry, where)
        a, b = check_id(entry.get("a"), where, "a"), check_id(entry.get("b"), where, "b")
        for side, key in (("a", a), ("b", b)):
            if key not in known:
                raise BundleError(where, side, f"unknown system {key!r}; the systems are {', '.join(systems)}")
        if a == b:
            raise BundleError(where, "b", f"a system cannot be compared with itself ({a!r})")
        unordered = frozenset((a, b))
        if unordered in seen:
            raise BundleError(where, "b", f"duplicate pair {a!r} / {b!r} (also comparisons[{seen[unordered]}]; "
                                          "a/b and b/a are the same pair)")
        seen[unordered] = i
        pairs.append((a, b))
    return pairs


def listed_pairs(manifest: dict) -> list[tuple[str, str]] | None:
    """The pairs a checked manifest lists in its own order, or None for ``"all-pairs"``."""
    raw = manifest.get("comparisons", "all-pairs")
    return None if raw == "all-pairs" else [(c["a"], c["b"]) for c in raw]


def check_id(value, entry: str, field: str = "") -> str:
    """``value`` if it follows the id rule (:mod:`formats.ids`), else :class:`BundleError` naming entry and field."""
    if not is_id(value):
        raise BundleError(entry, field, f"{_kind(value)} is not a valid id (must be {ID_RULE})")
    return value


def numeric_metrics(metrics: dict | None) -> dict[str, float]:
    """The metrics that hold numbers, as floats (nulls, and anything else, left out)."""
    return {k: float(v) for k, v in (metrics or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


# -- manifest rules ---------------------------------------------------------------------------

def _entries(manifest: dict, key: str) -> list:
    value = manifest.get(key)
    if not isinstance(value, list) or not value:
        raise BundleError("manifest", key, f"must be a non-empty list, got {_kind(value)}")
    return value


def _unique_id(entry: dict, where: str, seen: dict, index: int, key: str) -> str:
    """The entry's ``id``, refused when an earlier entry of ``manifest[key]`` has it too."""
    value = check_id(entry.get("id"), where, "id")
    if value in seen:
        raise BundleError(where, "id", f"duplicate {key[:-1]} id {value!r} (also {key}[{seen[value]}])")
    seen[value] = index
    return value


def _systems(manifest: dict) -> list[SystemSpec]:
    systems, seen = [], {}
    for i, entry in enumerate(_entries(manifest, "systems")):
        where = f"systems[{i}]"
        _object(entry, where)
        key = _unique_id(entry, where, seen, i, "systems")
        systems.append(SystemSpec(key=key, label=_optional_str(entry, where, "label", MAX_LABEL),
                                  metrics=_optional_metrics(entry, where),
                                  config=_optional_dict(entry, where, "config")))
    if len(systems) < MIN_SYSTEMS:
        raise BundleError("manifest", "systems", f"a pairwise study needs at least {MIN_SYSTEMS} systems")
    return systems


def _prompts(manifest: dict) -> list[PromptSpec]:
    prompts, seen = [], {}
    for i, entry in enumerate(_entries(manifest, "prompts")):
        where = f"prompts[{i}]"
        _object(entry, where)
        key = _unique_id(entry, where, seen, i, "prompts")
        text = entry.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BundleError(where, "text", f"must be a non-empty string, got {_kind(text)}")
        prompts.append(PromptSpec(key=key, text=text))
    return prompts


def _images(manifest: dict, systems: set, prompts: set) -> list[ImageEntry]:
    images, by_key, by_path = [], {}, {}
    for i, entry in enumerate(_entries(manifest, "images")):
        where = f"images[{i}]"
        _object(entry, where)
        system = check_id(entry.get("system"), where, "system")
        if system not in systems:
            raise BundleError(where, "system", f"unknown system {system!r}")
        prompt = check_id(entry.get("prompt"), where, "prompt")
        if prompt not in prompts:
            raise BundleError(where, "prompt", f"unknown prompt id {prompt!r}")
        seed = entry.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise BundleError(where, "seed", f"must be an integer in [0, 2^63-1], got {seed!r}")
        key = (system, prompt, seed)
        if key in by_key:
            raise BundleError(where, "seed", f"duplicate image for system {system!r}, prompt {prompt!r}, "
                                             f"seed {seed} (also images[{by_key[key]}])")
        by_key[key] = i
        rel = _relative_path(entry.get("path"), where)
        normal = str(PurePosixPath(rel))
        if normal in by_path:
            raise BundleError(where, "path", f"{rel!r} is already used by images[{by_path[normal]}]")
        by_path[normal] = i
        images.append(ImageEntry(system=system, prompt=prompt, seed=seed, path=rel, sha256=_given_sha(entry, where),
                                 metrics=_optional_metrics(entry, where)))
    return images


def _relative_path(rel, where: str) -> str:
    """The lexical path rules: a relative POSIX path inside the bundle (the suffix is checked with the file)."""
    if not isinstance(rel, str) or not rel:
        raise BundleError(where, "path", f"must be a non-empty string, got {_kind(rel)}")
    if "\\" in rel or "\x00" in rel:
        raise BundleError(where, "path", f"{rel!r}: use forward slashes and no NUL characters")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", rel):
        raise BundleError(where, "path", f"{rel!r} must stay inside the bundle: it is absolute, "
                                         "paths are relative to the bundle")
    if ".." in pure.parts:
        raise BundleError(where, "path", f"{rel!r} must stay inside the bundle: '..' leaves the bundle")
    return rel


def _check_suffix(rel: str, where: str) -> None:
    if PurePosixPath(rel).suffix.lower() not in IMAGE_SUFFIXES:
        raise BundleError(where, "path", f"{rel!r} is not a PNG, JPEG or WebP file (its name must end in "
                                         f"{', '.join(IMAGE_SUFFIXES)})")


def _given_sha(entry: dict, where: str) -> str | None:
    given = entry.get("sha256")
    if given in (None, ""):
        return None
    if not isinstance(given, str) or not _SHA256.fullmatch(given):
        raise BundleError(where, "sha256", f"must be 64 hex digits, got {_kind(given)}")
    return given.lower()


def _check_pairs_have_images(pairs: list[tuple[str, str]], images: list, *, explicit: bool) -> None:
    """A listed pair needs a (prompt, seed) imaged by both systems; the bundle needs one comparison at all."""
    keys: dict[str, set] = {}
    for image in images:
        keys.setdefault(image.system, set()).add((image.prompt, image.seed))
    any_common = False
    for i, (a, b) in enumerate(pairs):
        common = keys.get(a, set()) & keys.get(b, set())
        if not common and explicit:
            raise BundleError(f"comparisons[{i}]", "b", f"no (prompt, seed) has an image from both {a!r} and {b!r}")
        any_common = any_common or bool(common)
    if not any_common:
        raise BundleError("manifest", "comparisons", "no (prompt, seed) has images from two different systems")


# -- file rules -------------------------------------------------------------------------------

def _check_files(entries: list[ImageEntry], root: Path, progress: bool, max_pixels: int) -> list[ImageSpec]:
    if progress:
        from tqdm import tqdm

        entries_iter = tqdm(entries, desc="checking images", unit="img")
    else:
        entries_iter = entries
    images, by_file = [], {}
    for i, entry in enumerate(entries_iter):
        where = f"images[{i}]"
        file = _image_file(root, entry.path, where)
        if file in by_file:
            raise BundleError(where, "path", f"{entry.path!r} is already used by images[{by_file[file]}]")
        by_file[file] = i
        data = _read(file, where)
        digest = hashlib.sha256(data).hexdigest()
        if entry.sha256 is not None and entry.sha256 != digest:
            raise BundleError(where, "sha256", f"does not match the file (manifest {entry.sha256}, file {digest})")
        suffix = _decode(data, where, entry.path, max_pixels)
        images.append(ImageSpec(system=entry.system, prompt=entry.prompt, seed=entry.seed, path=entry.path,
                                file=file, suffix=suffix, sha256=digest, metrics=entry.metrics))
    return images


def _image_file(root: Path, rel: str, where: str) -> Path:
    candidate = root / PurePosixPath(rel)
    exists = candidate.exists() or candidate.is_symlink()
    if exists:
        file = _inside(root, candidate, where, "path", rel)
        if not file.is_file():
            raise BundleError(where, "path", f"{rel!r} is not a regular file")
    _check_suffix(rel, where)
    if not exists:
        raise BundleError(where, "path", f"{rel!r}: no such file in the bundle")
    return file


def _inside(root: Path, candidate: Path, where: str, field_name: str, rel: str = "") -> Path:
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise BundleError(where, field_name, f"{rel or candidate.name!r} cannot be resolved ({exc})") from None
    if not resolved.is_relative_to(root):
        raise BundleError(where, field_name, f"{rel or candidate.name!r} is a link leading out of the bundle "
                                             "(it leads outside the bundle through a link)")
    return resolved


def _read(file: Path, where: str) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise BundleError(where, "path", f"cannot read the file ({exc.strerror or exc})") from None


def _decode(data: bytes, where: str, rel: str, max_pixels: int) -> str:
    from PIL import Image as PILImage

    try:
        # open() reads the header only: the size is checked before any pixel is decoded.
        with PILImage.open(io.BytesIO(data)) as img:
            fmt = img.format
            if fmt not in IMAGE_FORMATS:
                raise BundleError(where, "path", f"{rel!r} is {fmt}; only PNG, JPEG and WebP are supported")
            if img.width * img.height > max_pixels:
                raise BundleError(where, "path", f"{rel!r} is {img.width}x{img.height}, over the limit of "
                                                 f"{max_pixels} pixels (QSCHED_MAX_IMAGE_PIXELS)")
            img.load()
    except BundleError:
        raise
    except Exception as exc:  # noqa: BLE001 -- Pillow raises many types for broken files
        raise BundleError(where, "path", f"{rel!r} is not a readable PNG, JPEG or WebP image ({exc})") from None
    return IMAGE_FORMATS[fmt]


def _comparisons(pairs: list[tuple[str, str]], images: list[ImageSpec]) -> list[ComparisonSpec]:
    by_system: dict[str, dict[tuple[str, int], ImageSpec]] = {}
    for image in images:
        by_system.setdefault(image.system, {})[(image.prompt, image.seed)] = image
    comparisons = []
    for a, b in pairs:
        images_a, images_b = by_system.get(a, {}), by_system.get(b, {})
        comparisons += [ComparisonSpec(prompt=p, seed=s, image_a=images_a[(p, s)], image_b=images_b[(p, s)])
                        for p, s in images_a if (p, s) in images_b]
    return comparisons


# -- single fields ----------------------------------------------------------------------------

def _object(entry, where: str) -> None:
    if not isinstance(entry, dict):
        raise BundleError(where, "", f"must be a JSON object, got {_kind(entry)}")


def _optional_str(entry: dict, where: str, key: str, limit: int) -> str:
    value = entry.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise BundleError(where, key, f"must be a string of at most {limit} characters, got {_kind(value)}")
    return value


def _optional_dict(entry: dict, where: str, key: str) -> dict:
    value = entry.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BundleError(where, key, f"must be a JSON object, got {_kind(value)}")
    return value


def _optional_metrics(entry: dict, where: str) -> dict:
    metrics = _optional_dict(entry, where, "metrics")
    for name, value in metrics.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise BundleError(where, "metrics", f"metric {name!r} must be a finite number or null, got {_kind(value)}")
    return metrics


def _kind(value) -> str:
    if isinstance(value, (dict, list)):
        return f"a {type(value).__name__}"
    return repr(value) if not isinstance(value, str) or len(value) < 60 else repr(value[:57] + "...")
