"""Where a denoiser's parameters sit: ``nn.Linear`` vs convolutions vs the rest.

The paper's W4A8 quantizes ``nn.Linear`` layers only, so the share of parameters
in Linear layers decides how much of a UNet it touches. :func:`parameter_shares`
counts a module's parameters by the kind of layer that owns them;
:func:`sd15_unet` builds Stable Diffusion 1.5's UNet from its published config
(``configs/sd15_unet.json``) on the ``meta`` device: no weights, no download,
no memory. In SD 1.5 (``use_linear_projection: false``) each transformer's
``proj_in``/``proj_out`` is a 1x1 convolution, so Linear-only W4A8 leaves it in
float; the reference UNet does the same (``configs/unet.json``).

Usage::

    python -m generation.reference.capacity            # both UNets' shares as a Markdown table
"""

from __future__ import annotations

import json
from pathlib import Path

from torch import nn

__all__ = ["SD15_CONFIG", "parameter_shares", "sd15_unet", "shares_table", "main"]

SD15_CONFIG = Path(__file__).parent / "configs" / "sd15_unet.json"


def parameter_shares(module: nn.Module) -> dict:
    """Parameter counts and shares by owner kind: ``linear``, ``attention_linear`` (Linear layers inside
    attention modules, a subset of ``linear``), ``conv`` (any ``nn.Conv*d``), ``other`` (norms, embeddings...).

    Every parameter is counted once, by the module that directly owns it.
    """
    from diffusers.models.attention_processor import Attention

    counts = {"linear": 0, "attention_linear": 0, "conv": 0, "other": 0}
    in_attention: set[int] = set()
    for m in module.modules():
        if isinstance(m, Attention):
            in_attention |= {id(c) for c in m.modules() if isinstance(c, nn.Linear)}
    for m in module.modules():
        n = sum(p.numel() for p in m.parameters(recurse=False))
        if not n:
            continue
        if isinstance(m, nn.Linear):
            counts["linear"] += n
            if id(m) in in_attention:
                counts["attention_linear"] += n
        elif isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            counts["conv"] += n
        else:
            counts["other"] += n
    total = counts["linear"] + counts["conv"] + counts["other"]
    return {"total": total, **counts, **{f"{k}_share": v / total for k, v in counts.items()}}


def sd15_unet():
    """SD 1.5's ``UNet2DConditionModel`` built from its config on the meta device (shapes only)."""
    import torch
    from diffusers import UNet2DConditionModel

    cfg = {k: v for k, v in json.loads(SD15_CONFIG.read_text()).items() if not k.startswith("_")}
    with torch.device("meta"):
        return UNet2DConditionModel.from_config(cfg)


def shares_table(models: dict[str, nn.Module]) -> str:
    """A Markdown table of :func:`parameter_shares` for each named model."""
    rows = ["| UNet | parameters | in nn.Linear | of which attention | in convolutions | other |",
            "|---|---|---|---|---|---|"]
    for name, m in models.items():
        s = parameter_shares(m)
        rows.append(f"| {name} | {s['total'] / 1e6:.2f} M | {s['linear_share']:.1%} | "
                    f"{s['attention_linear_share']:.1%} | {s['conv_share']:.1%} | {s['other_share']:.1%} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    import argparse

    from .model import DEFAULT_PIPELINE, load_pipeline

    p = argparse.ArgumentParser(description="Share of UNet parameters in Linear layers vs convolutions")
    p.add_argument("--pipeline", type=Path, default=DEFAULT_PIPELINE)
    a = p.parse_args(argv)
    print(shares_table({"SD 1.5 (config, meta device)": sd15_unet(),
                        "reference model": load_pipeline(a.pipeline).unet}))


if __name__ == "__main__":
    main()
