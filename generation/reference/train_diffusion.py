"""Train the reference text-to-image model on the shapes world.

Usage::

    python -m generation.reference.train_diffusion vae   # 1. the 64x64 <-> 16x16x4 autoencoder
    python -m generation.reference.train_diffusion unet  # 2. UNet + text encoder (v-prediction)

Stage 2 writes a diffusers pipeline folder (default: the shipped
``weights/teacher``) loadable with ``DiffusionPipeline.from_pretrained``.
Hyper-parameters come from ``configs/train.json``; ``--max-minutes`` stops a
stage early (the number of steps done is recorded in ``training.json``).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .data import CACHE_DIR, load_dataset, to_tensor
from .model import TEACHER_PIPELINE, assemble_pipeline, build_text_encoder, build_unet, build_vae
from .tokenizer import build_tokenizer

TRAIN_CONFIG = Path(__file__).parent / "configs" / "train.json"
VAE_DIR = CACHE_DIR / "vae"


def _hp() -> dict:
    return json.loads(TRAIN_CONFIG.read_text())


def vae_images(cfg: dict):
    """The autoencoder's training images: the training split plus ``vae.heldout_n`` held-out scenes.

    The autoencoder is not conditioned on text, so it sees every colour/shape pair (as SD's
    autoencoder sees all kinds of images); only the caption-conditioned UNet and text encoder
    never see a held-out pair. Trained on the training split alone, it decoded green triangles
    as brown ones.
    """
    import numpy as np

    d, hp = cfg["data"], cfg["vae"]
    train = load_dataset(d["train_n"], d["train_seed"], "train", size=d["image_size"])[0]
    if not hp.get("heldout_n"):
        return train
    held = load_dataset(hp["heldout_n"], hp["heldout_seed"], "heldout", size=d["image_size"])[0]
    return np.concatenate([train, held])


def train_vae(steps: int | None = None, max_minutes: float | None = None, out: Path = VAE_DIR,
              resume: bool = False, lr: float | None = None, decoder_only: bool = False) -> dict:
    """Stage 1: train the autoencoder, set ``scaling_factor`` to 1/std of the latents, save it.

    With ``resume`` it continues from the autoencoder already in ``out``; ``lr`` overrides the
    config's peak learning rate (one cycle over ``steps``). ``decoder_only`` (with ``resume``)
    freezes the encoder, so the latents, their scaling and a UNet trained on them stay valid
    while the decoder learns to draw sharper.
    """
    if decoder_only and not resume:
        raise ValueError("decoder_only fine-tunes a trained autoencoder: use it with resume")
    cfg = _hp()
    hp = cfg["vae"]
    steps, lr = steps or hp["steps"], lr or hp["lr"]
    torch.manual_seed(hp["seed"])
    images = vae_images(cfg)
    vae, previous = _autoencoder(out, resume)
    vae.train()
    if decoder_only:
        for m in (vae.encoder, vae.quant_conv):
            m.eval().requires_grad_(False)
    opt = torch.optim.AdamW([p for p in vae.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
    g = torch.Generator().manual_seed(hp["seed"])
    t0, done = time.time(), 0
    for _ in (bar := tqdm(range(steps), desc="train vae")):
        x = to_tensor(images[torch.randint(0, len(images), (hp["batch_size"],), generator=g).numpy()])
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.sample(generator=g)).sample
        loss = F.mse_loss(rec, x) + 0.5 * F.l1_loss(rec, x) + hp["kl_weight"] * post.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        done += 1
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if max_minutes and time.time() - t0 > 60 * max_minutes:
            break
    summary = {"steps": done, "batch_size": hp["batch_size"], "lr": lr, "train_images": len(images),
               "decoder_only": decoder_only, "train_seconds": round(time.time() - t0, 1),
               "torch_threads": torch.get_num_threads()}
    return _write_training_summary(out, summary | _save_autoencoder(vae, images, out), previous)


def _autoencoder(out: Path, resume: bool) -> tuple:
    """``(vae, previous runs)``: a new one, or with ``resume`` the one saved in ``out`` (scaling reset) and its runs."""
    from diffusers import AutoencoderKL

    if not resume:
        return build_vae(), []
    vae = AutoencoderKL.from_pretrained(out)
    vae.register_to_config(scaling_factor=1.0)
    info = json.loads((Path(out) / "training.json").read_text())
    return vae, info.get("runs") or [info]


def _save_autoencoder(vae, images, out: Path) -> dict:
    """Set ``scaling_factor`` to 1/std of the first 5,000 images' latent means, save; returns its figures."""
    vae.eval()
    with torch.no_grad():
        z = torch.cat([vae.encode(to_tensor(images[i:i + 500])).latent_dist.mean for i in range(0, 5000, 500)])
        rec = vae.decode(z[:500]).sample
    std = float(z.std())
    vae.register_to_config(scaling_factor=1.0 / std)
    vae.save_pretrained(out)
    return {"image_size": int(images.shape[1]), "latent_std": std,
            "recon_mse_500": float(F.mse_loss(rec, to_tensor(images[:500])))}


