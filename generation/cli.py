"""Command line: ``python -m generation calibrate|quantize-report|fid|bundle|validate|presets ...``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]


#: ``calibrate`` settings when neither a flag nor ``--protocol`` gives them.
_CALIBRATE_DEFAULTS = {"seed": 0, "strategy": "coarse-to-fine", "grid_size": 21, "bounds": (0.8, 1.2)}


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def _seeds(text: str) -> list[int]:
    out = []
    try:
        for part in text.split(","):
            if "-" in part.strip()[1:]:
                lo, hi = part.split("-")
                out += list(range(int(lo), int(hi) + 1))
            elif part.strip():
                out.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed list such as 0,1,2 or 0-9") from None
    return out


def _model_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="a preset name (see `python -m generation presets`)")
    src.add_argument("--pipeline", help="a local diffusers pipeline folder (save_pretrained output)")
    p.add_argument("--model-path", help="local weights for --preset (default $QSCHED_MODELS_DIR/<folder>)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", help="float16, bfloat16 or float32 (default: the preset's on GPU, float32 on CPU)")


def _call_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, help="denoising steps (default: the preset's)")
    p.add_argument("--guidance", type=float, help="guidance scale (default: the preset's)")
    p.add_argument("--height", type=int)
    p.add_argument("--width", type=int)


def _jaq_args(p: argparse.ArgumentParser) -> None:
    from generation.jaq import PAPER_CLIP_MODEL, UNAVAILABLE_CRITERIA, VARIANTS

    p.add_argument("--clip-model", default=PAPER_CLIP_MODEL[0], help="open_clip model for CLIPScore (paper: ViT-L-14)")
    p.add_argument("--clip-pretrained", default=PAPER_CLIP_MODEL[1], help="open_clip weights tag or checkpoint path")
    p.add_argument("--iqa", default="clipiqa-paper",
                   help="quality term: clipiqa-paper (CLIP-IQA, 'Good photo.'/'Bad photo.', the paper's), or a pyiqa "
                        "no-reference metric such as clipiqa (5 pairs) or piqe (needs no weights)")
    p.add_argument("--k", type=float, default=2.0, help="weight of the quality term")
    p.add_argument("--jaq-variant", choices=[*VARIANTS, *UNAVAILABLE_CRITERIA], default="paper",
                   help="paper: log(max(mean CLIPScore, 0)) + k * mean IQA; mean-log: mean of per-image logs; "
                        "linear: CLIPScore/100 + k * IQA; hpsv2/aqmap/kclip2 need models not shipped here")
    p.add_argument("--jaq-factory", help="MODULE:FUNCTION returning a JAQ-like scorer (overrides the options above)")


def _prompt_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    g = p.add_mutually_exclusive_group(required=required)
    g.add_argument("--prompts", help="text file (one prompt per line), JSON list, or a named set (coco-captions)")
    g.add_argument("--prompt", action="append", help="a prompt (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand, each declared by its own ``_add_<command>``."""
    parser = argparse.ArgumentParser(prog="python -m generation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_presets, _add_quantize_report, _add_calibrate, _add_fid, _add_bundle, _add_validate):
        add(sub)
    return parser


def _add_presets(sub) -> None:
    p = sub.add_parser("presets", help="list the model presets")
    p.set_defaults(func=cmd_presets)


def _add_quantize_report(sub) -> None:
    p = sub.add_parser("quantize-report", help="quantize a denoiser and print its size before/after")
    _model_args(p)
    p.add_argument("--quant", default="w4a8", choices=["w4a8", "w8a8", "w4", "none"])
    p.add_argument("--include-conv", action="store_true", help="also quantize Conv2d (own fake-quant)")
    p.add_argument("--json", help="also write the report as JSON here")
    p.set_defaults(func=cmd_quantize_report)


def _add_calibrate(sub) -> None:
    p = sub.add_parser("calibrate", help="search Q-Sched coefficients by JAQ")
    _model_args(p)
    _call_args(p)
    _jaq_args(p)
    _prompt_args(p)
    p.add_argument("--quant", default="w4a8", choices=["w4a8", "w8a8", "w4", "none"])
    p.add_argument("--protocol", choices=["official", "paper5"],
                   help="a published setting that fixes strategy, grid, bounds, seed and the prompt count (the first "
                        "N of the list): official = grid 50x50 on [0.8, 1.2], 25 prompts, seed 42 (the released "
                        "code); paper5 = the same on 5 prompts (the paper's text)")
    p.add_argument("--seed", type=int, help=f"default {_CALIBRATE_DEFAULTS['seed']}")
    p.add_argument("--strategy", choices=["grid", "coarse-to-fine", "nelder-mead"],
                   help=f"default {_CALIBRATE_DEFAULTS['strategy']}")
    p.add_argument("--grid-size", type=int, help="points per axis of the grid (default 21; official: 50)")
    p.add_argument("--budget", type=int, help="evaluations for the smarter strategies (default: grid/10)")
    p.add_argument("--bounds", type=_floats, help="low,high of both start values (default 0.8,1.2)")
    p.add_argument("--cache", help="image cache directory (default: <out>/cache)")
    p.add_argument("--out", required=True, help="writes scheduler/scheduler_config.json and calibration_report.json")
    p.set_defaults(func=cmd_calibrate)


def _add_fid(sub) -> None:
    p = sub.add_parser("fid", help="Frechet Inception distance of a folder against a folder or .npz statistics")
    p.add_argument("generated")
    p.add_argument("reference")
    p.add_argument("--inception-weights", help="local pt_inception-2015-12-05 weights")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--save-stats", help="write the generated folder's statistics to this .npz")
    p.set_defaults(func=cmd_fid)


def _add_bundle(sub) -> None:
    p = sub.add_parser("bundle", help="generate a study bundle (data contract section 1)")
    _model_args(p)
    _call_args(p)
    _jaq_args(p)
    _prompt_args(p)
    p.add_argument("--systems", help="comma-separated: fp16, bf16, fp32 or float (unquantized, named for the dtype it "
                                     "runs in), w4a8, w8a8, w4, *-qsched (default: <the source's dtype>,w4a8,"
                                     "w4a8-qsched, e.g. fp32 on a CPU, fp16 for sdxl-turbo-4 on a GPU)")
    p.add_argument("--seeds", type=_seeds, default=[0], help="e.g. 0,1,2 or 0-9")
    p.add_argument("--qsched-config", help="calibration output folder holding the Q-Sched coefficients")
    p.add_argument("--c-x", type=_floats, help="c_x start,end (or per-step list)")
    p.add_argument("--c-theta", type=_floats, help="c_theta start,end (or per-step list)")
    p.add_argument("--include-conv", action="store_true")
    p.add_argument("--name", help="bundle name (default: the output folder's name)")
    p.add_argument("--comparisons", default="all-pairs", help="all-pairs or a:b,a:c")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--no-jaq", action="store_true", help="skip JAQ metrics")
    p.add_argument("--fid-ref", help="reference folder or .npz statistics for per-system FID")
    p.add_argument("--celery", action="store_true", help="queue (system, chunk) tasks instead of running here")
    p.add_argument("--chunk-size", type=int, default=16, help="prompts per Celery task")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_bundle)


