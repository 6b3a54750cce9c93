"""Search Q-Sched coefficients for a (quantized) pipeline by JAQ on calibration prompts.

For each candidate ``(c_x_start, c_theta_start)`` the pipeline runs with
``QSched(c_x=(c_x_start, 1), c_theta=(c_theta_start, 1))`` on every
calibration prompt with the given seed, and the mean JAQ of those images is
the objective (maximised). Images are cached on disk by (coefficients, prompt,
seed), so a resumed or repeated search never runs the pipeline twice for the
same image.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from generation.images import ImageCache, ensure_writable_dir, generate_images, stock_scheduler
from generation.search import STRATEGIES, run_search

__all__ = ["CalibrationResult", "calibrate", "END_VALUE"]

#: The paper fixes the end of both linear schedules to 1.
END_VALUE = 1.0


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    """Best coefficients and every evaluated point.

    Attributes
    ----------
    c_x, c_theta : tuple of float
        ``(start, end)`` schedules of the best point.
    jaq : float
        Mean JAQ of the best point over the calibration prompts.
    strategy : str
    points : list of dict
        ``{"c_x": start, "c_theta": start, "jaq": mean, "per_prompt": [...]}`` in evaluation order.
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
    """Search ``(c_x_start, c_theta_start)`` maximising mean JAQ on calibration prompts.

    Parameters
    ----------
    pipe_factory_or_pipe : DiffusionPipeline or callable returning one
        The (quantized) pipeline. A factory is only called when an image is
        missing from the cache, so a fully cached search never loads a model.
    prompts : list of str
        Calibration prompts (paper: ~5).
    seed : int
        One seed for every prompt.
    strategy : {"grid", "coarse-to-fine", "nelder-mead"}
        ``grid`` is the paper's exhaustive baseline (``grid_size**2`` points);
        the others use at most ``budget`` (default a tenth of the grid).
    jaq : generation.jaq.JAQ, optional
        Scorer with ``.score(images, prompts)``; default CLIPScore (ViT-B-32) + CLIP-IQA, k=2.
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
    from generation.qsched import QSched
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
    context = json.dumps({"user": cache_context, "steps": num_inference_steps, "guidance": guidance_scale,
                          "height": height, "width": width, "extra": pipe_kwargs or {}}, sort_keys=True, default=str)
    cache = ImageCache(cache_dir, context) if cache_dir is not None else None
    if jaq is None:
        from generation.jaq import JAQ, CLIPScore, PyIQA

        jaq = JAQ(text_image=CLIPScore(), quality=PyIQA("clipiqa"), k=2.0)

    state: dict = {"pipe": None, "stock": None, "generated": 0}

    def get_pipe():
        if state["pipe"] is None:
            pipe = pipe_factory_or_pipe() if callable(pipe_factory_or_pipe) and not hasattr(
                pipe_factory_or_pipe, "scheduler") else pipe_factory_or_pipe
            state["pipe"], state["stock"] = pipe, stock_scheduler(pipe)
        return state["pipe"]

    per_prompt: dict[tuple, list] = {}

    def objective(cx: float, ct: float) -> float:
        c_x, c_theta = [cx, END_VALUE], [ct, END_VALUE]
        images = [cache.get(c_x, c_theta, p, seed) if cache else None for p in prompts]
        missing = [i for i, im in enumerate(images) if im is None]
        if missing:
            pipe = get_pipe()
            original = pipe.scheduler
            pipe.scheduler = QSched(state["stock"], c_x=tuple(c_x), c_theta=tuple(c_theta))
            try:
                new = generate_images(pipe, [prompts[i] for i in missing], [seed] * len(missing),
                                      num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
                                      height=height, width=width, **(pipe_kwargs or {}))
            finally:
                pipe.scheduler = original
            state["generated"] += len(new)
            for i, im in zip(missing, new):
                images[i] = im
                if cache:
                    cache.put(im, c_x, c_theta, prompts[i], seed)
        scored = jaq.score(images, prompts)
        per_prompt[(cx, ct)] = [float(v) for v in scored.jaq]
        return scored.mean

    total = grid_size**2 if strategy == "grid" else (budget or max(grid_size**2 // 10, 9))
    with tqdm(total=total, desc=f"calibrate ({strategy})", unit="point", disable=not progress) as bar:
        found = run_search(objective, strategy, bounds=tuple(bounds), grid_size=grid_size, budget=budget,
                           progress=bar)
    points = [{"c_x": p["c_x"], "c_theta": p["c_theta"], "jaq": p["value"],
               "per_prompt": per_prompt[(p["c_x"], p["c_theta"])]} for p in found.points]
    result = CalibrationResult(
        c_x=(found.best[0], END_VALUE), c_theta=(found.best[1], END_VALUE), jaq=found.best_value,
        strategy=strategy, points=points, pipeline_images=state["generated"],
        cached_images=cache.hits if cache else 0,
        settings={"prompts": prompts, "seed": seed, "num_inference_steps": num_inference_steps,
                  "guidance_scale": guidance_scale, "height": height, "width": width, "bounds": list(bounds),
                  "grid_size": grid_size, "budget": budget, "cache_context": cache_context},
    )
    if out_dir is not None:
        if state["stock"] is None:
            get_pipe()  # everything came from the cache; the scheduler config still has to be written
        result.save(out_dir, scheduler=state["stock"])
    return result