def _encode_latents(vae, images) -> torch.Tensor:
    """Scaled latent means of uint8 ``[n, h, w, 3]`` images, encoded 500 at a time."""
    with torch.no_grad():
        zs = [vae.encode(to_tensor(images[i:i + 500])).latent_dist.mean
              for i in tqdm(range(0, len(images), 500), desc="encode latents")]
    return torch.cat(zs) * vae.config.scaling_factor


def train_unet(steps: int | None = None, max_minutes: float | None = None,
               out: Path = TEACHER_PIPELINE, vae_dir: Path = VAE_DIR, resume: bool = False,
               lr: float | None = None) -> dict:
    """Stage 2: train UNet + text encoder with v-prediction on cached latents; save the pipeline.

    With ``resume`` it continues from the (EMA) weights of the pipeline already in ``out``;
    ``lr`` overrides the config's learning rate.
    """
    from diffusers import AutoencoderKL, DDPMScheduler

    cfg = _hp()
    hp, d, s = cfg["unet"], cfg["data"], cfg["scheduler"]
    steps = steps or hp["steps"]
    torch.manual_seed(hp["seed"])
    images, captions = load_dataset(d["train_n"], d["train_seed"], "train", size=d["image_size"])
    vae = AutoencoderKL.from_pretrained(vae_dir).eval()
    lat_all = _encode_latents(vae, images)
    tok = build_tokenizer()
    ids_all = tok(captions, padding="max_length", max_length=tok.model_max_length,
                  truncation=True, return_tensors="pt").input_ids
    empty = tok([""], padding="max_length", max_length=tok.model_max_length, return_tensors="pt").input_ids
    unet, text_encoder, previous = _unet_and_text_encoder(out, resume)
    unet.train()
    text_encoder.train()
    noise_sched = DDPMScheduler(num_train_timesteps=s["num_train_timesteps"], beta_start=s["beta_start"],
                                beta_end=s["beta_end"], beta_schedule=s["beta_schedule"],
                                prediction_type=hp["prediction_type"])
    params = list(unet.parameters()) + list(text_encoder.parameters())
    lr = lr or hp["lr"]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / hp["warmup"]))
    ema_unet, ema_text = copy.deepcopy(unet).eval(), copy.deepcopy(text_encoder).eval()
    unet.to(memory_format=torch.channels_last)  # ~1.4x faster convolutions on CPU; the EMA copy stays contiguous
    ema_params = list(ema_unet.parameters()) + list(ema_text.parameters())
    g = torch.Generator().manual_seed(hp["seed"])
    t0, done, losses = time.time(), 0, []
    for step in (bar := tqdm(range(steps), desc="train unet")):
        loss = _denoising_loss(unet, text_encoder, noise_sched, lat_all, ids_all, empty, g, hp)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        decay = min(hp["ema"], (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, params, 1 - decay)
        done += 1
        losses.append(loss.item())
        bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}")
        if (step + 1) % 500 == 0:
            _save(CACHE_DIR / "checkpoint", vae, ema_text, tok, ema_unet)
        if max_minutes and time.time() - t0 > 60 * max_minutes:
            break
    _save(out, vae, ema_text, tok, ema_unet)
    summary = {"steps": done, "batch_size": hp["batch_size"], "lr": lr, "train_seconds": round(time.time() - t0, 1),
               "final_loss_avg50": round(sum(losses[-50:]) / len(losses[-50:]), 4),
               "torch_threads": torch.get_num_threads()}
    return _write_training_summary(out, summary, previous)


