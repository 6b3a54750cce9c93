"""Read and validate a study bundle (contract section 1) without touching the database.

A bundle is a directory with ``manifest.json`` and the images it names. :func:`load_bundle`
checks every rule of the contract and returns a :class:`BundleSpec`; the first broken rule
raises :class:`BundleError` naming the entry (``images[3]``) and the field (``sha256``).
"""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from PIL import Image as PILImage
from tqdm import tqdm

from .errors import StudyError

__all__ = ["BUNDLE_FORMAT", "BundleError", "BundleSpec", "ComparisonSpec", "ImageSpec", "PromptSpec",
           "SystemSpec", "load_bundle"]

BUNDLE_FORMAT = "qsched-bundle/1"
ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: PIL format name -> file suffix used when the image is stored.
IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
MAX_SEED = 2**63 - 1
MAX_LABEL = 200
MAX_NAME = 200
#: Defaults of the settings ``QSCHED_MAX_IMAGE_PIXELS`` and ``QSCHED_MAX_MANIFEST_BYTES``.
MAX_IMAGE_PIXELS = 4096 * 4096
MAX_MANIFEST_BYTES = 32 * 1024 * 1024


class BundleError(StudyError):
    """A bundle that breaks a rule of contract section 1.

    Attributes
    ----------
    entry : str
        Where the problem is, e.g. ``"images[3]"``, ``"systems[0]"``, ``"manifest.json"``.
    field : str
        Which field of that entry, e.g. ``"sha256"``, ``"path"``, ``"id"``.
    """

    def __init__(self, entry: str, field: str, problem: str):
        self.entry = entry
        self.field = field
        self.problem = problem
        where = f"{entry}.{field}" if field else entry
        super().__init__(f"{where}: {problem}")


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
class ImageSpec:
    system: str
    prompt: str
    seed: int
    path: str  # as written in the manifest, relative to the bundle
    file: Path  # resolved absolute path of the validated file
    suffix: str  # ".png" / ".jpg" / ".webp", from the decoded format
    sha256: str  # of the file's bytes (computed, checked against the manifest when given)
    metrics: dict


@dataclass(frozen=True)
class ComparisonSpec:
    """Images of the same (prompt, seed) from the two systems of a listed pair."""

    prompt: str
    seed: int
    image_a: ImageSpec
    image_b: ImageSpec


@dataclass(frozen=True)
class BundleSpec:
    root: Path
    name: str
    manifest: dict
    systems: list[SystemSpec]
    prompts: list[PromptSpec]
    images: list[ImageSpec]
    pairs: list[tuple[str, str]]
    comparisons: list[ComparisonSpec] = field(default_factory=list)


def load_bundle(bundle_dir: Path, *, progress: bool = False) -> BundleSpec:
    """Validate the bundle in ``bundle_dir`` and return what it describes.

    Parameters
    ----------
    bundle_dir : Path
        Directory holding ``manifest.json``.
    progress : bool
        Show a tqdm progress bar while the images are checked (command line use).

    Returns
    -------
    BundleSpec
        Systems, prompts, images (each file read, hashed and decoded once) and the
        comparisons formed from the listed pairs.

    Raises
    ------
    BundleError
        On the first broken rule: bad JSON, wrong format, bad or duplicate ids, unknown
        system or prompt, missing/unreadable/unsupported image, a path leaving the bundle,
        a wrong sha256, duplicate entries, or a pair with no common (prompt, seed).
    """
    root = Path(bundle_dir)
    if not root.is_dir():
        raise BundleError("bundle", "directory", f"{root} is not a directory")
    root = root.resolve()
    manifest = _read_manifest(root)
    name = _optional_str(manifest, "manifest", "name", MAX_NAME) or root.name
    systems = _systems(manifest)
    prompts = _prompts(manifest)
    images = _images(manifest, root, {s.key for s in systems}, {p.key for p in prompts}, progress)
    pairs = _pairs(manifest, [s.key for s in systems])
    comparisons = _comparisons(pairs, images, explicit=manifest.get("comparisons", "all-pairs") != "all-pairs")
    return BundleSpec(root=root, name=name, manifest=manifest, systems=systems, prompts=prompts,
                      images=images, pairs=pairs, comparisons=comparisons)


# -- manifest level ---------------------------------------------------------------------------

