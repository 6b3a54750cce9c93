"""Latent consistency distillation: the boundary scalings are the LCMScheduler's, and resuming is exact."""

import json
from pathlib import Path

import pytest
import torch

from generation.reference.train import (
    DistillationSchedule,
    consistency_loss,
    load_config,
    train_lcd,
)


def _schedule():
    from diffusers import LCMScheduler

    from generation.reference.model import load_pipeline

    lcm = load_pipeline().scheduler
    assert isinstance(lcm, LCMScheduler)
    return lcm, DistillationSchedule(lcm.alphas_cumprod, 50, lcm.config.timestep_scaling)


def test_the_boundary_scalings_are_the_lcm_schedulers_so_the_student_samples_with_it():
    lcm, sched = _schedule()
    for t in (0, 19, 259, 999):
        c_skip, c_out = sched.scalings(torch.tensor([t]))
        ref = lcm.get_scalings_for_boundary_condition_discrete(t)
        assert (float(c_skip), float(c_out)) == pytest.approx(ref, rel=1e-6)


def test_the_skipping_grid_is_lcms_training_grid_and_steps_back_to_the_boundary():
    lcm, sched = _schedule()
    lcm.set_timesteps(4)
    assert set(lcm.timesteps.tolist()) <= set(sched.timesteps.tolist())
    assert sched.previous(torch.tensor([19, 39, 999])).tolist() == [0, 19, 979]
    z, v = torch.randn(1, 4, 2, 2), torch.randn(1, 4, 2, 2)
    # at t = 0 the consistency function is (almost exactly) the identity: f(z, 0) = z
    assert torch.allclose(sched.consistency(v, z, torch.tensor([0])), z)


def test_a_v_prediction_round_trips_through_the_ddim_step():
    _, sched = _schedule()
    x0, eps, t = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 3, 3), torch.tensor([499, 999])
    a = sched.alphas_cumprod[t].view(-1, 1, 1, 1)
    z = sched.add_noise(x0, eps, t)
    v = a.sqrt() * eps - (1 - a).sqrt() * x0
    got_x0, got_eps = sched.x0_eps(v, z, t)
    assert torch.allclose(got_x0, x0, atol=1e-5) and torch.allclose(got_eps, eps, atol=1e-5)
    assert torch.allclose(sched.ddim_step(got_x0, got_eps, t), z, atol=1e-5)


def test_the_pseudo_huber_loss_is_zero_only_at_equality():
    x = torch.randn(3, 4)
    assert float(consistency_loss(x, x, 0.001)) == 0.0
    assert float(consistency_loss(x, x + 1, 0.001)) == pytest.approx((1 + 0.001 ** 2) ** 0.5 - 0.001)


def test_bad_configs_are_refused_by_name():
    with pytest.raises(ValueError, match="batch_size"):
        load_config(batch_size=0)
    with pytest.raises(ValueError, match="ema_decay"):
        load_config(ema_decay=1.0)