def _unet_and_text_encoder(out: Path, resume: bool) -> tuple:
    """``(unet, text_encoder, previous runs)``: new ones, or with ``resume`` those saved in ``out`` and their runs."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    if not resume:
        return build_unet(), build_text_encoder(), []
    unet = UNet2DConditionModel.from_pretrained(out, subfolder="unet")
    text_encoder = CLIPTextModel.from_pretrained(out, subfolder="text_encoder")
    info = json.loads((Path(out) / "training.json").read_text())
    return unet, text_encoder, info.get("runs") or [info]


def _denoising_loss(unet, text_encoder, noise_sched, lat_all: torch.Tensor, ids_all: torch.Tensor,
                    empty: torch.Tensor, g: torch.Generator, hp: dict) -> torch.Tensor:
    """The loss on one batch drawn with ``g``: captions dropped to the empty prompt with probability
    ``caption_dropout``, uniform timesteps, MSE to the velocity (``v_prediction``) or else to the noise."""
    b = torch.randint(0, len(lat_all), (hp["batch_size"],), generator=g)
    z0, ids = lat_all[b], ids_all[b].clone()
    drop = torch.rand(len(b), generator=g) < hp["caption_dropout"]
    ids[drop] = empty
    noise = torch.randn(z0.shape, generator=g)
    t = torch.randint(0, noise_sched.config.num_train_timesteps, (len(b),), generator=g)
    zt = noise_sched.add_noise(z0, noise, t)
    target = noise_sched.get_velocity(z0, noise, t) if hp["prediction_type"] == "v_prediction" else noise
    pred = unet(zt.contiguous(memory_format=torch.channels_last), t, text_encoder(ids)[0]).sample
    return F.mse_loss(pred, target)


def _write_training_summary(out: Path, summary: dict, previous: list) -> dict:
    """Add the runs so far (``previous`` and this one) and their totals to ``summary``; write ``training.json``."""
    runs = [{k: v for k, v in r.items() if k != "runs"} for r in previous] + [dict(summary)]
    summary |= {"total_steps": sum(r["steps"] for r in runs),
                "total_train_seconds": round(sum(r["train_seconds"] for r in runs), 1), "runs": runs}
    (Path(out) / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


def _save(out: Path, vae, text_encoder, tokenizer, unet) -> None:
    pipe = assemble_pipeline(vae, text_encoder, tokenizer, unet)
    pipe.save_pretrained(out, safe_serialization=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("stage", choices=["vae", "unet"])
    p.add_argument("--steps", type=int, default=None, help="override configs/train.json")
    p.add_argument("--max-minutes", type=float, default=None, help="stop the stage after this long")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--resume", action="store_true", help="continue from the saved autoencoder / pipeline")
    p.add_argument("--lr", type=float, default=None, help="override the config's (peak) learning rate")
    p.add_argument("--decoder-only", action="store_true",
                   help="vae --resume: train the decoder only (latents unchanged, a trained UNet stays valid)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (1 is fastest on a shared CPU: OpenMP threads spin when oversubscribed)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.stage == "vae":
        summary = train_vae(a.steps, a.max_minutes, a.out or VAE_DIR, resume=a.resume, lr=a.lr,
                            decoder_only=a.decoder_only)
    else:
        summary = train_unet(a.steps, a.max_minutes, a.out or TEACHER_PIPELINE, resume=a.resume, lr=a.lr)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
