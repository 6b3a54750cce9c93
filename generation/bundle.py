"""Write study bundles (data contract section 1) comparing systems on the same prompts and seeds.

Every image of a (prompt, seed) starts from the same initial noise in every
system: each image gets its own generator seeded with its seed (see
:func:`generation.images.generate_images`). Generation is batched, resumable
and verifiable: each finished image has a small state file holding its
sha256, so a restarted run skips images that are present and intact and
regenerates missing or damaged ones. Work can be split by (system, chunk of
prompts) -- see :mod:`generation.tasks` -- and finished by :func:`finalize_bundle`.
The one way to build a whole bundle is :mod:`generation.plan` (``write_plan ->
run_chunk -> finalize``, or its in-process ``write_bundle``); this module holds
the steps it uses.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from generation.images import ensure_writable_dir, generate_images, resolve_pipeline, save_png_atomic, sha256_file
from generation.jaq import equal_weight_batches
from generation.manifest import BUNDLE_FORMAT, BundleError, check_id, check_pairs, validate_bundle

__all__ = ["System", "BundleError", "prompt_records", "generate_system", "finalize_bundle", "read_prompts"]

STATE_DIR = ".state"


@dataclasses.dataclass
class System:
    """One system of a bundle.

    Attributes
    ----------
    id : str
        Contract id (``A-Za-z0-9._-``, 1-64 chars), e.g. ``w4a8-qsched``.
    label : str
        Shown to researchers.
    pipe : DiffusionPipeline or zero-argument callable returning one
        A factory is only called when an image is missing.
    config : dict
        Free-form description stored in the manifest (e.g. coefficients).
    call_kwargs : dict
        Per-system overrides of the pipeline call (steps, guidance...).
    """

    id: str
    label: str
    pipe: object
    config: dict = dataclasses.field(default_factory=dict)
    call_kwargs: dict = dataclasses.field(default_factory=dict)


def read_prompts(source) -> list[str]:
    """Prompts from a text file (one per line), a JSON list, a YAML list or id -> prompt mapping, or a named set.

    Named sets: ``coco-captions`` needs ``$QSCHED_COCO_CAPTIONS`` pointing at a
    COCO ``captions_*.json`` annotation file (first caption per image).
    """
    if source == "coco-captions":
        path = os.environ.get("QSCHED_COCO_CAPTIONS")
        if not path or not Path(path).is_file():
            raise ValueError("the 'coco-captions' prompt set needs QSCHED_COCO_CAPTIONS=<path to captions_val2017.json>")
        data = json.loads(Path(path).read_text())
        seen, out = set(), []
        for a in data["annotations"]:
            if a["image_id"] not in seen:
                seen.add(a["image_id"])
                out.append(a["caption"].strip())
        return out
    p = Path(source)
    if not p.is_file():
        raise ValueError(f"prompt file {str(p)!r} does not exist (or use a named set: coco-captions)")
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".json":
        prompts = json.loads(text)
        return [x["text"] if isinstance(x, dict) else str(x) for x in prompts]
    if p.suffix in (".yaml", ".yml"):
        return _yaml_prompts(p, text)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _yaml_prompts(path: Path, text: str) -> list[str]:
    """A YAML list of prompts, or a mapping whose values are prompts in file order (sDCI.yaml's shape)."""
    import yaml  # PyYAML comes with diffusers' and pyiqa's dependencies

    data = yaml.safe_load(text)
    values = list(data.values()) if isinstance(data, dict) else data
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{str(path)!r} must hold a YAML list of prompts or a mapping of id -> prompt")
    return [v.strip() for v in values if v.strip()]


def prompt_records(prompts: Sequence) -> list[dict]:
    """``[{"id", "text"}]`` from strings (ids ``p0001``...) or dicts with ``id`` and ``text``."""
    if not prompts:
        raise ValueError("the prompt list is empty; give at least one prompt")
    out, ids = [], set()
    for i, p in enumerate(prompts):
        rec = {"id": p.get("id"), "text": p.get("text")} if isinstance(p, dict) else {"id": f"p{i + 1:04d}", "text": p}
        check_id(rec["id"], f"prompts[{i}].id")
        if not isinstance(rec["text"], str) or not rec["text"].strip():
            raise ValueError(f"prompts[{i}] is empty")
        if rec["id"] in ids:
            raise ValueError(f"prompts[{i}].id: duplicate id {rec['id']!r}")
        ids.add(rec["id"])
        out.append(rec)
    return out


def _check_seeds(seeds) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ValueError("the seed list is empty; give at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seed {s!r} is not a non-negative integer")
    if len(set(seeds)) != len(seeds):
        raise ValueError("the seed list has duplicates")
    return [int(s) for s in seeds]


def image_path(system_id: str, prompt_id: str, seed: int) -> str:
    return f"images/{system_id}/{prompt_id}_s{seed}.png"


def _state_path(root: Path, rel: str) -> Path:
    return root / STATE_DIR / (rel.replace("/", "__") + ".json")


def _write_json_atomic(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def _read_state(root: Path, rel: str) -> dict | None:
    p = _state_path(root, rel)
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _intact(root: Path, rel: str) -> dict | None:
    """State of an existing, verified image, or None when it must be (re)generated."""
    full = root / rel
    if not full.is_file():
        return None
    state = _read_state(root, rel)
    digest = sha256_file(full)
    if state is not None:
        return state if state.get("sha256") == digest else None
    try:  # written but not yet recorded (interrupted in between): accept a readable image
        with Image.open(full) as im:
            im.load()
    except OSError:
        return None
    state = {"sha256": digest}
    _write_json_atomic(_state_path(root, rel), state)
    return state


def generate_system(out_dir, system: System, prompts: Sequence, seeds: Sequence[int], *, batch_size: int = 4,
                    progress=None, **call_kwargs) -> dict:
    """Generate (or verify) every image of one system for ``prompts`` x ``seeds``.

    Parameters
    ----------
    out_dir : path
        Bundle directory.
    system : System
    prompts : list of str or {"id", "text"} records
    seeds : list of int
    batch_size : int
        Images per pipeline call.
    progress : tqdm, optional
        Advanced by one per image (generated or verified).
    **call_kwargs :
        ``num_inference_steps``, ``guidance_scale``, ``height``, ``width``...
        (``system.call_kwargs`` override them).

    Returns
    -------
    dict
        ``{"generated": n, "verified": n, "regenerated": n}``.
    """
    root = ensure_writable_dir(out_dir)
    check_id(system.id, "system id")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    records = prompt_records(prompts)
    seeds = _check_seeds(seeds)
    todo, counts = [], {"generated": 0, "verified": 0, "regenerated": 0}
    for rec, seed in itertools.product(records, seeds):
        rel = image_path(system.id, rec["id"], seed)
        if _intact(root, rel) is not None:
            counts["verified"] += 1
            if progress is not None:
                progress.update(1)
        else:
            counts["regenerated"] += (root / rel).exists()
            todo.append((rec, seed, rel))
    if not todo:
        return counts
    pipe = resolve_pipeline(system.pipe)
    kwargs = {**call_kwargs, **system.call_kwargs}
    for i in range(0, len(todo), batch_size):
        batch = todo[i:i + batch_size]
        images = generate_images(pipe, [r["text"] for r, _, _ in batch], [s for _, s, _ in batch], **kwargs)
        for (_, _, rel), im in zip(batch, images):
            save_png_atomic(im, root / rel)
            _write_json_atomic(_state_path(root, rel), {"sha256": sha256_file(root / rel)})
            counts["generated"] += 1
            if progress is not None:
                progress.update(1)
    return counts


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def finalize_bundle(out_dir, name: str, systems: Sequence[dict], prompts: Sequence, seeds: Sequence[int], *,
                    jaq=None, fid_reference=None, fid_extractor: Callable | None = None, comparisons="all-pairs",
                    batch_size: int = 16, progress: bool = True) -> dict:
    """Score the images and write ``manifest.json``; every image must exist.

    Parameters
    ----------
    systems : list of {"id", "label", "config"}
    jaq : generation.jaq.JAQ, optional
        Per-image JAQ/clip_score/iqa (cached in the state files together with
        what scored them; a different scorer scores again) and the per-system
        criterion over all of a system's images (``JAQ.aggregate``: for the
        paper's form the log of the mean CLIPScore, not the mean of per-image
        values).
    fid_reference : path, optional
        Reference image folder or ``.npz`` statistics: per-system ``fid``.
    fid_extractor : callable, optional
        Features for FID (default Inception-v3; e.g. a small CLIP for a world-specific distance).
    comparisons : "all-pairs" or list of (a, b) / {"a", "b"}

    Returns
    -------
    dict
        The manifest (validated against the contract).
    """
    root = Path(out_dir)
    check_id(name, "bundle name")
    records = prompt_records(prompts)
    seeds = _check_seeds(seeds)
    ids = [check_id(s["id"], f"systems[{i}].id") for i, s in enumerate(systems)]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate system ids in {ids}")
    comps = _comparisons(comparisons, ids)
    by_system = {s["id"]: _collect_images(root, s["id"], records, seeds) for s in systems}
    images = [e for s in systems for e in by_system[s["id"]]]
    if jaq is not None:
        _score_images(root, images, jaq, batch_size, progress)
    manifest = {
        "format": BUNDLE_FORMAT,
        "name": name,
        "systems": [{"id": s["id"], "label": s.get("label", s["id"]),
                     "metrics": _system_metrics(root, by_system[s["id"]], jaq, fid_reference, fid_extractor, progress),
                     "config": s.get("config", {})} for s in systems],
        "prompts": records,
        "images": [{k: v for k, v in e.items() if not k.startswith("_")} for e in images],
        "comparisons": comps,
    }
    _write_json_atomic(root / "manifest.json", manifest)
    validate_bundle(root)
    return manifest


def _collect_images(root: Path, system_id: str, records: list[dict], seeds: list[int]) -> list[dict]:
    """Manifest entries of one system's images (verified against their state files); ``_``-keys are private."""
    entries = []
    for rec, seed in itertools.product(records, seeds):
        rel = image_path(system_id, rec["id"], seed)
        state = _intact(root, rel)
        if state is None:
            raise ValueError(f"image {rel!r} of system {system_id!r} is missing or damaged; run generation first")
        entries.append({"system": system_id, "prompt": rec["id"], "seed": seed, "path": rel,
                        "sha256": state["sha256"], "metrics": state.get("metrics", {}), "_text": rec["text"],
                        "_state": state})
    return entries


def _scorer_tag(jaq):
    describe = getattr(jaq, "describe", None)
    return describe() if describe is not None else type(jaq).__name__


def _score_images(root: Path, images: list[dict], jaq, batch_size: int, progress: bool) -> None:
    """Per-image JAQ terms of every image not yet scored by this scorer, each image once (state files cache them)."""
    tag = _scorer_tag(jaq)
    todo = [e for e in images if "jaq" not in e["metrics"] or e["_state"].get("scorer") != tag]
    for sl in tqdm(list(equal_weight_batches(len(todo), batch_size)), desc="JAQ", unit="batch",
                   disable=not progress):
        batch = todo[sl]
        ims = []
        for e in batch:
            with Image.open(root / e["path"]) as im:
                ims.append(im.convert("RGB"))
        scored = jaq.score(ims, [e["_text"] for e in batch])
        cosines = scored.cosine100 if getattr(scored, "cosine100", None) is not None else scored.clip_score
        for e, metrics, cos in zip(batch, scored.per_image(), cosines):
            e["metrics"] = metrics
            e["_state"] = {"sha256": e["sha256"], "metrics": metrics, "cosine100": float(cos), "scorer": tag}
            _write_json_atomic(_state_path(root, e["path"]), e["_state"])


def _system_metrics(root: Path, entries: list[dict], jaq, fid_reference, fid_extractor, progress: bool) -> dict:
    """A system's metrics: the JAQ criterion over all its images (or per-key means without a scorer), and FID."""
    metrics = {}
    if jaq is not None and hasattr(jaq, "aggregate"):
        metrics = jaq.aggregate([e["_state"].get("cosine100", e["metrics"]["clip_score"]) for e in entries],
                                [e["metrics"]["iqa"] for e in entries])
    else:
        for key in ("jaq", "clip_score", "iqa"):
            m = _mean([e["metrics"].get(key) for e in entries])
            if m is not None:
                metrics[key] = m
    if fid_reference is not None:
        from generation.fid import fid_between

        metrics["fid"] = fid_between([root / e["path"] for e in entries], fid_reference, extractor=fid_extractor,
                                     progress=progress)
    return metrics


def _comparisons(comparisons, ids: list[str]):
    """``"all-pairs"`` or the pairs as ``[{"a", "b"}]``, checked by the bundle format's own rule (a/b and b/a refused)."""
    if comparisons == "all-pairs":
        return "all-pairs"
    if isinstance(comparisons, str) or not isinstance(comparisons, Sequence):
        raise ValueError(f"comparisons must be 'all-pairs' or a list of pairs, got {comparisons!r}")
    entries = []
    for i, c in enumerate(comparisons):
        pair = (c.get("a"), c.get("b")) if isinstance(c, dict) else tuple(c)
        if len(pair) != 2:
            raise ValueError(f"comparisons[{i}]: a pair names two systems, got {c!r}")
        entries.append({"a": pair[0], "b": pair[1]})
    if not entries:
        raise ValueError("comparisons is an empty list")
    return [{"a": a, "b": b} for a, b in check_pairs(entries, ids)]