def test_a_resumed_run_ends_with_the_same_weights_as_an_unbroken_one(tmp_path):
    torch.set_num_threads(1)
    cfg = load_config(steps=4, batch_size=4, checkpoint_every=2, eval_every=1000, data={"train_n": 32, "train_seed": 0},
                      cache_dir=str(tmp_path / "cache"))
    whole = train_lcd(cfg, tmp_path / "whole", progress=False)
    train_lcd(cfg | {"steps": 2}, tmp_path / "split", progress=False)
    resumed = train_lcd(cfg, tmp_path / "split", resume=True, progress=False)
    assert whole["steps"] == resumed["steps"] == 4 and resumed["finished"]
    from safetensors.torch import load_file

    a = load_file(tmp_path / "whole" / "pipeline" / "unet" / "diffusion_pytorch_model.safetensors")
    b = load_file(tmp_path / "split" / "pipeline" / "unet" / "diffusion_pytorch_model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    teacher = load_file("generation/reference/weights/teacher/unet/diffusion_pytorch_model.safetensors")
    assert any(not torch.equal(a[k], teacher[k]) for k in a)  # it did train
    assert json.loads((tmp_path / "whole" / "pipeline" / "training.json").read_text())["steps"] == 4


def test_resuming_with_another_config_is_refused(tmp_path):
    cfg = load_config(steps=1, batch_size=2, checkpoint_every=1, eval_every=1000, data={"train_n": 8, "train_seed": 0},
                      cache_dir=str(tmp_path / "cache"))
    train_lcd(cfg, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="another config"):
        train_lcd(cfg | {"lr": 1.0}, tmp_path / "run", resume=True, progress=False)


def test_a_checkpoint_exports_to_a_pipeline_that_loads_and_samples(tmp_path):
    from generation.images import generate_images
    from generation.reference.model import load_pipeline
    from generation.reference.train import export_checkpoint

    cfg = load_config(steps=1, batch_size=2, checkpoint_every=1, eval_every=1000, data={"train_n": 8, "train_seed": 0},
                      cache_dir=str(tmp_path / "cache"))
    train_lcd(cfg, tmp_path / "run", progress=False)
    dest = export_checkpoint(tmp_path / "run", tmp_path / "exported")
    assert json.loads((dest / "training.json").read_text())["steps"] == 1
    images = generate_images(load_pipeline(dest), ["a large red circle on a white background"], [0],
                             num_inference_steps=2, guidance_scale=1.0)
    assert images[0].size == (64, 64)


def test_exporting_without_a_checkpoint_says_how_to_make_one(tmp_path):
    from generation.reference.train import export_checkpoint

    with pytest.raises(FileNotFoundError, match="train lcd"):
        export_checkpoint(tmp_path)


def test_a_decoder_only_autoencoder_run_needs_a_trained_autoencoder_to_resume():
    from generation.reference.train_diffusion import train_vae

    with pytest.raises(ValueError, match="resume"):
        train_vae(steps=1, decoder_only=True)


def test_a_phased_student_jumps_to_the_edges_ddim_samples_through():
    from diffusers import DDIMScheduler

    from generation.reference.model import build_scheduler
    from generation.reference.train import student_scheduler

    ddim = build_scheduler("ddim")
    ddim.set_timesteps(4)
    lcm, _ = _schedule()
    sched = DistillationSchedule(lcm.alphas_cumprod, 100, 10.0, phases=4)
    # the phase starts are the timesteps DDIM visits; each phase ends where the next sampling step starts
    assert ddim.timesteps.tolist() == [999, 749, 499, 249]
    assert sched.edge(torch.tensor([999, 759, 749, 509, 499, 259, 249, 9, 0])).tolist() == [
        749, 749, 499, 499, 249, 249, -1, -1, -1]
    z, v = torch.randn(3, 4, 2, 2), torch.randn(3, 4, 2, 2)
    t = torch.tensor([249, 499, 749])
    assert torch.allclose(sched.jump(v, z, t, t), z, atol=1e-5)  # the edge condition holds by construction
    x0, _ = sched.x0_eps(v, z, t)
    assert torch.allclose(sched.jump(v, z, t, torch.tensor([-1, -1, -1])), x0)  # the last phase ends clean
    # one DDIM step of the stock scheduler is the jump to the phase edge
    step = ddim.step(v[2:3], 749, z[2:3]).prev_sample
    assert torch.allclose(step, sched.jump(v[2:3], z[2:3], torch.tensor([749]), torch.tensor([499])), atol=1e-5)
    assert isinstance(student_scheduler({"phases": 4, "sampler": "ddim"}), DDIMScheduler)
    assert type(student_scheduler({"phases": 4})).__name__ == "LCMScheduler"  # the teacher's sampler by default


def test_phase_edges_off_the_skipping_grid_and_unknown_targets_are_refused():
    lcm, _ = _schedule()
    with pytest.raises(ValueError, match="must lie on the skipping-step grid"):
        DistillationSchedule(lcm.alphas_cumprod, 50, 10.0, phases=4)  # 749 is not on 19, 39, ..., 999
    with pytest.raises(ValueError, match="target"):
        load_config(target="teachers")
    with pytest.raises(ValueError, match="phases"):
        load_config(phases=0)
    with pytest.raises(ValueError, match="sampler"):
        load_config(sampler="euler")


def test_the_unguided_teacher_step_equals_the_guidance_formula_at_w_1():
    from generation.reference.train import _teacher_step

    lcm, sched = _schedule()
    torch.manual_seed(0)

    class Net(torch.nn.Module):  # any function of (z, t, emb) will do
        def forward(self, z, t, emb):
            return type("Out", (), {"sample": torch.tanh(z * emb.mean((1, 2)).view(-1, 1, 1, 1) + t.view(-1, 1, 1, 1) / 999)})

    z, emb, empty = torch.randn(2, 4, 3, 3), torch.randn(2, 5, 8), torch.randn(1, 5, 8)
    t = torch.tensor([499, 999])
    fast = _teacher_step(Net(), sched, z, t, sched.previous(t), emb, empty, 1.0)
    guided = _teacher_step(Net(), sched, z, t, sched.previous(t), emb, empty, 1.0 + 1e-9)
    assert torch.allclose(fast, guided, atol=1e-5)
    assert not torch.allclose(fast, _teacher_step(Net(), sched, z, t, sched.previous(t), emb, empty, 2.0))


@pytest.mark.parametrize("extra", [{"target": "data"}, {"phases": 4, "ddim_timesteps": 100, "sampler": "ddim"}])
def test_the_data_target_and_the_phased_student_train_and_export(tmp_path, extra):
    from generation.reference.model import load_pipeline
    from generation.reference.train import export_checkpoint

    torch.set_num_threads(1)
    cfg = load_config(steps=1, batch_size=2, checkpoint_every=1, eval_every=1000, data={"train_n": 8, "train_seed": 0},
                      cache_dir=str(tmp_path / "cache"), **extra)
    summary = train_lcd(cfg, tmp_path / "run", progress=False)
    assert summary["steps"] == 1 and summary["config"] == cfg
    half = "phases" in extra
    dest = export_checkpoint(tmp_path / "run", tmp_path / "exported", half=half)
    pipe = load_pipeline(dest)
    want = "DDIMScheduler" if "phases" in extra else "LCMScheduler"
    assert type(pipe.scheduler).__name__ == want
    assert json.loads((dest / "training.json").read_text())["method"].startswith(
        "PCM-style phased" if "phases" in extra else "latent consistency distillation, data target")
    unet_file = dest / "unet" / "diffusion_pytorch_model.safetensors"
    teacher_file = Path("generation/reference/weights/teacher/unet/diffusion_pytorch_model.safetensors")
    if half:  # stored in half the bytes, loaded as float32
        assert unet_file.stat().st_size < 0.55 * teacher_file.stat().st_size
        assert pipe.unet.dtype == torch.float32 and pipe.vae.dtype == torch.float32


def test_the_best_validation_checkpoint_is_kept_and_exports(tmp_path):
    from generation.reference.train import export_checkpoint

    torch.set_num_threads(1)
    cfg = load_config(steps=3, batch_size=2, checkpoint_every=3, eval_every=1, eval_prompts=3, lr=1e-2,
                      data={"train_n": 8, "train_seed": 0}, cache_dir=str(tmp_path / "cache"))
    train_lcd(cfg, tmp_path / "run", progress=False)
    rows = [r for r in map(json.loads, (tmp_path / "run" / "log.jsonl").open()) if "validation_fd" in r]
    assert all(r["validation_fd"] == pytest.approx((r["validation_fd_2step"] + r["validation_fd_4step"]) / 2,
                                                   abs=1e-4) for r in rows)
    fds = {r["step"]: r["validation_fd"] for r in rows}
    assert sorted(fds) == [1, 2, 3]
    best_step = min(fds, key=lambda k: (fds[k], k))
    state = torch.load(tmp_path / "run" / "best.pt", weights_only=False)
    assert state["step"] == best_step and state["best"] == {"step": best_step, "fd": fds[best_step]}
    dest = export_checkpoint(tmp_path / "run", tmp_path / "best", best=True)
    info = json.loads((dest / "training.json").read_text())
    assert info["steps"] == best_step and info["exported_from"] == "best.pt"
    from safetensors.torch import load_file

    exported = load_file(dest / "unet" / "diffusion_pytorch_model.safetensors")
    assert all(torch.equal(exported[k], v) for k, v in state["target"].items())
