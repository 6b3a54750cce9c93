"""QSched on real (tiny) diffusers pipelines: identities, formula and the known traps."""

import functools
import inspect

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, EulerAncestralDiscreteScheduler, FlowMatchEulerDiscreteScheduler

from generation.qsched import QSched
from tests.generation.tiny import SD_SCHEDULERS, run_flux, run_sd, tiny_flux_pipeline, tiny_sd_pipeline


@pytest.fixture(scope="module")
def sd_pipes():
    return {name: tiny_sd_pipeline(name) for name in SD_SCHEDULERS}


@pytest.fixture(scope="module")
def flux_pipe():
    return tiny_flux_pipeline()


def _with_scheduler(pipe, scheduler):
    old = pipe.scheduler
    pipe.scheduler = scheduler
    return old


def _paper_patch(scheduler, c_x, c_theta):
    """The paper's patch, written independently: scale at the top of step() by call count."""
    original = scheduler.step
    calls = {"i": 0}

    @functools.wraps(original)
    def step(model_output, timestep, sample, *args, **kwargs):
        i = calls["i"]
        calls["i"] += 1
        return original(model_output * c_theta[i], timestep, sample * c_x[i], *args, **kwargs)

    scheduler.step = step
    return scheduler


@pytest.mark.parametrize("name", sorted(SD_SCHEDULERS))
def test_all_ones_is_bit_identical_to_the_stock_scheduler(sd_pipes, name):
    pipe = sd_pipes[name]
    stock = run_sd(pipe)
    old = _with_scheduler(pipe, QSched(pipe.scheduler, c_x=(1.0, 1.0), c_theta=[1.0, 1.0, 1.0, 1.0]))
    try:
        wrapped = run_sd(pipe)
    finally:
        pipe.scheduler = old
    assert np.array_equal(stock, wrapped)


def test_all_ones_is_bit_identical_for_flux_flow_match(flux_pipe):
    stock = run_flux(flux_pipe)
    old = _with_scheduler(flux_pipe, QSched(flux_pipe.scheduler))
    try:
        wrapped = run_flux(flux_pipe)
    finally:
        flux_pipe.scheduler = old
    assert np.array_equal(stock, wrapped)


@pytest.mark.parametrize("name", sorted(SD_SCHEDULERS))
def test_other_coefficients_follow_the_papers_formula(sd_pipes, name):
    pipe = sd_pipes[name]
    c_x, c_theta = np.linspace(1.1, 1.0, 4), np.linspace(0.85, 1.0, 4)
    fresh = SD_SCHEDULERS[name]
    old = _with_scheduler(pipe, _paper_patch(fresh(), c_x, c_theta))
    try:
        expected = run_sd(pipe)
        pipe.scheduler = QSched(fresh(), c_x=(1.1, 1.0), c_theta=(0.85, 1.0))
        got = run_sd(pipe)
        pipe.scheduler = fresh()
        stock = run_sd(pipe)
    finally:
        pipe.scheduler = old
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert np.abs(got - stock).max() > 1e-3  # the coefficients do change the image


def test_flux_coefficients_follow_the_papers_formula(flux_pipe):
    c_x, c_theta = [1.05, 1.02, 1.0, 0.98], [0.9, 0.95, 1.0, 1.1]
    old = _with_scheduler(flux_pipe, _paper_patch(FlowMatchEulerDiscreteScheduler(), c_x, c_theta))
    try:
        expected = run_flux(flux_pipe)
        flux_pipe.scheduler = QSched(FlowMatchEulerDiscreteScheduler(), c_x=c_x, c_theta=c_theta)
        got = run_flux(flux_pipe)
    finally:
        flux_pipe.scheduler = old
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SD_SCHEDULERS))
def test_step_and_set_timesteps_expose_the_wrapped_signatures(name):
    inner = SD_SCHEDULERS[name]()
    q = QSched(inner)
    assert inspect.signature(q.step) == inspect.signature(inner.step)
    assert inspect.signature(q.set_timesteps) == inspect.signature(inner.set_timesteps)
    flow = FlowMatchEulerDiscreteScheduler()
    assert "sigmas" in inspect.signature(QSched(flow).set_timesteps).parameters


def test_a_star_args_wrapper_would_silently_change_tcd_images(sd_pipes):
    """Why the signature matters: hiding eta/generator makes the pipeline drop them."""
    pipe = sd_pipes["tcd"]
    stock = run_sd(pipe, eta=0.0)
    naive = SD_SCHEDULERS["tcd"]()
    original = naive.step
    naive.step = lambda *args, **kwargs: original(*args, **kwargs)
    old = _with_scheduler(pipe, naive)
    try:
        changed = run_sd(pipe, eta=0.0)
        pipe.scheduler = QSched(SD_SCHEDULERS["tcd"]())
        kept = run_sd(pipe, eta=0.0)
    finally:
        pipe.scheduler = old
    assert not np.array_equal(stock, changed)
    assert np.array_equal(stock, kept)