def _read_manifest(root: Path) -> dict:
    path = root / "manifest.json"
    if not path.is_file():
        raise BundleError("manifest.json", "", "not found in the bundle directory")
    _inside(root, path, "manifest.json", "")
    limit = getattr(settings, "QSCHED_MAX_MANIFEST_BYTES", MAX_MANIFEST_BYTES)
    size = path.stat().st_size
    if size > limit:
        raise BundleError("manifest.json", "", f"is {size} bytes, over the limit of {limit} bytes "
                                               "(QSCHED_MAX_MANIFEST_BYTES)")
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BundleError("manifest.json", "", f"not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        problem = f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise BundleError("manifest.json", "", problem) from None
    except RecursionError:
        raise BundleError("manifest.json", "", "JSON nested too deeply") from None
    if not isinstance(manifest, dict):
        raise BundleError("manifest.json", "", f"must be a JSON object, not {_kind(manifest)}")
    fmt = manifest.get("format")
    if fmt != BUNDLE_FORMAT:
        raise BundleError("manifest", "format", f"unsupported format {fmt!r}; expected {BUNDLE_FORMAT!r}")
    return manifest


def _entries(manifest: dict, key: str) -> list:
    value = manifest.get(key)
    if not isinstance(value, list) or not value:
        raise BundleError("manifest", key, f"must be a non-empty list, got {_kind(value)}")
    return value


def _unique_id(entry: dict, where: str, seen: dict, index: int, key: str) -> str:
    """The entry's ``id``, refused when an earlier entry of ``manifest[key]`` has it too."""
    value = _id(entry, where, "id")
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
    if len(systems) < 2:
        raise BundleError("manifest", "systems", "a pairwise study needs at least 2 systems")
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


def _images(manifest: dict, root: Path, systems: set, prompts: set, progress: bool) -> list[ImageSpec]:
    entries = _entries(manifest, "images")
    images, by_key, by_path = [], {}, {}
    for i, entry in enumerate(tqdm(entries, desc="checking images", unit="img", disable=not progress)):
        where = f"images[{i}]"
        _object(entry, where)
        system = _id(entry, where, "system")
        if system not in systems:
            raise BundleError(where, "system", f"unknown system id {system!r}")
        prompt = _id(entry, where, "prompt")
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
        rel, file = _image_path(entry, where, root)
        if file in by_path:
            raise BundleError(where, "path", f"{rel!r} is already used by images[{by_path[file]}]")
        by_path[file] = i
        data = _read(file, where)
        digest = hashlib.sha256(data).hexdigest()
        _check_sha(entry, where, digest)
        suffix = _decode(data, where, rel)
        images.append(ImageSpec(system=system, prompt=prompt, seed=seed, path=rel, file=file, suffix=suffix,
                                sha256=digest, metrics=_optional_metrics(entry, where)))
    return images


def _pairs(manifest: dict, system_order: list[str]) -> list[tuple[str, str]]:
    value = manifest.get("comparisons", "all-pairs")
    if value == "all-pairs":
        return list(itertools.combinations(system_order, 2))
    if not isinstance(value, list) or not value:
        raise BundleError("manifest", "comparisons", f'must be "all-pairs" or a non-empty list, got {_kind(value)}')
    known, pairs, seen = set(system_order), [], {}
    for i, entry in enumerate(value):
        where = f"comparisons[{i}]"
        _object(entry, where)
        a, b = _id(entry, where, "a"), _id(entry, where, "b")
        for side, key in (("a", a), ("b", b)):
            if key not in known:
                raise BundleError(where, side, f"unknown system id {key!r}")
        if a == b:
            raise BundleError(where, "b", f"a system cannot be compared with itself ({a!r})")
        unordered = frozenset((a, b))
        if unordered in seen:
            raise BundleError(where, "b", f"duplicate pair {a!r} / {b!r} (also comparisons[{seen[unordered]}])")
        seen[unordered] = i
        pairs.append((a, b))
    return pairs


def _comparisons(pairs: list[tuple[str, str]], images: list[ImageSpec], *, explicit: bool) -> list[ComparisonSpec]:
    by_system: dict[str, dict[tuple[str, int], ImageSpec]] = {}
    for image in images:
        by_system.setdefault(image.system, {})[(image.prompt, image.seed)] = image
    comparisons = []
    for i, (a, b) in enumerate(pairs):
        images_a, images_b = by_system.get(a, {}), by_system.get(b, {})
        common = [key for key in images_a if key in images_b]
        if not common and explicit:
            raise BundleError(f"comparisons[{i}]", "b", f"no (prompt, seed) has an image from both {a!r} and {b!r}")
        comparisons += [ComparisonSpec(prompt=p, seed=s, image_a=images_a[(p, s)], image_b=images_b[(p, s)])
                        for p, s in common]
    if not comparisons:
        raise BundleError("manifest", "comparisons", "no (prompt, seed) has images from two different systems")
    return comparisons


# -- single fields ----------------------------------------------------------------------------

def _image_path(entry: dict, where: str, root: Path) -> tuple[str, Path]:
    rel = entry.get("path")
    if not isinstance(rel, str) or not rel:
        raise BundleError(where, "path", f"must be a non-empty string, got {_kind(rel)}")
    if "\\" in rel or "\x00" in rel:
        raise BundleError(where, "path", f"{rel!r}: use forward slashes and no NUL characters")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", rel):
        raise BundleError(where, "path", f"{rel!r} is absolute; paths must be relative to the bundle")
    if ".." in pure.parts:
        raise BundleError(where, "path", f"{rel!r} leaves the bundle ('..')")
    candidate = root / pure
    if not candidate.exists() and not candidate.is_symlink():
        raise BundleError(where, "path", f"{rel!r}: no such file in the bundle")
    file = _inside(root, candidate, where, "path", rel)
    if not file.is_file():
        raise BundleError(where, "path", f"{rel!r} is not a regular file")
    return rel, file


def _inside(root: Path, candidate: Path, where: str, field_name: str, rel: str = "") -> Path:
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise BundleError(where, field_name, f"{rel or candidate.name!r} cannot be resolved ({exc})") from None
    if not resolved.is_relative_to(root):
        raise BundleError(where, field_name, f"{rel or candidate.name!r} is a link leading out of the bundle")
    return resolved


def _read(file: Path, where: str) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise BundleError(where, "path", f"cannot read the file ({exc.strerror or exc})") from None


def _check_sha(entry: dict, where: str, digest: str) -> None:
    if "sha256" not in entry or entry["sha256"] in (None, ""):
        return
    given = entry["sha256"]
    if not isinstance(given, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", given):
        raise BundleError(where, "sha256", f"must be 64 hex digits, got {given!r}")
    if given.lower() != digest:
        raise BundleError(where, "sha256", f"does not match the file (manifest {given.lower()}, file {digest})")


def _decode(data: bytes, where: str, rel: str) -> str:
    limit = getattr(settings, "QSCHED_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS)
    try:
        # open() reads the header only: the size is checked before any pixel is decoded.
        with PILImage.open(io.BytesIO(data)) as img:
            fmt = img.format
            if fmt not in IMAGE_FORMATS:
                raise BundleError(where, "path", f"{rel!r} is {fmt}; only PNG, JPEG and WebP are supported")
            if img.width * img.height > limit:
                raise BundleError(where, "path", f"{rel!r} is {img.width}x{img.height}, over the limit of "
                                                 f"{limit} pixels (QSCHED_MAX_IMAGE_PIXELS)")
            img.load()
    except BundleError:
        raise
    except Exception as exc:  # PIL raises many types for broken files
        raise BundleError(where, "path", f"{rel!r} is not a readable PNG, JPEG or WebP image ({exc})") from None
    return IMAGE_FORMATS[fmt]


def _object(entry, where: str) -> None:
    if not isinstance(entry, dict):
        raise BundleError(where, "", f"must be a JSON object, got {_kind(entry)}")


def _id(entry: dict, where: str, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise BundleError(where, key, f"must be 1-64 characters of A-Z a-z 0-9 . _ -, got {value!r}")
    return value


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
            raise BundleError(where, "metrics", f"metric {name!r} must be a finite number or null, got {value!r}")
    return metrics


def _kind(value) -> str:
    if isinstance(value, (dict, list)):
        return f"a {type(value).__name__}"
    return repr(value) if not isinstance(value, str) or len(value) < 60 else repr(value[:57] + "...")
