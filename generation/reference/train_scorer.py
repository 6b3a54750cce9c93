"""Train the world's tiny CLIP scorer contrastively.

Usage::

    python -m generation.reference.train_scorer [--steps N] [--out DIR]

Reads hyper-parameters from ``configs/train.json`` (section ``scorer``) and the
architecture from ``configs/scorer.json``; writes ``config.json`` +
``model.safetensors`` (default: the shipped ``weights/scorer``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import load_dataset, to_tensor
from .scorer import CONFIG_PATH, DEFAULT_WEIGHTS, _Tokenize, build_clip, load_scorer, save_scorer

TRAIN_CONFIG = Path(__file__).parent / "configs" / "train.json"


def retrieval_accuracy(scorer, images, captions, n: int = 200, seed: int = 0) -> float:
    """Top-1 accuracy of picking each image's caption among ``n`` candidates (distinct captions)."""
    g = torch.Generator().manual_seed(seed)
    first: dict[str, int] = {}
    for i, c in enumerate(captions):
        first.setdefault(c, i)
    idx = list(first.values())
    pick = torch.randperm(len(idx), generator=g)[:n].tolist()
    sel = [idx[i] for i in pick]
    sim = scorer.similarity(images[sel], [captions[i] for i in sel])
    return float((sim.argmax(1) == torch.arange(len(sel))).float().mean())


def train(steps: int | None = None, out: Path = DEFAULT_WEIGHTS) -> dict:
    """Train and save the scorer; returns a summary dict (time, losses, accuracies)."""
    cfg_all = json.loads(TRAIN_CONFIG.read_text())
    hp, dcfg = cfg_all["scorer"], cfg_all["data"]
    steps = steps or hp["steps"]
    arch = json.loads(CONFIG_PATH.read_text())
    torch.manual_seed(hp["seed"])
    size = arch["vision_cfg"]["image_size"]  # the scorer reads 32x32; larger images are box-averaged down
    images, captions = load_dataset(dcfg["train_n"], dcfg["train_seed"], "train", size=size)
    x_all = to_tensor(images)
    tok = _Tokenize(arch["text_cfg"]["context_length"])
    ids_all = tok(captions)
    model = build_clip(arch)
    opt = torch.optim.AdamW(model.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / hp["warmup"]) * 0.5 * (1 + math.cos(math.pi * s / steps)))
    g = torch.Generator().manual_seed(hp["seed"])
    t0 = time.time()
    bar = tqdm(range(steps), desc="train scorer")
    for _ in bar:
        b = torch.randint(0, len(x_all), (hp["batch_size"],), generator=g)
        ids = ids_all[b]
        img = model.encode_image(x_all[b], normalize=True)
        txt = model.encode_text(ids, normalize=True)
        logits = model.logit_scale.exp() * img @ txt.T
        # identical captions in a batch are positives too (soft targets)
        same = (ids[:, None, :] == ids[None, :, :]).all(-1).float()
        target = same / same.sum(1, keepdim=True)
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target.T))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        bar.set_postfix(loss=f"{loss.item():.3f}")
    train_s = time.time() - t0
    save_scorer(model, arch, out)
    scorer = load_scorer(out)
    held_images, held_captions = load_dataset(dcfg["heldout_n"], dcfg["heldout_seed"], "heldout", size=size)
    summary = {
        "steps": steps,
        "train_seconds": round(train_s, 1),
        "final_loss": round(loss.item(), 4),
        "top1_of_200_train": retrieval_accuracy(scorer, images[:5000], captions[:5000]),
        "top1_of_200_heldout": retrieval_accuracy(scorer, held_images, held_captions),
        "torch_threads": torch.get_num_threads(),
    }
    (Path(out) / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=None, help="override configs/train.json")
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    print(json.dumps(train(a.steps, a.out), indent=2))


if __name__ == "__main__":
    main()