def _add_validate(sub) -> None:
    p = sub.add_parser("validate", help="check a bundle with the importer's validator; prints ok or the error, "
                                        "exits 0 or 2, writes nothing")
    p.add_argument("bundle_dir", help="directory holding manifest.json")
    p.set_defaults(func=cmd_validate)


def _prompts(args) -> list[str]:
    from generation.bundle import read_prompts

    return list(args.prompt) if args.prompt else read_prompts(args.prompts)


def _call_settings(args) -> dict:
    call = {"num_inference_steps": args.steps, "guidance_scale": args.guidance, "height": args.height,
            "width": args.width}
    if args.preset:
        from generation.presets import get_preset

        preset = get_preset(args.preset)
        defaults = {"num_inference_steps": preset.steps, "guidance_scale": preset.guidance_scale,
                    "height": preset.height, "width": preset.width}
        call = {k: (v if v is not None else defaults[k]) for k, v in call.items()} | preset.pipe_kwargs
    if call["num_inference_steps"] is None:
        raise ValueError("--steps is required with --pipeline")
    return call


def _source(args) -> dict:
    return {"preset": args.preset, "model_path": args.model_path or args.pipeline, "device": args.device,
            "dtype": args.dtype}


def _jaq_settings(args) -> dict:
    if args.jaq_factory:
        return {"factory": args.jaq_factory}
    return {"clip_model": args.clip_model, "clip_pretrained": args.clip_pretrained, "iqa": args.iqa, "k": args.k,
            "variant": args.jaq_variant, "device": args.device}


def cmd_presets(args) -> int:
    from generation.presets import PRESETS

    for p in PRESETS.values():
        lora = f" + LoRA {p.lora[0]}/{p.lora[1]}/{p.lora[2]}" if p.lora else ""
        print(f"{p.name:20} {p.hub_id}{lora}  steps={p.steps} guidance={p.guidance_scale} {p.scheduler} {p.scheduler_settings}")
    return 0


def cmd_quantize_report(args) -> int:
    from generation.systems import build_pipeline

    reports: list = []
    build_pipeline({"quant": args.quant, "include_conv": args.include_conv}, report=reports, **_source(args))
    print(reports[0].to_text())
    if args.json:
        Path(args.json).write_text(json.dumps(reports[0].to_dict(), indent=2))
    return 0


def _calibration_settings(args, prompts: list[str]) -> tuple[list[str], dict]:
    """Prompts and search settings: a protocol's (refusing flags that would change it) or flags over defaults."""
    from generation.calibrate import PROTOCOLS, protocol_prompts

    flags = {"seed": args.seed, "strategy": args.strategy, "grid_size": args.grid_size,
             "bounds": tuple(args.bounds) if args.bounds is not None else None}
    if args.protocol:
        clashing = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v is not None]
        if clashing:
            raise ValueError(f"--protocol {args.protocol} fixes strategy, grid size, bounds and seed; drop "
                             f"{', '.join(clashing)}")
        return protocol_prompts(args.protocol, prompts), PROTOCOLS[args.protocol].settings()
    settings = {k: (v if v is not None else _CALIBRATE_DEFAULTS[k]) for k, v in flags.items()}
    if len(settings["bounds"]) != 2:
        raise ValueError(f"--bounds needs two values low,high, got {list(settings['bounds'])}")
    return prompts, settings


