"""Measure FP32, W4A8 and W4A4, each with and without Q-Sched, on held-out prompts (the README table).

Usage::

    python -m generation.reference.results [--prompts 48] [--seeds 0 1 2] [--out var/reference/results]

Q-Sched is calibrated on each system separately, FP32 included: FP32 + Q-Sched
is the control the paper lacks (does Q-Sched correct quantization error, or the
few-step sampler's error that FP32 has too?). For each system it generates one
4-step image per (held-out prompt, seed) from the same initial noise and reports,
per seed, then as mean ± standard error over seeds

* ``world FD``: Frechet distance between the scorer's image features of the
  generated images and of freshly rendered world images of the same prompts;
* ``scorer CLIPScore``: 100 * cos(image, caption) with the world scorer;
* ``top-1``: how often an image's own caption is the scorer's first choice
  among all evaluation prompts;
* ``JAQ``: the paper's form, log(max(mean CLIPScore, 0)) + k * mean quality (the
  world scorer for CLIPScore, PIQE as ``1 - piqe/100`` for quality), k = 2;
* ``UNet bytes``: nominal packed size of the denoiser (int4 = half a byte).

Q-Sched's coefficients are searched with :func:`generation.calibrate.calibrate`
on 5 calibration prompts (training distribution, disjoint from the evaluation
prompts), maximising the same JAQ; all of them are saved to ``<pipeline>/qsched.json``. Writes ``results.json`` and ``results.md``
and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from . import world
from .coefficients import calibration_prompts, qsched_path, save_qsched_coefficients
from .data import CACHE_DIR
from .model import DEFAULT_GUIDANCE, DEFAULT_PIPELINE, DEFAULT_STEPS, load_pipeline
from .scorer import load_scorer

__all__ = ["make_jaq", "jaq_standard_error", "reference_features", "mean_sem", "evaluate_system", "unet_output_error", "main"]


def make_jaq(scorer, quality: str = "piqe", k: float = 2.0, variant: str = "paper"):
    """The paper's JAQ form on the reference model: ``log(max(mean(100 cos), 0)) + k * mean(quality)``.

    The world scorer stands in for CLIP ViT-L/14 (it is an open_clip CLIP trained
    on the shapes world); PIQE stands in for CLIP-IQA, whose CLIP RN50 weights are
    not shipped (and whose "Good photo." prompt means nothing to the world scorer's
    shape vocabulary). ``variant`` picks another form (``mean-log``, ``linear``).
    """
    from generation.jaq import JAQ, CLIPScore, PyIQA

    return JAQ(text_image=CLIPScore(model=scorer.model, tokenizer=scorer.tokenizer,
                                    preprocess=scorer.preprocess, batch_size=64),
               quality=PyIQA(quality, batch_size=64), k=k, variant=variant)


def reference_features(scorer, scenes, renders_per_scene: int = 8, seed: int = 0) -> np.ndarray:
    """Scorer image features of ``renders_per_scene`` world renders of each scene."""
    rng = np.random.default_rng(seed)
    imgs = np.stack([world.render(s, rng) for s in scenes for _ in range(renders_per_scene)])
    return scorer.image_features(imgs, normalize=False).numpy()


def mean_sem(values) -> tuple[float, float]:
    """Mean and standard error of the mean (``nan`` for a single value)."""
    arr = np.asarray(values, dtype=float)
    sem = float(arr.std(ddof=1) / np.sqrt(len(arr))) if len(arr) > 1 else float("nan")
    return float(arr.mean()), sem


def evaluate_system(pipe, scorer, jaq, prompts, seeds, ref_stats, steps=DEFAULT_STEPS,
                    guidance=DEFAULT_GUIDANCE, batch_size: int = 48) -> tuple[dict, list]:
    """Generate every (prompt, seed) image and measure it; returns ``(metrics, images)``.

    Each metric is computed once per seed (that seed's image of every prompt) and
    reported as the mean over seeds with its standard error over seeds
    (``<name>`` and ``<name>_sem``; the per-seed values under ``per_seed``).
    ``jaq_sem_delta`` is the delta-method standard error over all images.
    """
    from generation.fid import feature_statistics, frechet_distance
    from generation.images import generate_images

    pairs = [(p, s) for s in seeds for p in prompts]
    images = []
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i:i + batch_size]
        images += generate_images(pipe, [p for p, _ in chunk], [s for _, s in chunk],
                                  num_inference_steps=steps, guidance_scale=guidance)
    per_seed: dict[str, list] = {"world_fd": [], "clip_score": [], "top1": [], "iqa": [], "jaq": []}
    own = torch.arange(len(prompts))
    for j in range(len(seeds)):
        imgs = images[j * len(prompts):(j + 1) * len(prompts)]
        feats = scorer.image_features(imgs, normalize=False).numpy()
        per_seed["world_fd"].append(frechet_distance(*feature_statistics(feats), *ref_stats))
        per_seed["top1"].append(float((scorer.similarity(imgs, prompts).argmax(1) == own).float().mean()))
        scored = jaq.score(imgs, list(prompts))
        per_seed["clip_score"].append(float(scored.clip_score.mean()))
        per_seed["iqa"].append(float(scored.iqa.mean()))
        per_seed["jaq"].append(float(scored.mean))
    metrics: dict = {"per_seed": per_seed}
    for name, values in per_seed.items():
        metrics[name], metrics[name + "_sem"] = mean_sem(values)
    metrics["jaq_sem_delta"] = jaq_standard_error(jaq, jaq.score(images, [p for p, _ in pairs]))
    return metrics, images


def jaq_standard_error(jaq, scored) -> float:
    """Standard error of the set's JAQ over its images.

    For the paper's form ``log(mean c) + k * mean q`` this is the delta method:
    the standard error of the mean of ``c_i / mean(c) + k * q_i``; for the
    per-image forms, the standard error of the mean per-image JAQ.
    """
    n = len(scored.jaq)
    if getattr(jaq, "variant", None) == "paper" and scored.cosine100 is not None:
        mean_c = float(scored.cosine100.mean())
        if mean_c > 0:
            return float((scored.cosine100 / mean_c + jaq.k * scored.iqa).std() / n ** 0.5)
    return float(scored.jaq.std() / n ** 0.5)


@torch.no_grad()
def unet_output_error(pipe_ref, pipe_q, prompts, seed: int = 0, steps: int = DEFAULT_STEPS) -> list[float]:
    """Relative error ``|u_q - u| / |u|`` of the quantized UNet's output along the FP32 trajectory."""
    from generation.images import stock_scheduler

    sched = stock_scheduler(pipe_ref)
    sched.set_timesteps(steps)
    emb = pipe_ref.encode_prompt(list(prompts), "cpu", 1, False)[0]
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((len(prompts), 4, 16, 16), generator=g) * sched.init_noise_sigma
    errs = []
    for t in sched.timesteps:
        u = pipe_ref.unet(x, t, emb).sample
        uq = pipe_q.unet(x, t, emb).sample
        errs.append(float((uq - u).norm() / u.norm()))
        x = sched.step(u, t, x, generator=g).prev_sample
    return errs


def _build(path, scheme: str | None, include_conv: bool):
    """The pipeline, quantized with ``scheme`` (``None``: FP32), and the size report (``None`` for FP32)."""
    from generation.quantize import quantize_denoiser

    pipe = load_pipeline(path)
    report = None if scheme is None else quantize_denoiser(pipe.unet, scheme=scheme, include_conv=include_conv)
    return pipe, report


#: ``(id, label, scheme or None for FP32, include_conv)``; every one is also run with Q-Sched calibrated on it.
BASE_SYSTEMS = (("fp32", "FP32", None, False), ("w4a8", "W4A8", "w4a8", False), ("w4a4", "W4A4", "w4a4", False))
CONV_SYSTEMS = (("w4a8-conv", "W4A8 (Linear + conv)", "w4a8", True),)


def _fmt(m: dict, name: str, digits: int) -> str:
    return f"{m[name]:.{digits}f} ± {m[name + '_sem']:.{digits}f}"


def paired_reference(sid: str) -> str | None:
    """The system a row is compared with seed by seed: a Q-Sched row with its own base, a base with FP32."""
    if sid.endswith("-qsched"):
        return sid[: -len("-qsched")]
    return None if sid == "fp32" else "fp32"


def paired_difference(systems: dict, sid: str, metric: str = "world_fd") -> tuple[float, float] | None:
    """Mean ± s.e. over seeds of ``metric(sid) - metric(reference)`` on the same prompts, seeds and noise."""
    ref = paired_reference(sid)
    if ref is None or ref not in systems:
        return None
    a = np.asarray(systems[sid]["metrics"]["per_seed"][metric])
    b = np.asarray(systems[ref]["metrics"]["per_seed"][metric])
    return mean_sem(a - b)


def _row(sid, systems):
    v = systems[sid]
    m = v["metrics"]
    d = paired_difference(systems, sid)
    delta = "-" if d is None else f"{d[0]:+.3f} ± {d[1]:.3f} vs {systems[paired_reference(sid)]['label'].split(' (')[0]}"
    return (f"| {v['label']} | {_fmt(m, 'world_fd', 3)} | {delta} | {_fmt(m, 'clip_score', 2)} | {_fmt(m, 'jaq', 4)} | "
            f"{m['top1']:.3f} | {v['unet_bytes'] / 1e6:.2f} MB |")


TABLE_HEADER = ("| system | world FD (lower better) | paired change in world FD | scorer CLIPScore | paper JAQ "
                "| top-1 caption | UNet bytes (packed) |\n|---|---|---|---|---|---|---|")


def format_table(results: dict) -> str:
    """The Markdown results table (mean ± s.e. over seeds; the paired change is per seed, then averaged)."""
    return "\n".join([TABLE_HEADER, *(_row(sid, results["systems"]) for sid in results["systems"])])


def run(path=DEFAULT_PIPELINE, n_prompts: int = 48, seeds=(0, 1, 2), out: Path = CACHE_DIR / "results",
        strategy: str = "coarse-to-fine", include_conv_rows: bool = False, save_qsched: bool = True,
        k: float = 2.0) -> dict:
    """Measure every system with and without Q-Sched; returns the results dict (also written to ``out``).

    Q-Sched's coefficients are calibrated separately on each system (FP32 included:
    the control the paper lacks) and, with ``save_qsched``, all are written to
    ``<path>/qsched.json`` (beside the pipeline's weights) for the demo.
    """
    from generation.calibrate import calibrate
    from generation.fid import feature_statistics
    from generation.images import stock_scheduler
    from generation.qsched import QSched

    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scorer = load_scorer()
    jaq = make_jaq(scorer, k=k)
    scenes = world.distinct_scenes(n_prompts, seed=1234, split="heldout")
    prompts = [s.caption for s in scenes]
    calib_prompts = calibration_prompts(5)
    ref_stats = feature_statistics(reference_features(scorer, scenes))
    fp32, _ = _build(path, None, False)
    results: dict = {"prompts": prompts, "seeds": list(seeds), "calibration_prompts": calib_prompts,
                     "steps": DEFAULT_STEPS, "guidance": DEFAULT_GUIDANCE, "jaq_k": k, "systems": {}}
    fp32_bytes = sum(p.numel() * p.element_size() for p in fp32.unet.parameters())
    coefficients = {}
    for sid, label, scheme, conv in BASE_SYSTEMS + (CONV_SYSTEMS if include_conv_rows else ()):
        pipe, report = (fp32, None) if scheme is None else _build(path, scheme, conv)
        nbytes = fp32_bytes if report is None else report.bytes_after_packed
        m, _ = evaluate_system(pipe, scorer, jaq, prompts, seeds, ref_stats)
        entry = {"label": label, "metrics": m, "unet_bytes": nbytes}
        if report is not None:
            entry |= _quantization_details(report, fp32, pipe, prompts)
        results["systems"][sid] = entry
        cal = calibrate(pipe, calib_prompts, seed=0, strategy=strategy, jaq=jaq,
                        num_inference_steps=DEFAULT_STEPS, guidance_scale=DEFAULT_GUIDANCE,
                        cache_dir=out / "calibration_cache", cache_context=f"reference/{sid}/k{k}",
                        out_dir=out / f"calibration-{sid}")
        qs_pipe = _build(path, scheme, conv)[0] if scheme is None else pipe  # FP32 stays the plain baseline
        qs_pipe.scheduler = QSched(stock_scheduler(qs_pipe), c_x=cal.c_x, c_theta=cal.c_theta)
        m, _ = evaluate_system(qs_pipe, scorer, jaq, prompts, seeds, ref_stats)
        results["systems"][sid + "-qsched"] = _qsched_entry(label, m, nbytes, cal)
        if not conv:
            coefficients[sid] = {"c_x": list(cal.c_x), "c_theta": list(cal.c_theta), "calibration_jaq": cal.jaq,
                                 "quantization": label + (" (Linear layers)" if scheme else "")}
    if save_qsched:
        save_qsched_coefficients({"strategy": strategy, "calibration_prompts": calib_prompts, "seed": 0,
                                  "jaq": f"paper, k = {k:g}", "source": "python -m generation.reference.results",
                                  "pipeline": Path(path).name, "systems": coefficients}, qsched_path(path))
    return _write_results(results, out, t0)


def _quantization_details(report, fp32, pipe, prompts) -> dict:
    """A quantized system's size report and its UNet's output error along the FP32 trajectory (16 prompts)."""
    return {"unet_bytes_in_memory": report.bytes_after_memory, "backend": report.backend,
            "n_quantized": len(report.quantized), "n_skipped": len(report.skipped),
            "unet_rel_error_per_step": unet_output_error(fp32, pipe, prompts[:16])}


def _qsched_entry(label: str, metrics: dict, nbytes: int, cal) -> dict:
    """The row of a system with Q-Sched: its metrics and what the calibration ``cal`` found and searched."""
    jaqs = [pt["jaq"] for pt in cal.points]
    return {
        "label": f"{label} + Q-Sched (c_x {cal.c_x[0]:g} -> {cal.c_x[1]:g}, c_theta {cal.c_theta[0]:g} -> "
                 f"{cal.c_theta[1]:g})", "metrics": metrics, "unet_bytes": nbytes,
        "c_x": list(cal.c_x), "c_theta": list(cal.c_theta), "calibration_jaq": cal.jaq,
        "calibration_evaluations": cal.n_evaluations,
        "calibration_jaq_range": [min(jaqs), max(jaqs)],
        "calibration_jaq_at_identity": next((pt["jaq"] for pt in cal.points
                                             if pt["c_x"] == 1.0 and pt["c_theta"] == 1.0), None)}


def _write_results(results: dict, out: Path, t0: float) -> dict:
    """Add the run's time, threads and table to ``results``; write ``results.json`` and ``results.md``."""
    results["seconds"] = round(time.time() - t0, 1)
    results["torch_threads"] = torch.get_num_threads()
    table = format_table(results)
    results["table"] = table
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(table + "\n")
    return results


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pipeline", type=Path, default=DEFAULT_PIPELINE)
    p.add_argument("--prompts", type=int, default=48, help="number of held-out prompts")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--strategy", default="coarse-to-fine", help="calibration search (grid is the paper's)")
    p.add_argument("--conv-rows", action="store_true", help="add the W4A8 Linear+conv variant")
    p.add_argument("--out", type=Path, default=CACHE_DIR / "results")
    p.add_argument("--no-save-qsched", action="store_true",
                   help="do not overwrite the pipeline's shipped qsched.json (the demo reads it)")
    p.add_argument("--k", type=float, default=2.0, help="JAQ weight of the quality term (0: alignment only)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    p.add_argument("--table", type=Path, default=None, metavar="RESULTS_JSON",
                   help="only print the table of an earlier run's results.json")
    a = p.parse_args(argv)
    if a.table is not None:
        print(format_table(json.loads(a.table.read_text())))
        return
    if a.prompts < 2:
        raise SystemExit(f"--prompts must be >= 2, got {a.prompts}")
    torch.set_num_threads(a.threads)
    r = run(a.pipeline, a.prompts, tuple(a.seeds), a.out, a.strategy, a.conv_rows,
            save_qsched=not a.no_save_qsched, k=a.k)
    print(r["table"])
    for sid, v in r["systems"].items():
        extra = {k: v[k] for k in ("c_x", "c_theta", "calibration_jaq_range", "calibration_jaq_at_identity",
                                   "unet_rel_error_per_step") if k in v}
        if extra:
            print(sid, json.dumps(extra))
    print(f"total {r['seconds']} s, {r['torch_threads']} threads")


if __name__ == "__main__":
    main()
