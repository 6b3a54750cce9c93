"""Distil a few-step student from the reference teacher: LCD, or PCM-style phased (the shipped student).

Usage::

    python -m generation.reference.train lcd [--config generation/reference/configs/pcm.json]
                                             [--steps N] [--max-minutes M] [--out var/reference/lcd] [--resume]
    python -m generation.reference.train export [--out DIR] [--best] [--half] [--dest DIR]  # checkpoint -> pipeline
    python -m generation.reference.train evaluate [--student DIR] [--steps 1 2 4] [--prompts-from validation]

Rules (as in the LCM paper, Luo et al. 2023, Algorithm 1, and diffusers'
``train_lcm_distill_sd`` recipe; the phased variant as in PCM, Wang et al. 2024):

* the student starts as a copy of the teacher's UNet; the *target* network is
  an EMA of the student (``ema_decay``) and gets no gradient;
* skipping-step DDIM: training timesteps are the ``ddim_timesteps`` points
  ``t_n = 1000 n / N - 1``; the teacher moves ``z_{t_n}`` one DDIM step (``k =
  1000 / N`` timesteps, clamped at 0) with classifier-free guidance
  ``uncond + w (cond - uncond)``, ``w = teacher_guidance``, so the student
  learns the guided ODE and samples with ``guidance_scale = 1``;
* **LCD** (``configs/lcd.json``, no ``phases``): consistency function
  ``f(z, t) = c_skip(t) z + c_out(t) x0(z, t)`` with the LCMScheduler's boundary
  scalings (``sigma_data = 0.5``, ``timestep_scaling``): every ``z_t`` maps to the
  ODE's clean end;
* **phased** (``configs/pcm.json``, ``phases: 4``): the ODE is cut at DDIM's trailing
  timesteps (999, 749, 499, 249 for 4 steps) and ``f`` is the DDIM jump from ``z_t``
  to the lower end of ``t``'s phase (the clean latent in the last phase); at the
  edge the jump is the identity, so the edge condition holds by construction, and
  each consistency chain spans a quarter of the trajectory instead of all of it;
* ``target: "data"`` (consistency tuning, as in ECT, Geng et al. 2024) replaces
  the teacher's step by the same clean latent noised to ``t_prev`` with the same
  noise (learning the data's ODE, not the teacher's); ``"teacher"`` (the default)
  is distillation proper;
* loss: pseudo-Huber ``sqrt(|f_student - f_target|^2 + c^2) - c``;
* the text encoder and the autoencoder are the teacher's, frozen;
* the student is saved and checked with ``sampler`` (default ``"lcm"``, the
  teacher's own sampler, so a student is a drop-in replacement).

Every ``checkpoint_every`` steps the full state (student, target, optimiser,
RNG, step, loss log) is written atomically to ``<out>/checkpoint.pt``;
``--resume`` continues from it and gives the same batches as an unbroken run.
``<out>/log.jsonl`` gets one line per logged step (loss, seconds, and every
``eval_every`` steps the target's world FD at 2 and 4 steps on *validation* scenes,
training-distribution captions that are neither the training images nor the
held-out test prompts); the target with the lowest mean of the two so far is kept
in ``<out>/best.pt`` (``export --best``: early stopping). The final target
network is saved as a diffusers pipeline in ``<out>/pipeline`` with ``training.json``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .data import CACHE_DIR, load_dataset, to_tensor
from .model import TEACHER_PIPELINE, assemble_pipeline, build_scheduler, load_pipeline

__all__ = ["LCD_CONFIG", "load_config", "DistillationSchedule", "consistency_loss", "encode_dataset",
           "student_scheduler", "method_name",
           "train_lcd", "export_checkpoint", "world_fd_by_seed", "evaluate", "main"]

LCD_CONFIG = Path(__file__).parent / "configs" / "lcd.json"
LCD_DIR = CACHE_DIR / "lcd"
_REPO = Path(__file__).resolve().parents[2]


def load_config(path: str | Path = LCD_CONFIG, **overrides) -> dict:
    """The LCD hyper-parameters; ``overrides`` replace top-level keys (``None`` values are ignored)."""
    cfg = json.loads(Path(path).read_text())
    cfg |= {k: v for k, v in overrides.items() if v is not None}
    for key in ("steps", "batch_size", "ddim_timesteps", "checkpoint_every"):
        if int(cfg[key]) < 1:
            raise ValueError(f"LCD config {key!r} must be >= 1, got {cfg[key]!r}")
    if cfg.get("phases") is not None and int(cfg["phases"]) < 1:
        raise ValueError(f"LCD config 'phases' must be >= 1 (or absent for LCD proper), got {cfg['phases']!r}")
    if cfg.get("sampler", "lcm") not in ("lcm", "tcd", "ddim"):
        raise ValueError(f"LCD config 'sampler' must be 'lcm', 'tcd' or 'ddim', got {cfg['sampler']!r}")
    if cfg.get("target", "teacher") not in ("teacher", "data"):
        raise ValueError(f"LCD config 'target' must be 'teacher' or 'data', got {cfg['target']!r}")
    if not 0.0 <= float(cfg["ema_decay"]) < 1.0:
        raise ValueError(f"LCD config 'ema_decay' must be in [0, 1), got {cfg['ema_decay']!r}")
    return cfg


class DistillationSchedule:
    """The teacher's noise schedule, the skipping-step DDIM grid and the LCM boundary scalings."""

    def __init__(self, alphas_cumprod: torch.Tensor, ddim_timesteps: int = 50, timestep_scaling: float = 10.0,
                 phases: int | None = None):
        self.alphas_cumprod = alphas_cumprod.float()
        n_train = len(alphas_cumprod)
        if n_train % ddim_timesteps:
            raise ValueError(f"ddim_timesteps {ddim_timesteps} must divide the {n_train} training timesteps")
        self.k = n_train // ddim_timesteps
        self.timesteps = torch.arange(1, ddim_timesteps + 1) * self.k - 1  # 19, 39, ..., 999 for N = 50
        self.timestep_scaling = timestep_scaling
        self.edges = None
        if phases is not None:  # DDIM's trailing timesteps for `phases` steps: 999, 749, 499, 249 for 4
            starts = torch.round(torch.arange(n_train, 0, -n_train / phases)).long() - 1
            if not all(int(e) in set(self.timesteps.tolist()) for e in starts):
                raise ValueError(f"the {phases} phase edges {starts.tolist()} must lie on the skipping-step grid "
                                 f"(every {self.k} timesteps from {self.k - 1}); choose ddim_timesteps to fit")
            self.edges = torch.cat([starts[1:].flip(0), torch.tensor([-1])]).sort().values  # -1: the clean end

    def edge(self, t: torch.Tensor) -> torch.Tensor:
        """The lower end of ``t``'s phase: the largest phase start below ``t`` (``-1``, clean, in the last phase)."""
        below = self.edges.view(1, -1) < t.view(-1, 1)
        return torch.where(below, self.edges.view(1, -1), -1).amax(1)

    def jump(self, v: torch.Tensor, z: torch.Tensor, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """The DDIM jump from ``z`` at ``t`` to ``s`` (``-1``: the clean latent) with a v-prediction; the
        identity when ``s == t``, so a phase's edge condition holds by construction."""
        x0, eps = self.x0_eps(v, z, t)
        a = torch.where(s >= 0, self.alphas_cumprod[s.clamp(min=0)], torch.ones(())).view(-1, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * eps

    def previous(self, t: torch.Tensor) -> torch.Tensor:
        """One skipping step back, clamped at 0 (where ``c_skip = 1``: the boundary condition)."""
        return (t - self.k).clamp(min=0)

    def scalings(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(c_skip, c_out)`` exactly as ``LCMScheduler.get_scalings_for_boundary_condition_discrete``."""
        st = t.float() * self.timestep_scaling
        c_skip = 0.25 / (st ** 2 + 0.25)
        c_out = st / (st ** 2 + 0.25) ** 0.5
        return c_skip, c_out

    def _a(self, t: torch.Tensor) -> torch.Tensor:
        return self.alphas_cumprod[t].view(-1, 1, 1, 1)

    def x0_eps(self, v: torch.Tensor, z: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Clean latent and noise from a v-prediction."""
        a = self._a(t)
        return a.sqrt() * z - (1 - a).sqrt() * v, (1 - a).sqrt() * z + a.sqrt() * v

    def add_noise(self, z0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = self._a(t)
        return a.sqrt() * z0 + (1 - a).sqrt() * noise

    def consistency(self, v: torch.Tensor, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``f(z, t) = c_skip z + c_out x0``."""
        c_skip, c_out = self.scalings(t)
        return c_skip.view(-1, 1, 1, 1) * z + c_out.view(-1, 1, 1, 1) * self.x0_eps(v, z, t)[0]

    def ddim_step(self, x0: torch.Tensor, eps: torch.Tensor, t_prev: torch.Tensor) -> torch.Tensor:
        a = self._a(t_prev)
        return a.sqrt() * x0 + (1 - a).sqrt() * eps


def consistency_loss(pred: torch.Tensor, target: torch.Tensor, huber_c: float) -> torch.Tensor:
    """Pseudo-Huber loss (mean over the batch); ``huber_c = 0`` gives the mean absolute error."""
    d2 = (pred.float() - target.float()).pow(2)
    return (torch.sqrt(d2 + huber_c ** 2) - huber_c).mean()


def encode_dataset(pipe, n: int, seed: int, cache: Path = LCD_DIR) -> tuple[torch.Tensor, list[str]]:
    """Scaled latent means of the world training set under the teacher's autoencoder (cached in ``cache``)."""
    size = pipe.vae.config.sample_size
    images, captions = load_dataset(n, seed, "train", cache_dir=cache, size=size)
    path = Path(cache) / f"latents_{n}_{seed}_{size}px.pt"
    if path.exists():
        return torch.load(path), captions
    x = to_tensor(images)
    with torch.no_grad():
        z = torch.cat([pipe.vae.encode(x[i:i + 500]).latent_dist.mean
                       for i in tqdm(range(0, len(x), 500), desc="encode latents")])
    z = z * pipe.vae.config.scaling_factor
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(z, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)
    return z, captions


def _save_checkpoint(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def train_lcd(config: dict, out: Path = LCD_DIR, resume: bool = False, max_minutes: float | None = None,
              progress: bool = True) -> dict:
    """Run (or continue) latent consistency distillation; returns the summary written to ``training.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pipe, sched = _frozen_teacher(config)
    latents, captions = encode_dataset(pipe, config["data"]["train_n"], config["data"]["train_seed"],
                                       cache=Path(config.get("cache_dir") or out))
    ids_all, empty = _caption_ids(pipe, captions)
    run = _Distillation.start(pipe.unet, config)
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.exists():
        run.restore(ckpt)
    log = (out / "log.jsonl").open("a")
    t0 = time.time() - run.seconds
    bar = tqdm(total=config["steps"], initial=run.step, desc="lcd", disable=not progress)
    while run.step < config["steps"]:
        loss = run.train_step(pipe, sched, latents, ids_all, empty)
        run.step += 1
        run.losses.append(round(loss.item(), 6))
        avg = sum(run.losses[-50:]) / len(run.losses[-50:])
        bar.update(1)
        bar.set_postfix(loss=f"{avg:.5f}")
        record = _log_record(run, pipe, avg, t0)
        if record:
            log.write(json.dumps(record) + "\n")
            log.flush()
        if record and "validation_fd" in record and record["validation_fd"] < run.best.get("fd", math.inf):
            run.best = {"step": run.step, "fd": record["validation_fd"]}
            _save_checkpoint(out / "best.pt", run.state_dict(t0))
        stop = max_minutes is not None and time.time() - t0 - run.seconds > 60 * max_minutes
        if run.step % config["checkpoint_every"] == 0 or run.step == config["steps"] or stop:
            _save_checkpoint(ckpt, run.state_dict(t0))
        if stop:
            break
    bar.close()
    log.close()
    return _save_student(out / "pipeline", pipe, run, t0)


def _frozen_teacher(config: dict) -> tuple:
    """The teacher pipeline (UNet and text encoder in eval mode, frozen) and its distillation schedule."""
    from diffusers import DDPMScheduler

    teacher_path = Path(config["teacher"])
    teacher_path = teacher_path if teacher_path.is_absolute() else _REPO / teacher_path
    pipe = load_pipeline(teacher_path)
    teacher, text_encoder = pipe.unet.eval(), pipe.text_encoder.eval()
    for p in list(teacher.parameters()) + list(text_encoder.parameters()):
        p.requires_grad_(False)
    ddpm = DDPMScheduler.from_config(pipe.scheduler.config)
    if ddpm.config.prediction_type != "v_prediction":
        raise ValueError(f"LCD here expects a v-prediction teacher, got {ddpm.config.prediction_type!r}")
    return pipe, DistillationSchedule(ddpm.alphas_cumprod, config["ddim_timesteps"], config["timestep_scaling"],
                                      config.get("phases"))


def _caption_ids(pipe, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The token ids of every caption and the teacher's embedding of the empty prompt (the unconditional branch)."""
    tok = pipe.tokenizer
    ids_all = tok(captions, padding="max_length", max_length=tok.model_max_length, truncation=True,
                  return_tensors="pt").input_ids
    with torch.no_grad():
        empty = pipe.text_encoder(tok([""], padding="max_length", max_length=tok.model_max_length,
                                      return_tensors="pt").input_ids)[0]
    return ids_all, empty


@dataclass
class _Distillation:
    """The state a checkpoint holds: student, EMA target, optimiser, learning-rate schedule, batch generator,
    step, loss log and the seconds trained before this process."""

    config: dict
    student: torch.nn.Module
    target: torch.nn.Module
    opt: torch.optim.Optimizer
    lr_sched: torch.optim.lr_scheduler.LambdaLR
    g: torch.Generator
    step: int = 0
    losses: list = field(default_factory=list)
    seconds: float = 0.0
    best: dict = field(default_factory=dict)  # step and validation FD of the best target so far (best.pt)

    @classmethod
    def start(cls, teacher, config: dict) -> _Distillation:
        """Student (trainable) and target (no gradient) as copies of the teacher; step 0."""
        student = copy.deepcopy(teacher).train()
        for p in student.parameters():
            p.requires_grad_(True)
        target = copy.deepcopy(teacher).eval()
        opt = torch.optim.AdamW(student.parameters(), lr=config["lr"], weight_decay=0.0)
        lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / config["warmup"]))
        return cls(config, student, target, opt, lr_sched, torch.Generator().manual_seed(config["seed"]))

    def restore(self, ckpt: Path) -> None:
        """Continue from ``ckpt``; one written with another config (the step count aside) is refused."""
        state = torch.load(ckpt, weights_only=False)
        theirs, ours = ({k: v for k, v in c.items() if k != "steps"} for c in (state["config"], self.config))
        if theirs != ours:
            raise ValueError(f"{ckpt} was written with another config; resume with the same config or a new --out")
        self.student.load_state_dict(state["student"])
        self.target.load_state_dict(state["target"])
        self.opt.load_state_dict(state["optimizer"])
        self.lr_sched.load_state_dict(state["lr_scheduler"])
        self.g.set_state(state["generator"])
        self.step, self.losses, self.seconds = state["step"], state["losses"], state["seconds"]
        self.best = state.get("best", {})

    def state_dict(self, t0: float) -> dict:
        """What ``checkpoint.pt`` holds, ``seconds`` counted from ``t0``."""
        return {"config": self.config, "step": self.step, "student": self.student.state_dict(),
                "target": self.target.state_dict(), "optimizer": self.opt.state_dict(),
                "lr_scheduler": self.lr_sched.state_dict(), "generator": self.g.get_state(),
                "losses": self.losses, "seconds": time.time() - t0, "best": dict(self.best)}

    def train_step(self, pipe, sched: DistillationSchedule, latents: torch.Tensor, ids_all: torch.Tensor,
                   empty: torch.Tensor) -> torch.Tensor:
        """One optimiser step on a batch drawn with ``g``, then the EMA update of the target; returns the loss.

        The guided teacher moves ``z_t`` one DDIM step back; the student's
        consistency output at ``t`` is pulled towards the target's at ``t_prev``.
        """
        teacher, text_encoder = pipe.unet, pipe.text_encoder
        w, bs = float(self.config["teacher_guidance"]), self.config["batch_size"]
        b = torch.randint(0, len(latents), (bs,), generator=self.g)
        z0 = latents[b]
        noise = torch.randn(z0.shape, generator=self.g)
        t = sched.timesteps[torch.randint(0, len(sched.timesteps), (bs,), generator=self.g)]
        t_prev = sched.previous(t)
        with torch.no_grad():
            emb = text_encoder(ids_all[b])[0]
        z_t = sched.add_noise(z0, noise, t)
        phased = sched.edges is not None
        s = sched.edge(t) if phased else None
        out = (lambda v, z, tt: sched.jump(v, z, tt, s)) if phased else sched.consistency
        f_student = out(self.student(z_t, t, emb).sample, z_t, t)
        with torch.no_grad():
            if self.config.get("target", "teacher") == "data":
                z_prev = sched.add_noise(z0, noise, t_prev)
            else:
                z_prev = _teacher_step(teacher, sched, z_t, t, t_prev, emb, empty, w)
            f_target = out(self.target(z_prev, t_prev, emb).sample, z_prev, t_prev)
        loss = consistency_loss(f_student, f_target, self.config["huber_c"])
        student_params = list(self.student.parameters())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student_params, 1.0)
        self.opt.step()
        self.lr_sched.step()
        with torch.no_grad():
            torch._foreach_lerp_(list(self.target.parameters()), student_params, 1 - self.config["ema_decay"])
        return loss


def _teacher_step(teacher, sched: DistillationSchedule, z_t, t, t_prev, emb, empty, w: float) -> torch.Tensor:
    """The guided teacher's DDIM step from ``z_t`` at ``t`` to ``t_prev`` (one batched call, cond + uncond)."""
    bs = len(z_t)
    if w == 1.0:
        x0, eps = sched.x0_eps(teacher(z_t, t, emb).sample, z_t, t)
        return sched.ddim_step(x0, eps, t_prev)
    v = teacher(torch.cat([z_t, z_t]), torch.cat([t, t]), torch.cat([emb, empty.expand(bs, -1, -1)])).sample
    x0_c, eps_c = sched.x0_eps(v[:bs], z_t, t)
    x0_u, eps_u = sched.x0_eps(v[bs:], z_t, t)
    return sched.ddim_step(x0_u + w * (x0_c - x0_u), eps_u + w * (eps_c - eps_u), t_prev)


def student_scheduler(config: dict):
    """The scheduler a student is saved and checked with: ``config["sampler"]``, by default the teacher's
    ``"lcm"`` (x0 from the student at each step, fresh noise between steps), so a student is a drop-in
    replacement; ``"ddim"`` samples a phased student deterministically through its phase edges."""
    return build_scheduler(config.get("sampler", "lcm"))


def _log_record(run: _Distillation, pipe, avg: float, t0: float) -> dict | None:
    """This step's ``log.jsonl`` line, if any: the loss average every 50 steps, and every ``eval_every`` steps
    the target's world FD on the validation scenes (seeds 0 and 1, the student's sampler) at 2 and 4 steps and
    their mean, ``validation_fd``: the 2-4 step regime a student is for, which picks ``best.pt``."""
    record = None
    if run.step % 50 == 0:
        record = {"step": run.step, "loss_avg50": round(avg, 6), "seconds": round(time.time() - t0, 1)}
    if run.step % run.config["eval_every"] == 0:
        run.target.eval()
        student = assemble_pipeline(pipe.vae, pipe.text_encoder, pipe.tokenizer, run.target,
                                    student_scheduler(run.config))
        fd = {n: world_fd_by_seed(student, run.config["eval_prompts"], seeds=(0, 1), steps=n,
                                  prompts_from="validation")["mean"] for n in (2, 4)}
        record = (record or {"step": run.step}) | {"validation_fd_2step": round(fd[2], 4),
                                                    "validation_fd_4step": round(fd[4], 4),
                                                    "validation_fd": round((fd[2] + fd[4]) / 2, 4)}
    return record


def _save_student(student_dir: Path, pipe, run: _Distillation, t0: float) -> dict:
    """Save the target network as a pipeline in ``student_dir`` with ``training.json``, the summary returned."""
    step, losses, config = run.step, run.losses, run.config
    assemble_pipeline(pipe.vae, pipe.text_encoder, pipe.tokenizer, run.target,
                      student_scheduler(config)).save_pretrained(
        student_dir, safe_serialization=True)
    summary = _training_summary(config, step, losses, time.time() - t0) | {"torch_threads": torch.get_num_threads()}
    (student_dir / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


def _training_summary(config: dict, step: int, losses: list, seconds: float) -> dict:
    """The part of ``training.json`` a finished run and an exported checkpoint share."""
    return {"method": method_name(config), "steps": step, "config": config, "train_seconds": round(seconds, 1),
            "steps_per_second": round(step / max(seconds, 1e-9), 4),
            "final_loss_avg50": round(sum(losses[-50:]) / max(len(losses[-50:]), 1), 6),
            "finished": step >= config["steps"]}


def method_name(config: dict) -> str:
    """What a run of ``config`` is, in words (for ``training.json``)."""
    kind = (f"PCM-style phased consistency distillation, {config['phases']} phases" if config.get("phases")
            else "latent consistency distillation")
    if config.get("target", "teacher") == "data":
        kind += ", data target (consistency tuning)"
    return kind + " (EMA target saved)"


def export_checkpoint(out: Path = LCD_DIR, dest: Path | None = None, half: bool = False, best: bool = False) -> Path:
    """Save the target network of ``<out>/checkpoint.pt`` as a pipeline (default ``<out>/pipeline``),
    e.g. to evaluate a run that is still going; its ``training.json`` says how far the run was.
    ``half`` stores every weight in float16 (half the bytes; ``load_pipeline`` loads it as float32);
    ``best`` exports ``best.pt``, the target with the lowest validation FD so far (early stopping)."""
    out = Path(out)
    ckpt = out / ("best.pt" if best else "checkpoint.pt")
    if not ckpt.exists():
        raise FileNotFoundError(f"no checkpoint at {ckpt}; start a run with `python -m generation.reference.train lcd`")
    state = torch.load(ckpt, weights_only=False)
    teacher_path = Path(state["config"]["teacher"])
    pipe = load_pipeline(teacher_path if teacher_path.is_absolute() else _REPO / teacher_path)
    pipe.unet.load_state_dict(state["target"])
    pipe.scheduler = student_scheduler(state["config"])
    dest = Path(dest or out / "pipeline")
    (pipe.to(torch.float16) if half else pipe).save_pretrained(dest, safe_serialization=True)
    summary = _training_summary(state["config"], state["step"], state["losses"], state["seconds"])
    (dest / "training.json").write_text(json.dumps(summary | {
        "stored_as": "float16" if half else "float32", "exported_from": ckpt.name,
        "best_validation": state.get("best", {})}, indent=2))
    return dest


#: World seed of the validation scenes (training-distribution captions, fresh scenes) that pick a checkpoint;
#: the held-out test prompts (world seed 1234, as in ``results.py``) are kept for the final evaluation.
VALIDATION_SEED = 77


@functools.lru_cache(maxsize=8)
def _world_reference(n_prompts: int, prompts_from: str, renders_per_scene: int) -> tuple:
    """``(scorer, prompts, reference statistics)`` of a prompt set, computed once per process: the in-run
    check and ``evaluate`` ask for the same set at several step counts."""
    from generation.fid import feature_statistics

    from . import world
    from .results import reference_features
    from .scorer import load_scorer

    if prompts_from not in ("heldout", "validation"):
        raise ValueError(f"prompts_from must be 'heldout' or 'validation', got {prompts_from!r}")
    scorer = load_scorer()
    scenes = (world.distinct_scenes(n_prompts, seed=1234, split="heldout") if prompts_from == "heldout"
              else world.distinct_scenes(n_prompts, seed=VALIDATION_SEED, split="train"))
    return scorer, [s.caption for s in scenes], feature_statistics(reference_features(scorer, scenes, renders_per_scene))


def world_fd_by_seed(pipe, n_prompts: int = 48, seeds=(0, 1, 2), steps: int = 4, guidance: float = 1.0,
                     renders_per_scene: int = 8, prompts_from: str = "heldout") -> dict:
    """4-step (or ``steps``) world FD of ``pipe``: one FD per seed, mean and s.e. over seeds.

    ``prompts_from="heldout"``: the held-out test prompts of the results table; ``"validation"``:
    training-distribution scenes of :data:`VALIDATION_SEED` (the in-run check, which picks checkpoints).
    """
    from generation.fid import feature_statistics, frechet_distance
    from generation.images import generate_images

    from .results import mean_sem

    scorer, prompts, ref = _world_reference(n_prompts, prompts_from, renders_per_scene)
    per_seed = []
    for s in seeds:
        imgs = generate_images(pipe, prompts, [s] * len(prompts), num_inference_steps=steps, guidance_scale=guidance)
        per_seed.append(frechet_distance(*feature_statistics(scorer.image_features(imgs, normalize=False).numpy()),
                                         *ref))
    mean, sem = mean_sem(per_seed)
    return {"per_seed": per_seed, "mean": mean, "sem": sem}


def evaluate(student: Path, teacher: Path | None = TEACHER_PIPELINE, steps=(1, 2, 4), n_prompts: int = 48,
             seeds=(0, 1, 2), prompts_from: str = "heldout", scheduler: str | None = None) -> dict:
    """World FD of teacher (unless ``None``) and student at each step count (each pipeline's saved scheduler
    unless ``scheduler`` is given; guidance 1), with the per-seed change of the student from the teacher."""
    out = {}
    for name, path in (("teacher", teacher), ("student", student)):
        if path is None:
            continue
        pipe = load_pipeline(path, scheduler=scheduler)
        out[name] = {str(n): world_fd_by_seed(pipe, n_prompts, seeds, n, prompts_from=prompts_from) for n in steps}
    if "teacher" in out:
        out["student_minus_teacher"] = {n: _paired(out["student"][n]["per_seed"], out["teacher"][n]["per_seed"])
                                        for n in out["student"]}
    return out


def _paired(a, b) -> dict:
    """Mean and standard error of the per-seed differences ``a - b``."""
    from .results import mean_sem

    d = np.asarray(a) - np.asarray(b)
    mean, sem = mean_sem(d)
    return {"per_seed": d.tolist(), "mean": mean, "sem": sem}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("lcd", help="distil a few-step student (latent consistency distillation)")
    t.add_argument("--config", type=Path, default=LCD_CONFIG)
    t.add_argument("--steps", type=int, default=None, help="override the config's steps")
    t.add_argument("--max-minutes", type=float, default=None, help="checkpoint and stop after this long")
    t.add_argument("--out", type=Path, default=LCD_DIR)
    t.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    e = sub.add_parser("evaluate", help="world FD of the teacher and a student at 1, 2, 4 steps")
    e.add_argument("--student", type=Path, default=LCD_DIR / "pipeline")
    e.add_argument("--teacher", type=Path, default=TEACHER_PIPELINE)
    e.add_argument("--no-teacher", action="store_true", help="evaluate the student only")
    e.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4])
    e.add_argument("--prompts", type=int, default=48)
    e.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    e.add_argument("--prompts-from", choices=["heldout", "validation"], default="heldout",
                   help="held-out test prompts, or the validation scenes that pick checkpoints")
    e.add_argument("--scheduler", choices=["lcm", "tcd", "ddim"], default=None,
                   help="sample both with this scheduler (default: each pipeline's own)")
    x = sub.add_parser("export", help="save the target network of <out>/checkpoint.pt as a pipeline")
    x.add_argument("--out", type=Path, default=LCD_DIR)
    x.add_argument("--dest", type=Path, default=None)
    x.add_argument("--half", action="store_true", help="store the weights in float16 (half the bytes)")
    x.add_argument("--best", action="store_true", help="export best.pt (lowest validation FD) instead of the last")
    for sp in (t, e, x):
        sp.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared CPU)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.command == "lcd":
        summary = train_lcd(load_config(a.config, steps=a.steps), a.out, a.resume, a.max_minutes)
    elif a.command == "export":
        summary = {"pipeline": str(export_checkpoint(a.out, a.dest, a.half, a.best))}
    else:
        summary = evaluate(a.student, None if a.no_teacher else a.teacher, tuple(a.steps), a.prompts,
                           tuple(a.seeds), a.prompts_from, a.scheduler)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