def cmd_calibrate(args) -> int:
    from generation.calibrate import calibrate
    from generation.images import ensure_writable_dir
    from generation.plan import build_jaq
    from generation.systems import build_pipeline

    prompts = _prompts(args)
    if not prompts:
        raise ValueError("the calibration prompt list is empty; give at least one prompt")
    prompts, search = _calibration_settings(args, prompts)
    call = _call_settings(args)
    out = ensure_writable_dir(args.out)
    result = calibrate(
        lambda: build_pipeline({"quant": args.quant}, **_source(args)), prompts, jaq=build_jaq(_jaq_settings(args)),
        budget=args.budget, cache_dir=args.cache or out / "cache",
        cache_context=json.dumps({"source": _source(args), "quant": args.quant}, sort_keys=True), out_dir=out,
        **search, **call,
    )
    print(f"best c_x={result.c_x} c_theta={result.c_theta} JAQ={result.jaq:.4f} after {result.n_evaluations} "
          f"evaluations ({result.pipeline_images} images generated, {result.cached_images} from cache)")
    print(f"wrote {out / 'scheduler' / 'scheduler_config.json'} and {out / 'calibration_report.json'}")
    return 0


def cmd_fid(args) -> int:
    from generation.fid import InceptionFeatures, feature_statistics, fid_between, folder_features, save_statistics

    extractor = InceptionFeatures(args.inception_weights)
    print(f"FID = {fid_between(args.generated, args.reference, extractor, args.batch_size):.4f}")
    if args.save_stats:
        save_statistics(args.save_stats, *feature_statistics(folder_features(args.generated, extractor)))
    return 0


def cmd_bundle(args) -> int:
    from tqdm.auto import tqdm

    from generation import plan as plans
    from generation.images import ensure_writable_dir
    from generation.presets import source_dtype
    from generation.systems import float_system_name, parse_system, read_qsched_config

    out = ensure_writable_dir(args.out)
    qsched = read_qsched_config(args.qsched_config) if args.qsched_config else None
    if args.c_x or args.c_theta:
        qsched = {"c_x": args.c_x or [1.0, 1.0], "c_theta": args.c_theta or [1.0, 1.0]}
    dtype = source_dtype(args.preset, args.device, args.dtype)
    names = args.systems or f"{float_system_name(dtype)},w4a8,w4a8-qsched"
    systems = [parse_system(s, qsched, args.include_conv, source_dtype=dtype) for s in names.split(",") if s.strip()]
    comparisons = "all-pairs"
    if args.comparisons != "all-pairs":
        comparisons = [tuple(pair.split(":")) for pair in args.comparisons.split(",")]
        if any(len(c) != 2 for c in comparisons):
            raise ValueError(f"--comparisons must be all-pairs or a:b,a:c, got {args.comparisons!r}")
    plan = plans.write_plan(
        out, name=args.name or out.resolve().name, systems=systems, prompts=_prompts(args), seeds=args.seeds,
        call=_call_settings(args), source=_source(args), jaq=None if args.no_jaq else _jaq_settings(args),
        fid_reference=args.fid_ref, comparisons=comparisons, batch_size=args.batch_size,
    )
    if args.celery:
        from generation.tasks import submit

        result = submit(str(out), args.chunk_size)
        print(f"queued {len(plans.chunks(plan, args.chunk_size))} chunks; chord id {result.id}")
        return 0
    jaq = plans.build_jaq(plan["jaq"])  # fail on missing JAQ weights before hours of generation
    total = len(plan["systems"]) * len(plan["prompts"]) * len(plan["seeds"])
    with tqdm(total=total, desc=f"bundle {plan['name']}", unit="img") as bar:
        for system_id, prompt_ids in plans.chunks(plan, len(plan["prompts"])):
            bar.set_postfix(system=system_id)
            plans.run_chunk(out, system_id, prompt_ids, progress=bar)
    manifest = plans.finalize(out, jaq=jaq)
    print(f"wrote {out / 'manifest.json'}: {len(manifest['systems'])} systems, {len(manifest['images'])} images")
    for s in manifest["systems"]:
        print(f"  {s['id']:16} " + " ".join(f"{k}={v:.4f}" for k, v in s["metrics"].items()))
    return 0


def cmd_validate(args) -> int:
    """``ok`` and what the bundle holds, or (through :func:`main`) the error naming entry and field, exit 2."""
    from formats.bundle import load_bundle

    spec = load_bundle(args.bundle_dir)
    print(f"ok: {len(spec.systems)} systems, {len(spec.prompts)} prompts, {len(spec.images)} images, "
          f"{len(spec.comparisons)} comparisons")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status. Errors in input print one line and exit with status 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
