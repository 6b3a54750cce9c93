"""Check a study bundle against the data contract (section 1, ``qsched-bundle/1``).

The platform's importer is the authority; this check lets the generation side
refuse to hand over a bundle that the importer would refuse, with the same
kind of error: the entry and the field that are wrong.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path, PurePosixPath

from generation.images import sha256_file

__all__ = ["BUNDLE_FORMAT", "ID_PATTERN", "BundleError", "check_id", "validate_bundle"]

BUNDLE_FORMAT = "qsched-bundle/1"
ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class BundleError(ValueError):
    """A bundle breaks the contract; the message names the entry and the field."""


def check_id(value, where: str) -> str:
    """Return ``value`` if it is a contract id (1-64 chars of ``A-Za-z0-9._-``), else raise naming ``where``."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise BundleError(f"{where}: {value!r} is not a valid id (1-64 characters of A-Za-z0-9._-)")
    return value


def _check_path(root: Path, rel, where: str) -> Path:
    if not isinstance(rel, str) or not rel:
        raise BundleError(f"{where}.path: must be a non-empty relative path")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or "\\" in rel or ".." in pure.parts or re.match(r"^[A-Za-z]:", rel):
        raise BundleError(f"{where}.path: {rel!r} must stay inside the bundle (no absolute path, no '..')")
    if pure.suffix.lower() not in IMAGE_SUFFIXES:
        raise BundleError(f"{where}.path: {rel!r} is not a PNG, JPEG or WebP file")
    full = root / rel
    real_root = os.path.realpath(root)
    if os.path.commonpath([os.path.realpath(full), real_root]) != real_root:
        raise BundleError(f"{where}.path: {rel!r} leads outside the bundle through a link")
    if not full.is_file():
        raise BundleError(f"{where}.path: {rel!r} does not exist")
    return full


def validate_bundle(bundle_dir, check_hashes: bool = True) -> dict:
    """Validate ``bundle_dir/manifest.json`` and return the manifest.

    Raises
    ------
    BundleError
        On the first rule broken, naming the entry and the field.
    """
    root = Path(bundle_dir)
    path = root / "manifest.json"
    if not path.is_file():
        raise BundleError(f"{str(root)!r} has no manifest.json")
    try:
        m = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"manifest.json is not valid JSON: {exc}") from None
    if m.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"format: expected {BUNDLE_FORMAT!r}, got {m.get('format')!r}")
    for key in ("systems", "prompts", "images"):
        if not isinstance(m.get(key), list) or not m[key]:
            raise BundleError(f"{key}: must be a non-empty list")
    systems = set()
    for i, s in enumerate(m["systems"]):
        sid = check_id(s.get("id") if isinstance(s, dict) else None, f"systems[{i}].id")
        if sid in systems:
            raise BundleError(f"systems[{i}].id: duplicate id {sid!r}")
        systems.add(sid)
    prompts = set()
    for i, p in enumerate(m["prompts"]):
        pid = check_id(p.get("id") if isinstance(p, dict) else None, f"prompts[{i}].id")
        if pid in prompts:
            raise BundleError(f"prompts[{i}].id: duplicate id {pid!r}")
        if not isinstance(p.get("text"), str) or not p["text"].strip():
            raise BundleError(f"prompts[{i}].text: must be a non-empty string")
        prompts.add(pid)
    seen = set()
    for i, im in enumerate(m["images"]):
        where = f"images[{i}]"
        if not isinstance(im, dict):
            raise BundleError(f"{where}: must be an object")
        if im.get("system") not in systems:
            raise BundleError(f"{where}.system: unknown system {im.get('system')!r}")
        if im.get("prompt") not in prompts:
            raise BundleError(f"{where}.prompt: unknown prompt {im.get('prompt')!r}")
        if not isinstance(im.get("seed"), int) or isinstance(im.get("seed"), bool):
            raise BundleError(f"{where}.seed: must be an integer")
        key = (im["system"], im["prompt"], im["seed"])
        if key in seen:
            raise BundleError(f"{where}: a second image for system/prompt/seed {key}")
        seen.add(key)
        full = _check_path(root, im.get("path"), where)
        if check_hashes and im.get("sha256") is not None and sha256_file(full) != im["sha256"]:
            raise BundleError(f"{where}.sha256: does not match the file {im['path']!r}")
    comps = m.get("comparisons", "all-pairs")
    if comps != "all-pairs":
        if not isinstance(comps, list):
            raise BundleError("comparisons: must be 'all-pairs' or a list of {a, b}")
        for i, c in enumerate(comps):
            for side in ("a", "b"):
                if not isinstance(c, dict) or c.get(side) not in systems:
                    raise BundleError(f"comparisons[{i}].{side}: unknown system {c.get(side) if isinstance(c, dict) else c!r}")
            if c["a"] == c["b"]:
                raise BundleError(f"comparisons[{i}]: a system cannot be compared with itself ({c['a']!r})")
    return m
