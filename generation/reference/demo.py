"""The demo study bundle: the reference model as FP32, FP32 + Q-Sched, naive W4A8 and W4A8 + Q-Sched.

FP32 + Q-Sched (coefficients calibrated on FP32) is the control the paper lacks:
if it beats FP32 as much as W4A8 + Q-Sched beats W4A8, Q-Sched corrects the
few-step sampler rather than the quantization. Every pair of the four systems
is compared (6 comparisons), so the Bradley-Terry graph is complete.

>>> from generation.reference.demo import build_demo_bundle
>>> build_demo_bundle("var/demo_bundle")          # ~1-3 minutes on a laptop CPU

Uses the real generation module: :func:`generation.quantize.quantize_denoiser`
(W4A8, Linear layers), :class:`generation.qsched.QSched` (coefficients shipped
in ``<pipeline>/qsched.json``, one set per system, found by ``results.py`` with
:func:`generation.calibrate.calibrate`, or searched afresh with
``calibrate=True``), the paper's JAQ form with the world scorer standing in
for CLIP ViT-L/14 (:func:`generation.reference.results.make_jaq`), and the
same bundle path as the CLI, :func:`generation.plan.write_bundle` (``write_plan
-> run_chunk -> finalize``; contract section 1; per-system JAQ and the world's
Frechet distance as ``fid``). The world's reference statistics are kept in the
bundle's ``.state/`` folder, so a rerun resumes the same plan.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Sequence

from . import world
from .coefficients import QSCHED_PATH, calibration_prompts, load_qsched_coefficients, qsched_path
from .model import DEFAULT_GUIDANCE, DEFAULT_PIPELINE, DEFAULT_STEPS, load_pipeline
from .results import make_jaq, reference_features
from .scorer import load_scorer

__all__ = ["QSCHED_PATH", "DEMO_SYSTEMS", "build_demo_bundle", "load_qsched_coefficients", "demo_prompts"]

#: The demo's systems, in manifest order.
DEMO_SYSTEMS = ("fp32", "fp32-qsched", "w4a8", "w4a8-qsched")


class _Upscaled:
    """Pipeline adapter: the images come back enlarged (nearest neighbour) for display."""

    def __init__(self, pipe, factor: int):
        self.pipe, self.factor = pipe, factor

    def __getattr__(self, name):  # scheduler, components, ...: the wrapped pipeline's
        return getattr(self.pipe, name)

    def __call__(self, *args, **kwargs):
        out = self.pipe(*args, **kwargs)
        if self.factor > 1:
            from PIL import Image

            out.images = [im.resize((im.width * self.factor, im.height * self.factor), Image.NEAREST)
                          for im in out.images]
        return out


def demo_prompts(n_prompts: int) -> list[str]:
    """Half training-distribution, half held-out captions (distinct, deterministic)."""
    if n_prompts < 1:
        raise ValueError(f"n_prompts must be >= 1, got {n_prompts}")
    n_held = n_prompts // 2
    train = [s.caption for s in world.distinct_scenes(n_prompts - n_held, seed=31, split="train")]
    return train + [s.caption for s in world.distinct_scenes(n_held, seed=32, split="heldout")]


def build_demo_bundle(out_dir: str | Path, n_prompts: int = 12, seeds: Sequence[int] = (0, 1), *,
                      pipeline: str | Path = DEFAULT_PIPELINE, calibrate: bool = False, upscale: int = 2,
                      progress: bool = True) -> Path:
    """Write a contract bundle with systems ``fp32``, ``fp32-qsched``, ``w4a8`` and ``w4a8-qsched``.

    Parameters
    ----------
    out_dir : path
        Bundle directory (created; rerunning resumes and verifies existing images).
    n_prompts : int
        Number of captions (half of them held-out combinations).
    seeds : sequence of int
        Seeds; every system draws each (prompt, seed) from the same initial noise.
    pipeline : path
        Reference pipeline folder (default: the shipped weights).
    calibrate : bool
        Search Q-Sched coefficients now (coarse-to-fine, 5 calibration prompts,
        once on FP32 and once on W4A8) instead of reading ``<pipeline>/qsched.json``.
    upscale : int
        Images are stored ``upscale`` times the model's 64 pixels wide (nearest neighbour), so
        annotators see crisp pixels; the scorer box-filters them back exactly.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    from generation.bundle import STATE_DIR
    from generation.fid import feature_statistics, save_statistics
    from generation.plan import write_bundle

    if not isinstance(upscale, int) or upscale < 1:
        raise ValueError(f"upscale must be a positive integer, got {upscale!r}")
    prompts = demo_prompts(n_prompts)
    scorer = load_scorer()
    jaq = make_jaq(scorer)
    systems = _demo_systems(pipeline, jaq, calibrate, upscale, progress)
    scenes = {s.caption: s for s in world.distinct_scenes(n_prompts - n_prompts // 2, seed=31, split="train")}
    scenes |= {s.caption: s for s in world.distinct_scenes(n_prompts // 2, seed=32, split="heldout")}
    stats = Path(out_dir) / STATE_DIR / "world_reference.npz"  # deterministic: same file, same plan on a rerun
    stats.parent.mkdir(parents=True, exist_ok=True)
    save_statistics(stats, *feature_statistics(reference_features(scorer, [scenes[p] for p in prompts],
                                                                  renders_per_scene=16)))
    write_bundle(out_dir, "reference-shapes-w4a8", systems, prompts, list(seeds), num_inference_steps=DEFAULT_STEPS,
                 guidance_scale=DEFAULT_GUIDANCE, batch_size=16, jaq=jaq, fid_reference=stats,
                 fid_extractor=lambda images: scorer.image_features(images, normalize=False).numpy(),
                 comparisons=list(itertools.combinations(DEMO_SYSTEMS, 2)),
                 progress=progress)
    return Path(out_dir)


def _demo_systems(pipeline, jaq, calibrate: bool, upscale: int, progress: bool) -> list:
    """FP32 and naive W4A8, each also with Q-Sched calibrated on it (shipped or searched now), upscaled."""
    from generation.bundle import System
    from generation.images import stock_scheduler
    from generation.qsched import QSched
    from generation.quantize import quantize_denoiser

    def build(quantized: bool):
        pipe = load_pipeline(pipeline)
        return pipe, (quantize_denoiser(pipe.unet, scheme="w4a8") if quantized else None)

    common = {"model": "qsched-eval reference shapes model", "steps": DEFAULT_STEPS, "guidance": DEFAULT_GUIDANCE}
    systems = []
    for sid, label, qs_label in (("fp32", "Reference model FP32, 4 steps", "FP32 + Q-Sched (calibrated on FP32)"),
                                 ("w4a8", "W4A8 (naive)", "W4A8 + Q-Sched (calibrated on W4A8)")):
        plain, report = build(sid == "w4a8")
        common["scheduler"] = type(stock_scheduler(plain)).__name__
        quant = {} if report is None else {"quantization": "w4a8", "backend": report.backend,
                                           "quantized_layers": len(report.quantized),
                                           "unet_bytes_packed": report.bytes_after_packed}
        qs, _ = build(sid == "w4a8")
        coeffs = _calibrate_now(qs, jaq, progress) if calibrate else load_qsched_coefficients(qsched_path(pipeline), sid)
        qs.scheduler = QSched(stock_scheduler(qs), c_x=tuple(coeffs["c_x"]), c_theta=tuple(coeffs["c_theta"]))
        systems += [
            System(sid, label, _Upscaled(plain, upscale), common | quant),
            System(f"{sid}-qsched", qs_label, _Upscaled(qs, upscale),
                   common | quant | {"c_x": coeffs["c_x"], "c_theta": coeffs["c_theta"], "calibrated_on": sid}),
        ]
    return sorted(systems, key=lambda s: DEMO_SYSTEMS.index(s.id))


def _calibrate_now(pipe, jaq, progress: bool) -> dict:
    """Coarse-to-fine search on the 5 calibration prompts (as ``results.py`` does)."""
    from generation.calibrate import calibrate

    found = calibrate(pipe, calibration_prompts(5), seed=0, strategy="coarse-to-fine", jaq=jaq,
                      num_inference_steps=DEFAULT_STEPS, guidance_scale=DEFAULT_GUIDANCE, progress=progress)
    return {"c_x": list(found.c_x), "c_theta": list(found.c_theta), "source": "calibrated now"}


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="Build the demo study bundle from the reference model")
    p.add_argument("--out", type=Path, default=Path("var/demo_bundle"))
    p.add_argument("--prompts", type=int, default=12)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--calibrate", action="store_true", help="search Q-Sched coefficients now")
    a = p.parse_args(argv)
    print(build_demo_bundle(a.out, a.prompts, a.seeds, calibrate=a.calibrate))


if __name__ == "__main__":
    main()
