"""Bundle plans: the whole job in one JSON file, runnable in chunks on any machine.

``bundle_plan.json`` (in the bundle directory) holds the systems as recipes,
the prompts, the seeds, the pipeline call settings, the model source and the
JAQ/FID settings. :func:`run_chunk` generates one (system, prompt subset)
chunk; :func:`finalize` scores and writes the manifest. The CLI runs all
chunks in-process; :mod:`generation.tasks` sends them to Celery workers.
"""

from __future__ import annotations

import json
from pathlib import Path

from generation.bundle import System, finalize_bundle, generate_system, prompt_records
from generation.images import ensure_writable_dir

__all__ = ["PLAN_FILE", "write_plan", "load_plan", "chunks", "run_chunk", "finalize", "build_jaq", "build_quality"]

PLAN_FILE = "bundle_plan.json"


def write_plan(out_dir, *, name: str, systems: list[dict], prompts, seeds, call: dict, source: dict,
               jaq: dict | None = None, fid_reference: str | None = None, comparisons="all-pairs",
               batch_size: int = 4) -> dict:
    """Validate and write ``bundle_plan.json``; returns the plan."""
    from generation.bundle import _check_seeds, _comparisons
    from generation.manifest import check_id

    root = ensure_writable_dir(out_dir)
    check_id(name, "bundle name")
    if not systems:
        raise ValueError("the system list is empty")
    ids = [s["id"] for s in systems]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate system ids in {ids}")
    plan = {"name": name, "systems": systems, "prompts": prompt_records(prompts), "seeds": _check_seeds(seeds),
            "call": call, "source": source, "jaq": jaq, "fid_reference": fid_reference,
            "comparisons": _comparisons(comparisons, ids), "batch_size": batch_size}
    existing = root / PLAN_FILE
    if existing.is_file():
        old = json.loads(existing.read_text())
        if old != plan:
            raise ValueError(f"{str(existing)!r} holds a different plan; use a new output directory to change "
                             "systems, prompts, seeds or settings")
    existing.write_text(json.dumps(plan, indent=1))
    return plan


def load_plan(out_dir) -> dict:
    p = Path(out_dir) / PLAN_FILE
    if not p.is_file():
        raise ValueError(f"no {PLAN_FILE} in {str(out_dir)!r}")
    return json.loads(p.read_text())


def chunks(plan: dict, chunk_size: int) -> list[tuple[str, list[str]]]:
    """``(system id, prompt ids)`` work units of at most ``chunk_size`` prompts."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    ids = [p["id"] for p in plan["prompts"]]
    return [(s["id"], ids[i:i + chunk_size]) for s in plan["systems"] for i in range(0, len(ids), chunk_size)]


def run_chunk(out_dir, system_id: str, prompt_ids: list[str], progress=None, pipe=None) -> dict:
    """Generate one chunk of a plan (building the system's pipeline unless ``pipe`` is given)."""
    from generation.systems import build_pipeline

    plan = load_plan(out_dir)
    recipe = next((s for s in plan["systems"] if s["id"] == system_id), None)
    if recipe is None:
        raise ValueError(f"system {system_id!r} is not in the plan")
    wanted = set(prompt_ids)
    prompts = [p for p in plan["prompts"] if p["id"] in wanted]
    if len(prompts) != len(wanted):
        raise ValueError(f"unknown prompt ids: {sorted(wanted - {p['id'] for p in prompts})}")
    factory = pipe if pipe is not None else (lambda: build_pipeline(recipe, **plan["source"]))
    system = System(recipe["id"], recipe["label"], factory, recipe)
    return generate_system(out_dir, system, prompts, plan["seeds"], batch_size=plan["batch_size"],
                           progress=progress, **plan["call"])


def build_jaq(settings: dict | None):
    """A :class:`~generation.jaq.JAQ` from plan/CLI settings.

    ``{"factory": "pkg.module:function"}`` calls that zero-argument function
    (e.g. one building a JAQ on the project's own small CLIP); otherwise
    ``{"clip_model", "clip_pretrained", "iqa", "k", "variant", "device"}``
    build CLIPScore (open_clip) + a pyiqa metric. Defaults are the paper's:
    CLIP ViT-L/14 (OpenAI), ``iqa="clipiqa-paper"`` (pyiqa's CLIP-IQA with the
    single "Good photo." / "Bad photo." pair), ``k=2``, ``variant="paper"``.
    The criterion is checked before any model is loaded.
    """
    if not settings:
        return None
    if settings.get("factory"):
        import importlib

        module, _, func = settings["factory"].partition(":")
        if not module or not func:
            raise ValueError(f"JAQ factory {settings['factory']!r} must look like 'package.module:function'")
        try:
            return getattr(importlib.import_module(module), func)()
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cannot load JAQ factory {settings['factory']!r}: {exc}") from None
    from generation.jaq import JAQ, PAPER_CLIP_MODEL, CLIPScore, check_variant

    variant = check_variant(settings.get("variant", "paper"))
    device = settings.get("device", "cpu")
    clip = CLIPScore(settings.get("clip_model", PAPER_CLIP_MODEL[0]),
                     settings.get("clip_pretrained", PAPER_CLIP_MODEL[1]), device=device)
    return JAQ(text_image=clip, quality=build_quality(settings.get("iqa", "clipiqa-paper"), device),
               k=settings.get("k", 2.0), variant=variant)


#: Quality-term names beyond pyiqa's own: ``clipiqa-paper`` is CLIP-IQA with the paper's single antonym pair.
IQA_ALIASES = {"clipiqa-paper": "clipiqa"}


def build_quality(name: str, device: str = "cpu"):
    """The quality term called ``name``: ``clipiqa-paper`` or any pyiqa no-reference metric."""
    from generation.jaq import PAPER_IQA_PROMPTS, PyIQA

    if name in IQA_ALIASES:
        return PyIQA(IQA_ALIASES[name], prompts=PAPER_IQA_PROMPTS, device=device)
    return PyIQA(name, device=device)


def finalize(out_dir, jaq=None, fid_extractor=None, progress: bool = True) -> dict:
    """Score and write the manifest of a fully generated plan."""
    plan = load_plan(out_dir)
    jaq = jaq if jaq is not None else build_jaq(plan["jaq"])
    systems = []
    for s in plan["systems"]:
        config = {k: v for k, v in s.items() if k not in ("id", "label")}
        config |= dict(s["qsched"] or {})  # c_x / c_theta at the top, as in the contract's example
        systems.append({"id": s["id"], "label": s["label"],
                        "config": config | {"source": plan["source"], "call": plan["call"]}})
    return finalize_bundle(out_dir, plan["name"], systems, plan["prompts"], plan["seeds"], jaq=jaq,
                           fid_reference=plan["fid_reference"], fid_extractor=fid_extractor,
                           comparisons=plan["comparisons"], progress=progress)
