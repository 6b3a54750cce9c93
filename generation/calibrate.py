"""Search Q-Sched coefficients for a (quantized) pipeline by JAQ on calibration prompts.

For each candidate ``(c_x_start, c_theta_start)`` the pipeline runs with
``QSched(c_x=(c_x_start, 1), c_theta=(c_theta_start, 1))`` on every
calibration prompt with the given seed, and the JAQ of that set of images
(every image once, equal weight) is the objective (maximised). The reported
best point is the one with the best JAQ. Images are cached on disk by
(coefficients, prompt, seed), so a resumed or repeated search never runs the
pipeline twice for the same image.

Protocols (:data:`PROTOCOLS`) fix the search to a published setting:
``official`` is the released code's run (grid [0.8, 1.2], 50 x 50, the first
25 prompts of the list, one image each, seed 42); ``paper5`` is the same grid
on the first 5 prompts (the paper's text: "about 5 prompts").
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from generation.images import ImageCache, ensure_writable_dir, generate_images, resolve_pipeline, stock_scheduler
from generation.search import STRATEGIES, run_search

__all__ = ["CalibrationResult", "CalibrationProtocol", "PROTOCOLS", "calibrate", "protocol_prompts", "END_VALUE"]

#: The paper fixes the end of both linear schedules to 1.
END_VALUE = 1.0


@dataclasses.dataclass(frozen=True)
class CalibrationProtocol:
    """A published calibration setting: search, box, grid, prompt count and seed."""

    name: str
    strategy: str
    bounds: tuple[float, float]
    grid_size: int
    n_prompts: int
    seed: int
    source: str

    def settings(self) -> dict:
        """Keyword arguments of :func:`calibrate` this protocol fixes."""
        return {"strategy": self.strategy, "bounds": self.bounds, "grid_size": self.grid_size, "seed": self.seed}


PROTOCOLS = {
    "official": CalibrationProtocol(
        "official", "grid", (0.8, 1.2), 50, 25, 42,
        "enyac-group/q-sched scripts/qsched.sh: --calib_size 25 --num_points 50, coefficients 0.8..1.2, seed 42 "
        "(first 25 prompts of sDCI, one image each)"),
    "paper5": CalibrationProtocol(
        "paper5", "grid", (0.8, 1.2), 50, 5, 42,
        "the paper's text: a handful (about 5) of calibration prompts; grid and seed as the released code"),
}


def protocol_prompts(name: str, prompts: Sequence[str]) -> list[str]:
    """The first ``n_prompts`` of ``prompts`` for protocol ``name``; refuses a list that is too short."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown calibration protocol {name!r}; choose one of {', '.join(PROTOCOLS)}")
    n = PROTOCOLS[name].n_prompts
    prompts = list(prompts)
    if len(prompts) < n:
        raise ValueError(f"protocol {name!r} calibrates on the first {n} prompts of a list; got only {len(prompts)}")
    return prompts[:n]


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    """Best coefficients and every evaluated point.

    Attributes
    ----------
    c_x, c_theta : tuple of float
        ``(start, end)`` schedules of the best point.
    jaq : float
        JAQ of the best point's calibration images (the highest of all points).
    strategy : str
    points : list of dict
        ``{"c_x": start, "c_theta": start, "jaq": set JAQ, "clip_score": mean per-image CLIPScore,
        "iqa": mean quality, "per_prompt": [per-image JAQ, ...]}`` in evaluation order.
    pipeline_images : int
        Images actually generated (cache misses) during this call.
    cached_images : int
        Images read from the cache during this call.
    settings : dict
        Prompts, seed, steps, bounds... (for the report).
    """

    c_x: tuple
    c_theta: tuple
    jaq: float
    strategy: str
    points: list
    pipeline_images: int
    cached_images: int
    settings: dict

    @property
    def n_evaluations(self) -> int:
        return len(self.points)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"n_evaluations": self.n_evaluations}

    def save(self, out_dir, scheduler=None) -> Path:
        """Write ``calibration_report.json`` and, given the stock scheduler, ``scheduler/scheduler_config.json``.

        The scheduler folder loads with ``QSched.from_pretrained(out_dir, subfolder="scheduler")``.
        """
        from generation.qsched import QSched

        out = ensure_writable_dir(out_dir)
        if scheduler is not None:
            QSched(scheduler, c_x=self.c_x, c_theta=self.c_theta).save_pretrained(out / "scheduler")
        (out / "calibration_report.json").write_text(json.dumps(self.to_dict(), indent=2))
        return out