@pytest.mark.parametrize("name", ["tcd", "lcm", "euler_a"])
def test_unset_step_index_at_first_call_uses_the_right_coefficient(name):
    torch.manual_seed(0)
    sample, model_output = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    c_x, c_theta = [1.2, 1.1, 1.0, 0.9], [0.8, 0.9, 1.0, 1.1]
    for begin in (None, 2):
        inner, reference = SD_SCHEDULERS[name](), SD_SCHEDULERS[name]()
        q = QSched(inner, c_x=c_x, c_theta=c_theta)
        q.set_timesteps(4)
        reference.set_timesteps(4)
        start = 0 if begin is None else begin
        if begin is not None:
            q.set_begin_index(begin)
            reference.set_begin_index(begin)
        assert inner.step_index is None
        t = q.timesteps[start]
        got = q.step(model_output, t, sample, generator=torch.Generator().manual_seed(1)).prev_sample
        want = reference.step(model_output * c_theta[start], t, sample * c_x[start],
                              generator=torch.Generator().manual_seed(1)).prev_sample
        assert torch.equal(got, want)
        assert q.step_index == start + 1


@pytest.mark.parametrize("make", [EulerAncestralDiscreteScheduler, FlowMatchEulerDiscreteScheduler])
def test_upcasting_schedulers_scale_the_sample_after_the_float32_upcast(make):
    torch.manual_seed(0)
    sample = (torch.randn(2, 4, 32, 32) * 3).half()
    model_output = torch.randn(2, 4, 32, 32).half()
    cx, ct = 0.9371, 1.0613

    def run(scheduler, mo, s):
        scheduler.set_timesteps(4)
        out = scheduler.step(mo, scheduler.timesteps[0], s, generator=torch.Generator().manual_seed(0))
        return out

    got = run(QSched(make(), c_x=[cx] * 4, c_theta=[ct] * 4), model_output, sample)
    after = run(make(), model_output * ct, sample.float() * cx)
    before = run(make(), model_output * ct, sample * cx)  # fp16 product: loses precision
    assert got.prev_sample.dtype == torch.float16
    assert torch.equal(got.prev_sample, after.prev_sample)
    if hasattr(got, "pred_original_sample") and got.pred_original_sample is not None:
        assert torch.equal(got.pred_original_sample, after.pred_original_sample)
        assert not torch.equal(got.pred_original_sample, before.pred_original_sample)
    else:
        assert not torch.equal(got.prev_sample, before.prev_sample)


def test_a_schedule_of_the_wrong_length_fails_clearly(sd_pipes):
    pipe = sd_pipes["lcm"]
    old = _with_scheduler(pipe, QSched(SD_SCHEDULERS["lcm"](), c_x=[1.0, 1.0, 1.0], c_theta=(1.0, 1.0)))
    try:
        with pytest.raises(ValueError, match=r"c_x has 3 per-step values but the scheduler runs 4 steps"):
            run_sd(pipe, steps=4)
    finally:
        pipe.scheduler = old


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"c_x": (0.2, 1.0)}, r"c_x\[0\] \(start\) = 0.2 is outside the allowed range \[0.5, 1.5\]"),
        ({"c_theta": [1.0, float("nan")]}, r"c_theta\[1\] = nan is not finite"),
        ({"c_theta": (1.0, 1.0, 1.0)}, r"c_theta as a tuple must be \(start, end\)"),
        ({"c_x": []}, r"c_x is an empty list"),
    ],
)
def test_bad_coefficients_are_refused_with_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QSched(SD_SCHEDULERS["tcd"](), **kwargs)


def test_wrapping_something_that_is_not_a_scheduler_is_refused():
    with pytest.raises(ValueError, match="must be a diffusers scheduler"):
        QSched(object())


def test_save_pretrained_and_from_pretrained_keep_qsched_and_its_coefficients(sd_pipes, tmp_path):
    pipe = sd_pipes["tcd"]
    old = _with_scheduler(pipe, QSched(SD_SCHEDULERS["tcd"](), c_x=(1.1, 1.0), c_theta=[0.9, 0.95, 1.0, 1.05]))
    try:
        before = run_sd(pipe)
        pipe.save_pretrained(tmp_path)
    finally:
        pipe.scheduler = old
    loaded = DiffusionPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert isinstance(loaded.scheduler, QSched)
    assert type(loaded.scheduler.scheduler).__name__ == "TCDScheduler"
    assert loaded.scheduler.c_x == {"start": 1.1, "end": 1.0}
    assert loaded.scheduler.c_theta == [0.9, 0.95, 1.0, 1.05]
    assert loaded.scheduler.config.timestep_spacing == "trailing"
    after = run_sd(loaded)
    np.testing.assert_allclose(after, before, atol=1e-5)  # reloaded weights: same up to float reassociation
    loaded.scheduler = QSched(SD_SCHEDULERS["tcd"](), c_x=(1.1, 1.0), c_theta=[0.9, 0.95, 1.0, 1.05])
    assert np.array_equal(run_sd(loaded), after)
    again = QSched.from_pretrained(tmp_path, subfolder="scheduler")
    assert again.coefficients(4) == loaded.scheduler.coefficients(4)
