"""Calibration on a tiny real pipeline: result files, cache, resume after interruption, bad input."""

import json

import numpy as np
import pytest
import torch

from generation.calibrate import calibrate
from generation.jaq import JAQ
from generation.qsched import QSched
from tests.generation.tiny import tiny_sd_pipeline

PROMPTS = ["a red fox", "a blue bird"]
SETTINGS = dict(num_inference_steps=2, guidance_scale=1.0, height=16, width=16, progress=False)


def brightness(images, prompts):
    return torch.tensor([100.0 * np.asarray(im, dtype=np.float32).mean() / 255 for im in images])


def contrast(images):
    return torch.tensor([np.asarray(im, dtype=np.float32).std() / 255 for im in images])


class CountingFactory:
    def __init__(self):
        self.calls, self.pipe = 0, None

    def __call__(self):
        self.calls += 1
        if self.pipe is None:
            self.pipe = tiny_sd_pipeline("lcm")
        return self.pipe


@pytest.fixture(scope="module")
def jaq():
    return JAQ(text_image=brightness, quality=contrast, k=2.0)


def test_grid_calibration_saves_a_loadable_scheduler_and_a_report_of_every_point(tmp_path, jaq):
    factory = CountingFactory()
    r = calibrate(factory, PROMPTS, seed=3, strategy="grid", jaq=jaq, grid_size=3, cache_dir=tmp_path / "cache",
                  out_dir=tmp_path / "out", **SETTINGS)
    assert r.n_evaluations == 9 and r.pipeline_images == 18 and factory.calls == 1
    assert {(p["c_x"], p["c_theta"]) for p in r.points} == {(a, b) for a in (0.8, 1.0, 1.2) for b in (0.8, 1.0, 1.2)}
    best = max(r.points, key=lambda p: p["jaq"])
    assert r.c_x == (best["c_x"], 1.0) and r.c_theta == (best["c_theta"], 1.0) and r.jaq == best["jaq"]
    assert len({p["jaq"] for p in r.points}) > 1  # the coefficients matter
    report = json.loads((tmp_path / "out" / "calibration_report.json").read_text())
    assert len(report["points"]) == 9 and report["c_x"] == [best["c_x"], 1.0]
    loaded = QSched.from_pretrained(tmp_path / "out", subfolder="scheduler")
    assert loaded.coefficients(2) == ([best["c_x"], 1.0], [best["c_theta"], 1.0])
    assert type(loaded.scheduler).__name__ == "LCMScheduler"
    # the reported JAQ is what a fresh run with the saved scheduler scores
    pipe = factory.pipe
    stock = pipe.scheduler
    pipe.scheduler = loaded
    try:
        images = pipe(PROMPTS, num_inference_steps=2, guidance_scale=1.0, height=16, width=16,
                      generator=[torch.Generator().manual_seed(3) for _ in PROMPTS]).images
    finally:
        pipe.scheduler = stock
    assert jaq.score(images, PROMPTS).mean == pytest.approx(r.jaq, abs=1e-6)


def test_a_repeated_search_reads_everything_from_the_cache(tmp_path, jaq):
    first = calibrate(CountingFactory(), PROMPTS, seed=0, strategy="grid", jaq=jaq, grid_size=3,
                      cache_dir=tmp_path, **SETTINGS)
    factory = CountingFactory()
    again = calibrate(factory, PROMPTS, seed=0, strategy="grid", jaq=jaq, grid_size=3, cache_dir=tmp_path, **SETTINGS)
    assert factory.calls == 0 and again.pipeline_images == 0 and again.cached_images == 18
    assert again.points == first.points


def test_a_search_resumed_after_an_interruption_redoes_nothing(tmp_path, jaq):
    class Interrupting:
        calls = 0

        def score(self, images, prompts):
            Interrupting.calls += 1
            if Interrupting.calls == 5:
                raise KeyboardInterrupt
            return jaq.score(images, prompts)

    with pytest.raises(KeyboardInterrupt):
        calibrate(CountingFactory(), PROMPTS, seed=0, strategy="grid", jaq=Interrupting(), grid_size=3,
                  cache_dir=tmp_path, **SETTINGS)
    resumed = calibrate(CountingFactory(), PROMPTS, seed=0, strategy="grid", jaq=jaq, grid_size=3,
                        cache_dir=tmp_path, **SETTINGS)
    assert resumed.cached_images == 10 and resumed.pipeline_images == 8


def test_the_cache_is_keyed_by_seed_and_setup(tmp_path, jaq):
    calibrate(CountingFactory(), PROMPTS, seed=0, strategy="grid", jaq=jaq, grid_size=2, cache_dir=tmp_path,
              **SETTINGS)
    other_seed = calibrate(CountingFactory(), PROMPTS, seed=1, strategy="grid", jaq=jaq, grid_size=2,
                           cache_dir=tmp_path, **SETTINGS)
    other_model = calibrate(CountingFactory(), PROMPTS, seed=0, strategy="grid", jaq=jaq, grid_size=2,
                            cache_dir=tmp_path, cache_context="w8a8", **SETTINGS)
    assert other_seed.cached_images == 0 and other_model.cached_images == 0


def test_the_smarter_search_stays_within_its_budget_on_a_pipeline(tmp_path, jaq):
    r = calibrate(CountingFactory(), PROMPTS, seed=0, strategy="coarse-to-fine", jaq=jaq, grid_size=10, budget=12,
                  cache_dir=tmp_path, **SETTINGS)
    assert r.n_evaluations <= 12 and r.pipeline_images == 2 * r.n_evaluations


@pytest.mark.parametrize("prompts, kwargs, message", [
    ([], {}, "calibration prompt list is empty"),
    (PROMPTS, {"strategy": "random"}, "unknown search strategy 'random'"),
    (PROMPTS, {"bounds": (0.2, 1.2)}, r"bounds\[0\] \(start\) = 0.2 is outside the allowed range"),
])
def test_bad_calibration_input_is_refused(prompts, kwargs, message, jaq):
    factory = CountingFactory()
    with pytest.raises(ValueError, match=message):
        calibrate(factory, prompts, jaq=jaq, **SETTINGS, **kwargs)
    assert factory.calls == 0


def test_an_unwritable_output_dir_is_refused_before_any_work(tmp_path, jaq):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    factory = CountingFactory()
    with pytest.raises(ValueError, match="output directory .*a-file/out.* is not writable"):
        calibrate(factory, PROMPTS, jaq=jaq, out_dir=blocker / "out", **SETTINGS)
    with pytest.raises(ValueError, match="cache directory .*a-file/cache.* is not writable"):
        calibrate(factory, PROMPTS, jaq=jaq, cache_dir=blocker / "cache", **SETTINGS)
    assert factory.calls == 0