def calibrate(
    pipe_factory_or_pipe,
    prompts: Sequence[str],
    seed: int = 0,
    strategy: str = "coarse-to-fine",
    jaq=None,
    *,
    num_inference_steps: int,
    guidance_scale: float | None = None,
    height: int | None = None,
    width: int | None = None,
    bounds: tuple[float, float] = (0.8, 1.2),
    grid_size: int = 21,
    budget: int | None = None,
    cache_dir=None,
    cache_context: str = "",
    out_dir=None,
    pipe_kwargs: dict | None = None,
    progress: bool = True,
) -> CalibrationResult:
    """Search ``(c_x_start, c_theta_start)`` maximising the JAQ of the calibration images.

    Parameters
    ----------
    pipe_factory_or_pipe : DiffusionPipeline or callable returning one
        The (quantized) pipeline. A factory is only called when an image is
        missing from the cache, so a fully cached search never loads a model
        (see :func:`generation.images.resolve_pipeline`).
    prompts : list of str
        Calibration prompts (paper: ~5; the released code: 25). For a published
        setting, use :func:`protocol_prompts` and ``PROTOCOLS[name].settings()``.
    seed : int
        One seed for every prompt (the released code: 42).
    strategy : {"grid", "coarse-to-fine", "nelder-mead"}
        ``grid`` is the paper's exhaustive baseline (``grid_size**2`` points);
        the others use at most ``budget`` (default a tenth of the grid).
    jaq : generation.jaq.JAQ, optional
        Scorer with ``.score(images, prompts)``; default the paper's JAQ
        (CLIP ViT-L/14 CLIPScore, CLIP-IQA "Good photo."/"Bad photo.", k=2).
    num_inference_steps, guidance_scale, height, width :
        Passed to the pipeline.
    bounds : (low, high)
        Range of both start values; the end values are fixed to 1.
    cache_dir : path, optional
        Image cache (see :class:`generation.images.ImageCache`).
    cache_context : str
        Identifies the model setup inside the cache (e.g. ``"sdxl-turbo-4/w4a8"``).
        Steps, guidance and size are added automatically.
    out_dir : path, optional
        Where to save the scheduler config and the JSON report.
    pipe_kwargs : dict, optional
        Extra pipeline arguments.
    progress : bool
        Show a tqdm progress bar of evaluations.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    ValueError
        Empty prompt list, unknown strategy, bounds outside Q-Sched's limits,
        unwritable cache or output directory.
    """
    prompts = _check_request(prompts, strategy, bounds, out_dir)
    call = {"num_inference_steps": num_inference_steps, "guidance_scale": guidance_scale, "height": height,
            "width": width, **(pipe_kwargs or {})}
    evaluate = _Evaluator(pipe_factory_or_pipe, prompts, seed, jaq if jaq is not None else _paper_jaq(), call,
                          _image_cache(cache_dir, cache_context, call))
    found = _search(evaluate, strategy, bounds, grid_size, budget, progress)
    result = _result(found, evaluate, strategy, settings={
        "prompts": prompts, "seed": seed, "num_inference_steps": num_inference_steps,
        "guidance_scale": guidance_scale, "height": height, "width": width, "bounds": list(bounds),
        "grid_size": grid_size, "budget": budget, "cache_context": cache_context})
    if out_dir is not None:
        result.save(out_dir, scheduler=evaluate.stock_scheduler())
    return result


