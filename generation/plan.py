"""Bundle plans: the one way a bundle is built, ``write_plan -> run_chunk -> finalize``.

``bundle_plan.json`` (in the bundle directory) holds the systems, the prompts,
the seeds, the pipeline call settings, the model source and the JAQ/FID
settings. :func:`run_chunk` generates one (system, prompt subset) chunk;
:func:`finalize` scores and writes the manifest. The CLI runs all chunks
in-process, :mod:`generation.tasks` sends them to Celery workers, and
:func:`write_bundle` (the reference demo, notebooks) runs them in-process
with pipelines built by the caller.

A plan's system is either a recipe (:func:`generation.systems.parse_system`;
a worker builds its pipeline, and its manifest config is derived from the
recipe, the source and the call settings) or, for pipelines built by the
caller, ``{"id", "label", "config"}`` whose ``config`` goes into the manifest
as given. Either may carry ``"call"``: per-system overrides of the call
settings. Everything is validated before anything is written.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from generation.bundle import System, finalize_bundle, generate_system, prompt_records
from generation.images import ensure_writable_dir

__all__ = ["PLAN_FILE", "write_plan", "load_plan", "chunks", "run_chunk", "finalize", "write_bundle", "build_jaq", "build_quality"]

PLAN_FILE = "bundle_plan.json"
#: Plan keys that say how to run, not what to make: a rerun may change them.
_EXECUTION_ONLY = ("batch_size",)


def write_plan(out_dir, *, name: str, systems: list[dict], prompts, seeds, call: dict, source: dict,
               jaq: dict | None = None, fid_reference: str | None = None, comparisons="all-pairs",
               batch_size: int = 4) -> dict:
    """Validate and write ``bundle_plan.json``; returns the plan. Bad input writes nothing."""
    from formats.bundle import MIN_SYSTEMS
    from generation.bundle import _check_seeds, _comparisons
    from generation.manifest import check_id

    check_id(name, "bundle name")
    if not systems:
        raise ValueError("the system list is empty")
    ids = [check_id(s["id"], f"systems[{i}].id") for i, s in enumerate(systems)]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate system ids in {ids}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    plan = {"name": name, "systems": systems, "prompts": prompt_records(prompts), "seeds": _check_seeds(seeds),
            "call": call, "source": source, "jaq": jaq,
            "fid_reference": str(fid_reference) if fid_reference is not None else None,
            "comparisons": _comparisons(comparisons, ids), "batch_size": batch_size}
    if len(ids) < MIN_SYSTEMS:  # the importer would refuse the bundle: refuse before any work
        raise ValueError(f"systems: a pairwise study needs at least {MIN_SYSTEMS} systems, got {ids}")
    root = ensure_writable_dir(out_dir)
    existing = root / PLAN_FILE
    if existing.is_file():
        old = json.loads(existing.read_text())
        if _what_to_make(old) != _what_to_make(json.loads(json.dumps(plan))):
            raise ValueError(f"{str(existing)!r} holds a different plan; use a new output directory to change "
                             "systems, prompts, seeds or settings")
    existing.write_text(json.dumps(plan, indent=1))
    return plan


def _what_to_make(plan: dict) -> dict:
    return {k: v for k, v in plan.items() if k not in _EXECUTION_ONLY}


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
    """Generate one chunk of a plan with ``pipe`` (a pipeline or a factory), or the system's recipe."""
    from generation.systems import build_pipeline

    plan = load_plan(out_dir)
    entry = next((s for s in plan["systems"] if s["id"] == system_id), None)
    if entry is None:
        raise ValueError(f"system {system_id!r} is not in the plan")
    wanted = set(prompt_ids)
    prompts = [p for p in plan["prompts"] if p["id"] in wanted]
    if len(prompts) != len(wanted):
        raise ValueError(f"unknown prompt ids: {sorted(wanted - {p['id'] for p in prompts})}")
    if pipe is None:
        if "quant" not in entry:
            raise ValueError(f"system {system_id!r} was planned with a pipeline built by its caller; pass pipe=")
        pipe = functools.partial(build_pipeline, entry, **plan["source"])
    system = System(entry["id"], entry["label"], pipe, call_kwargs=entry.get("call", {}))
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
    systems = [{"id": s["id"], "label": s["label"], "config": _manifest_config(s, plan)} for s in plan["systems"]]
    return finalize_bundle(out_dir, plan["name"], systems, plan["prompts"], plan["seeds"], jaq=jaq,
                           fid_reference=plan["fid_reference"], fid_extractor=fid_extractor,
                           comparisons=plan["comparisons"], progress=progress)


