"""W4A8 / W8A8 / W4 vs float: size, output error and latency of a small UNet (CPU here; GPU with --device cuda).

Prints one row per scheme: packed and in-memory bytes of the denoiser, the
relative L2 error of one denoiser call against float, and the median latency
of that call. On CPU, torchao's int4 path dequantizes and runs a float matmul,
so W4A8 is *slower* than float here: CPU timings say nothing about GPU kernels.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_w4a8.py
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def small_unet():
    import torch
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(
        block_out_channels=(64, 128, 256), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=256, attention_head_dim=8, norm_num_groups=32,
    ).eval()


def main(argv=None) -> int:
    import torch

    from generation.quantize import quantize_denoiser

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--backend", default="auto", choices=["auto", "torchao", "fake"])
    args = ap.parse_args(argv)
    base = small_unet()
    torch.manual_seed(1)
    x, t, ctx = torch.randn(2, 4, 32, 32), torch.tensor([500, 500]), torch.randn(2, 16, 256)
    x, t, ctx = x.to(args.device), t.to(args.device), ctx.to(args.device)
    rows = []
    ref = None
    for scheme, conv in (("none", False), ("w8a8", False), ("w4a8", False), ("w4", False), ("w4a8", True)):
        m = copy.deepcopy(base).to(args.device)
        report = quantize_denoiser(m, scheme, include_conv=conv, backend=args.backend)
        times = []
        with torch.no_grad():
            out = m(x, t, ctx).sample
            for _ in range(args.repeats):
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                m(x, t, ctx)
                if args.device.startswith("cuda"):
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
        ref = out if ref is None else ref
        err = ((out - ref).norm() / ref.norm()).item()
        rows.append((scheme + ("+conv" if conv else ""), report.backend, report.bytes_before, report.bytes_after_memory,
                     report.bytes_after_packed, len(report.quantized), len(report.skipped), err,
                     statistics.median(times)))
    params = sum(p.numel() for p in base.parameters())
    print(f"\nsmall UNet, {params / 1e6:.1f}M params, batch 2 x 4x32x32 latents, device {args.device}")
    print(f"{'scheme':12}{'backend':>9}{'MiB before':>12}{'MiB memory':>12}{'MiB packed':>12}{'quant':>7}{'skip':>6}"
          f"{'rel err':>10}{'ms':>9}")
    for s, b, before, mem, packed, nq, ns, err, sec in rows:
        print(f"{s:12}{b:>9}{before / 2**20:>12.2f}{mem / 2**20:>12.2f}{packed / 2**20:>12.2f}{nq:>7}{ns:>6}"
              f"{err:>10.4f}{sec * 1e3:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