def _search(evaluate: _Evaluator, strategy: str, bounds, grid_size: int, budget: int | None, progress: bool):
    """Run the search strategy on ``evaluate``, with a progress bar of evaluations."""
    total = grid_size**2 if strategy == "grid" else (budget or max(grid_size**2 // 10, 9))
    with tqdm(total=total, desc=f"calibrate ({strategy})", unit="point", disable=not progress) as bar:
        return run_search(evaluate, strategy, bounds=tuple(bounds), grid_size=grid_size, budget=budget,
                          progress=bar)


def _result(found, evaluate: _Evaluator, strategy: str, settings: dict) -> CalibrationResult:
    """The best point of the search and every evaluated point's details, in evaluation order."""
    return CalibrationResult(
        c_x=(found.best[0], END_VALUE), c_theta=(found.best[1], END_VALUE), jaq=found.best_value,
        strategy=strategy, points=[evaluate.points[(p["c_x"], p["c_theta"])] for p in found.points],
        pipeline_images=evaluate.generated, cached_images=evaluate.cache.hits if evaluate.cache else 0,
        settings=settings,
    )


def _check_request(prompts, strategy: str, bounds, out_dir) -> list[str]:
    """The prompts as strings, after refusing bad input before any work."""
    from generation.schedules import normalize_spec

    prompts = [str(p) for p in prompts]
    if not prompts:
        raise ValueError("the calibration prompt list is empty; give at least one prompt")
    if any(not p.strip() for p in prompts):
        raise ValueError("a calibration prompt is empty")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown search strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    normalize_spec("bounds", tuple(bounds))  # same limits as QSched itself
    if out_dir is not None:
        ensure_writable_dir(out_dir)
    return prompts


def _image_cache(cache_dir, cache_context: str, call: dict) -> ImageCache | None:
    """The image cache keyed by the model setup and every pipeline call setting."""
    if cache_dir is None:
        return None
    extra = {k: v for k, v in call.items() if k not in ("num_inference_steps", "guidance_scale", "height", "width")}
    context = json.dumps({"user": cache_context, "steps": call["num_inference_steps"],
                          "guidance": call["guidance_scale"], "height": call["height"], "width": call["width"],
                          "extra": extra}, sort_keys=True, default=str)
    return ImageCache(cache_dir, context)


def _paper_jaq():
    from generation.plan import build_jaq

    return build_jaq({"variant": "paper"})


class _Evaluator:
    """The search objective: the JAQ of the calibration images at one coefficient pair.

    Loads the pipeline on the first cache miss only, restores its scheduler
    after each evaluation, and keeps every point's details for the report.
    """

    def __init__(self, pipe_or_factory, prompts: list[str], seed: int, jaq, call: dict, cache: ImageCache | None):
        self.source, self.prompts, self.seed, self.jaq, self.call, self.cache = (
            pipe_or_factory, prompts, seed, jaq, call, cache)
        self._pipe = self._stock = None
        self.generated = 0
        self.points: dict[tuple, dict] = {}

    def pipe(self):
        if self._pipe is None:
            self._pipe = resolve_pipeline(self.source)
            self._stock = stock_scheduler(self._pipe)
        return self._pipe

    def stock_scheduler(self):
        self.pipe()  # everything may have come from the cache; the scheduler config still has to be written
        return self._stock

    def images(self, c_x: list, c_theta: list) -> list:
        images = [self.cache.get(c_x, c_theta, p, self.seed) if self.cache else None for p in self.prompts]
        missing = [i for i, im in enumerate(images) if im is None]
        if missing:
            for i, im in zip(missing, self._generate(c_x, c_theta, [self.prompts[i] for i in missing])):
                images[i] = im
                if self.cache:
                    self.cache.put(im, c_x, c_theta, self.prompts[i], self.seed)
        return images

    def _generate(self, c_x: list, c_theta: list, prompts: list[str]) -> list:
        from generation.qsched import QSched

        pipe = self.pipe()
        original = pipe.scheduler
        pipe.scheduler = QSched(self._stock, c_x=tuple(c_x), c_theta=tuple(c_theta))
        try:
            new = generate_images(pipe, prompts, [self.seed] * len(prompts), **self.call)
        finally:
            pipe.scheduler = original
        self.generated += len(new)
        return new

    def __call__(self, cx: float, ct: float) -> float:
        scored = self.jaq.score(self.images([cx, END_VALUE], [ct, END_VALUE]), self.prompts)
        self.points[(cx, ct)] = {"c_x": cx, "c_theta": ct, "jaq": scored.mean,
                                 "clip_score": float(scored.clip_score.mean()), "iqa": float(scored.iqa.mean()),
                                 "per_prompt": [float(v) for v in scored.jaq]}
        return scored.mean
