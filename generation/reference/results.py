"""Measure FP32, naive W4A8 and W4A8 + Q-Sched on held-out prompts (the README table).

Usage::

    python -m generation.reference.results [--prompts 48] [--seeds 0 1] [--out var/reference/results]

For each system it generates one 4-step image per (held-out prompt, seed) from
the same initial noise and reports

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
prompts), maximising the same JAQ. Writes ``results.json`` and ``results.md``
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
from .coefficients import calibration_prompts, save_qsched_coefficients
from .data import CACHE_DIR
from .model import DEFAULT_GUIDANCE, DEFAULT_PIPELINE, DEFAULT_STEPS, load_pipeline
from .scorer import load_scorer

__all__ = ["make_jaq", "jaq_standard_error", "reference_features", "evaluate_system", "unet_output_error", "main"]


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


def evaluate_system(pipe, scorer, jaq, prompts, seeds, ref_stats, steps=DEFAULT_STEPS,
                    guidance=DEFAULT_GUIDANCE, batch_size: int = 48) -> tuple[dict, list]:
    """Generate every (prompt, seed) image and measure it; returns ``(metrics, images)``."""
    from generation.fid import feature_statistics, frechet_distance
    from generation.images import generate_images

    pairs = [(p, s) for s in seeds for p in prompts]
    images = []
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i:i + batch_size]
        images += generate_images(pipe, [p for p, _ in chunk], [s for _, s in chunk],
                                  num_inference_steps=steps, guidance_scale=guidance)
    texts = [p for p, _ in pairs]
    feats = scorer.image_features(images, normalize=False).numpy()
    fd = frechet_distance(*feature_statistics(feats), *ref_stats)
    sim = scorer.similarity(images, prompts)
    own = torch.tensor([prompts.index(t) for t in texts])
    top1 = float((sim.argmax(1) == own).float().mean())
    scored = jaq.score(images, texts)
    return {"world_fd": fd, "clip_score": float(scored.clip_score.mean()), "top1": top1,
            "iqa": float(scored.iqa.mean()), "jaq": scored.mean,
            "jaq_sem": jaq_standard_error(jaq, scored),
            "clip_score_sem": float(scored.clip_score.std() / len(images) ** 0.5)}, images


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


def _quantized(path, scheme: str, include_conv: bool):
    from generation.quantize import quantize_denoiser

    pipe = load_pipeline(path)
    report = quantize_denoiser(pipe.unet, scheme=scheme, include_conv=include_conv)
    return pipe, report


def _row(name, m, nbytes):
    return (f"| {name} | {m['world_fd']:.3f} | {m['clip_score']:.2f} | {m['top1']:.3f} | "
            f"{m['iqa']:.4f} | {m['jaq']:.4f} ± {m['jaq_sem']:.4f} | {nbytes / 1e6:.2f} MB |")


def run(path=DEFAULT_PIPELINE, n_prompts: int = 48, seeds=(0, 1), out: Path = CACHE_DIR / "results",
        strategy: str = "coarse-to-fine", include_conv_rows: bool = True, save_qsched: bool = True,
        k: float = 2.0) -> dict:
    """Measure every system; returns the results dict (also written to ``out``)."""
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
    fp32 = load_pipeline(path)
    results: dict = {"prompts": prompts, "seeds": list(seeds), "calibration_prompts": calib_prompts,
                     "steps": DEFAULT_STEPS, "guidance": DEFAULT_GUIDANCE, "jaq_k": k, "systems": {}}
    fp32_bytes = sum(p.numel() * p.element_size() for p in fp32.unet.parameters())
    m, _ = evaluate_system(fp32, scorer, jaq, prompts, seeds, ref_stats)
    results["systems"]["fp32"] = {"label": "FP32", "metrics": m, "unet_bytes": fp32_bytes}
    variants = [("w4a8", False)] + ([("w4a8-conv", True)] if include_conv_rows else [])
    for sid, conv in variants:
        q, report = _quantized(path, "w4a8", conv)
        label = "W4A8" + (" (Linear + conv)" if conv else "")
        m, _ = evaluate_system(q, scorer, jaq, prompts, seeds, ref_stats)
        nbytes = report.bytes_after_packed
        errs = unet_output_error(fp32, q, prompts[:16])
        results["systems"][sid] = {"label": label, "metrics": m, "unet_bytes": nbytes,
                                   "unet_bytes_in_memory": report.bytes_after_memory,
                                   "backend": report.backend, "n_quantized": len(report.quantized),
                                   "n_skipped": len(report.skipped), "unet_rel_error_per_step": errs}
        cal = calibrate(q, calib_prompts, seed=0, strategy=strategy, jaq=jaq,
                        num_inference_steps=DEFAULT_STEPS, guidance_scale=DEFAULT_GUIDANCE,
                        cache_dir=out / "calibration_cache", cache_context=f"reference/{sid}",
                        out_dir=out / f"calibration-{sid}")
        q.scheduler = QSched(stock_scheduler(q), c_x=cal.c_x, c_theta=cal.c_theta)
        m, _ = evaluate_system(q, scorer, jaq, prompts, seeds, ref_stats)
        jaqs = [pt["jaq"] for pt in cal.points]
        results["systems"][sid + "-qsched"] = {
            "label": label + " + Q-Sched", "metrics": m, "unet_bytes": nbytes,
            "c_x": list(cal.c_x), "c_theta": list(cal.c_theta), "calibration_jaq": cal.jaq,
            "calibration_evaluations": cal.n_evaluations,
            "calibration_jaq_range": [min(jaqs), max(jaqs)],
            "calibration_jaq_at_identity": next((pt["jaq"] for pt in cal.points
                                                 if pt["c_x"] == 1.0 and pt["c_theta"] == 1.0), None)}
        if sid == "w4a8" and save_qsched:
            save_qsched_coefficients({
                "c_x": list(cal.c_x), "c_theta": list(cal.c_theta), "calibration_jaq": cal.jaq,
                "strategy": strategy, "calibration_prompts": calib_prompts, "seed": 0,
                "quantization": "w4a8 (Linear layers)", "source": "python -m generation.reference.results",
            })
    results["seconds"] = round(time.time() - t0, 1)
    results["torch_threads"] = torch.get_num_threads()
    header = ("| system | world FD (lower better) | scorer CLIPScore | top-1 caption | quality (PIQE) "
              "| JAQ ± s.e. | UNet bytes (packed) |\n|---|---|---|---|---|---|---|")
    rows = [_row(v["label"], v["metrics"], v["unet_bytes"]) for v in results["systems"].values()]
    table = "\n".join([header, *rows])
    results["table"] = table
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(table + "\n")
    return results


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pipeline", type=Path, default=DEFAULT_PIPELINE)
    p.add_argument("--prompts", type=int, default=48, help="number of held-out prompts")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--strategy", default="coarse-to-fine", help="calibration search (grid is the paper's)")
    p.add_argument("--no-conv-rows", action="store_true", help="skip the W4A8 Linear+conv variant")
    p.add_argument("--out", type=Path, default=CACHE_DIR / "results")
    p.add_argument("--no-save-qsched", action="store_true",
                   help="do not overwrite the shipped weights/qsched.json used by the demo")
    p.add_argument("--k", type=float, default=2.0, help="JAQ weight of the quality term (0: alignment only)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    a = p.parse_args(argv)
    if a.prompts < 2:
        raise SystemExit(f"--prompts must be >= 2, got {a.prompts}")
    torch.set_num_threads(a.threads)
    r = run(a.pipeline, a.prompts, tuple(a.seeds), a.out, a.strategy, not a.no_conv_rows,
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
