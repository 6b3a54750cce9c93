"""Evaluations-to-target of the Q-Sched search strategies on a model that runs here.

For each strategy, prints how many pipeline evaluations (one evaluation = one
(c_x, c_theta) point on all calibration prompts) it needed to come within 1%
of the exhaustive grid's best JAQ, its own best JAQ, and its total evaluations.

Default: a tiny random SD pipeline (LCM, 4 steps) quantized to W4A8 with the
fake-quant backend, JAQ = tiny random open_clip CLIPScore + PIQE (k=2); this
measures the search, not image quality. Pass --pipeline DIR (a saved diffusers
pipeline, e.g. the project's reference model) and --jaq-factory MOD:FUNC to
run it on a real setup.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_calibration.py --grid-size 21
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = ["a red fox asleep in fresh snow", "a blue bird on a branch", "a bowl of green apples",
           "a lighthouse at dusk", "a cat wearing a yellow hat"]


def tiny_jaq():
    import open_clip
    import torch

    from generation.jaq import JAQ, CLIPScore, PyIQA

    torch.manual_seed(0)
    model = open_clip.CLIP(
        embed_dim=32,
        vision_cfg=open_clip.model.CLIPVisionCfg(layers=2, width=64, patch_size=4, image_size=32, head_width=32),
        text_cfg=open_clip.model.CLIPTextCfg(context_length=77, vocab_size=49408, width=64, heads=2, layers=2),
    )
    clip = CLIPScore(model=model, preprocess=open_clip.image_transform(32, is_train=False))
    return JAQ(text_image=clip, quality=PyIQA("piqe"), k=2.0)


def main(argv=None) -> int:
    import importlib

    from generation.calibrate import calibrate
    from generation.search import evaluations_to_target

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipeline", help="saved diffusers pipeline folder (default: tiny random SD + W4A8)")
    ap.add_argument("--quant", default="w4a8")
    ap.add_argument("--jaq-factory", help="MODULE:FUNCTION returning a JAQ (default: tiny CLIP + PIQE)")
    ap.add_argument("--grid-size", type=int, default=21)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--guidance", type=float, default=1.0)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", help="image cache dir (default: a temporary one)")
    ap.add_argument("--json", help="write the table as JSON here")
    args = ap.parse_args(argv)

    if args.jaq_factory:
        mod, _, fn = args.jaq_factory.partition(":")
        jaq = getattr(importlib.import_module(mod), fn)()
    else:
        jaq = tiny_jaq()

    def factory():
        from generation.systems import build_pipeline

        if args.pipeline:
            return build_pipeline({"quant": args.quant}, model_path=args.pipeline)
        from generation.quantize import quantize_denoiser
        from tests.generation.tiny import tiny_sd_pipeline

        pipe = tiny_sd_pipeline("lcm")
        quantize_denoiser(pipe.unet, args.quant, backend="fake")
        return pipe

    cache = args.cache or tempfile.mkdtemp(prefix="bench-calib-")
    common = dict(num_inference_steps=args.steps, guidance_scale=args.guidance, height=args.size, width=args.size,
                  grid_size=args.grid_size, cache_dir=cache, cache_context=f"{args.pipeline}/{args.quant}")
    pipe = factory()  # built once, shared by all strategies
    rows, results = [], {}
    for strategy in ("grid", "coarse-to-fine", "nelder-mead"):
        t0 = time.perf_counter()
        results[strategy] = calibrate(pipe, PROMPTS, seed=args.seed, strategy=strategy, jaq=jaq, **common)
        results[strategy].settings["seconds"] = time.perf_counter() - t0
    grid_best = results["grid"].jaq
    target = grid_best - 0.01 * abs(grid_best)
    strict = grid_best - 0.001 * abs(grid_best)
    spread = max(p["jaq"] for p in results["grid"].points) - min(p["jaq"] for p in results["grid"].points)
    for strategy, r in results.items():
        points = [{"value": p["jaq"]} for p in r.points]
        rows.append({"strategy": strategy, "evaluations": r.n_evaluations,
                     "evaluations_to_target": evaluations_to_target(points, target),
                     "evaluations_to_0.1pct": evaluations_to_target(points, strict), "best_jaq": r.jaq,
                     "gap_to_grid_pct": 100 * (grid_best - r.jaq) / abs(grid_best), "best_c_x": r.c_x[0],
                     "best_c_theta": r.c_theta[0], "seconds": r.settings["seconds"]})
    print(f"\ncalibration search, {len(PROMPTS)} prompts, grid {args.grid_size}x{args.grid_size}, "
          f"target = within 1% of the grid's best JAQ ({grid_best:.4f}); JAQ spread over the grid {spread:.4f}")
    print(f"{'strategy':16}{'evals':>7}{'to 1%':>7}{'to 0.1%':>9}{'best JAQ':>11}{'gap %':>8}{'c_x':>8}{'c_theta':>9}"
          f"{'s':>8}")
    for row in rows:
        print(f"{row['strategy']:16}{row['evaluations']:>7}{str(row['evaluations_to_target']):>7}"
              f"{str(row['evaluations_to_0.1pct']):>9}"
              f"{row['best_jaq']:>11.4f}{row['gap_to_grid_pct']:>8.3f}{row['best_c_x']:>8.3f}"
              f"{row['best_c_theta']:>9.3f}{row['seconds']:>8.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