def _manifest_config(entry: dict, plan: dict) -> dict:
    """A system's manifest ``config``: as given, or derived from its recipe and the plan."""
    if "config" in entry:
        return entry["config"]
    config = {k: v for k, v in entry.items() if k not in ("id", "label")}
    config |= dict(entry["qsched"] or {})  # c_x / c_theta at the top, as in the contract's example
    return config | {"source": plan["source"], "call": plan["call"]}


def write_bundle(out_dir, name: str, systems, prompts, seeds, *, num_inference_steps: int,
                 guidance_scale: float | None = None, height: int | None = None, width: int | None = None,
                 batch_size: int = 4, jaq=None, fid_reference=None, fid_extractor=None, comparisons="all-pairs",
                 progress: bool = True, **pipe_kwargs) -> dict:
    """Plan, generate and finalize a bundle in-process from pipelines built by the caller.

    Parameters
    ----------
    out_dir : path
        Bundle directory (created; must be writable). Rerunning with the same
        arguments resumes; different arguments are refused.
    name : str
        Bundle name (a contract id).
    systems : list of :class:`generation.bundle.System`
        ``pipe`` may be a pipeline or a factory (only called when an image is
        missing); ``config`` goes into the manifest as given; ``call_kwargs``
        override the shared call settings.
    prompts : list of str or {"id", "text"}
    seeds : list of int
    num_inference_steps, guidance_scale, height, width, **pipe_kwargs :
        Pipeline call settings shared by all systems.
    batch_size : int
        Images per pipeline call.
    jaq, fid_reference, fid_extractor, comparisons :
        See :func:`generation.bundle.finalize_bundle`.

    Returns
    -------
    dict
        The manifest, also written to ``out_dir/manifest.json``.

    Examples
    --------
    >>> write_bundle("out/bundle", "sdxl-turbo-w4a8",
    ...              [System("fp16", "FP16", fp16_pipe), System("w4a8", "W4A8", w4a8_pipe)],
    ...              ["a red fox asleep in fresh snow"], seeds=[0, 1], num_inference_steps=4,
    ...              guidance_scale=0.0, jaq=my_jaq, comparisons=[("w4a8", "fp16")])
    """
    from tqdm.auto import tqdm

    entries = [{"id": s.id, "label": s.label, "config": s.config} | ({"call": s.call_kwargs} if s.call_kwargs else {})
               for s in systems]
    call = dict(num_inference_steps=num_inference_steps, guidance_scale=guidance_scale, height=height, width=width,
                **pipe_kwargs)
    plan = write_plan(out_dir, name=name, systems=entries, prompts=prompts, seeds=seeds, call=call, source={},
                      fid_reference=fid_reference, comparisons=comparisons, batch_size=batch_size)
    prompt_ids = [p["id"] for p in plan["prompts"]]
    with tqdm(total=len(systems) * len(prompt_ids) * len(plan["seeds"]), desc=f"bundle {name}", unit="img",
              disable=not progress) as bar:
        for s in systems:
            bar.set_postfix(system=s.id)
            run_chunk(out_dir, s.id, prompt_ids, progress=bar, pipe=s.pipe)
    return finalize(out_dir, jaq=jaq, fid_extractor=fid_extractor, progress=progress)
