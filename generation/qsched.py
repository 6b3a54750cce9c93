"""Q-Sched: per-step preconditioning of a diffusers scheduler.

Q-Sched (Frumkin & Marculescu, arXiv:2509.01624) corrects the sampling
trajectory of a quantized few-step model by scaling, at the top of every
``scheduler.step``, the model output by ``c_theta[i]`` and the sample by
``c_x[i]`` (``i`` = step index). :class:`QSched` wraps any stock diffusers
scheduler (TCD, LCM, Euler-ancestral, flow-match Euler, ...) this way and is
itself a diffusers scheduler, so ``pipe.save_pretrained`` and
``DiffusionPipeline.from_pretrained`` keep it and its coefficients.

Example
-------
>>> pipe.scheduler = QSched(pipe.scheduler, c_x=(1.01, 1.0), c_theta=(0.96, 1.0))
"""

from __future__ import annotations

import functools
import inspect

import diffusers
import torch
from diffusers.configuration_utils import ConfigMixin, FrozenDict, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from generation.schedules import expand_schedule, normalize_spec

__all__ = ["QSched", "UPCASTING_SCHEDULERS"]

#: Schedulers that upcast ``sample`` to float32 at the top of ``step``; Q-Sched
#: scales the sample after that upcast so fp16 pipelines lose no precision.
UPCASTING_SCHEDULERS = (
    "EulerAncestralDiscreteScheduler",
    "EulerDiscreteScheduler",
    "FlowMatchEulerDiscreteScheduler",
)

# Attributes that live on the wrapper itself; everything else is read from
# (and written to) the wrapped scheduler.
_OWN = frozenset({"scheduler", "_internal_dict", "_c_x", "_c_theta", "_schedules", "step", "set_timesteps"})


class QSched(SchedulerMixin, ConfigMixin):
    """Wrap a diffusers scheduler with Q-Sched coefficients.

    Parameters
    ----------
    scheduler : diffusers.SchedulerMixin, optional
        The stock scheduler to wrap (e.g. ``pipe.scheduler``). When omitted,
        it is rebuilt from ``inner_class`` and ``inner_config`` (this is how
        ``from_pretrained`` restores a saved QSched).
    c_x : (start, end) tuple, per-step list, or float
        Coefficients multiplying the sample. A tuple expands to
        ``linspace(start, end, steps)``; a list must have one value per step.
    c_theta : (start, end) tuple, per-step list, or float
        Coefficients multiplying the model output, same forms as ``c_x``.
    inner_class : str, optional
        Class name (in ``diffusers``) of the wrapped scheduler; filled in
        automatically and stored in the config.
    inner_config : dict, optional
        Config of the wrapped scheduler; filled in automatically.

    Notes
    -----
    ``step`` and ``set_timesteps`` expose the wrapped scheduler's exact
    signatures, because pipelines inspect them to decide whether to pass
    ``eta``/``generator``/``sigmas``. ``config`` reads as the wrapped
    scheduler's config plus the Q-Sched keys. For schedulers that upcast the
    sample to float32 (Euler, Euler-ancestral, flow-match) the sample is scaled
    after the upcast; the model output is scaled in its own dtype, as in the
    paper's code, so the dtype of ancestral noise and of the result is unchanged.
    With all coefficients equal to 1 the result is bit-identical to the stock
    scheduler.
    """

    ignore_for_config = ["scheduler"]

    @register_to_config
    def __init__(
        self,
        scheduler: SchedulerMixin | None = None,
        c_x=(1.0, 1.0),
        c_theta=(1.0, 1.0),
        inner_class: str | None = None,
        inner_config: dict | None = None,
    ):
        if scheduler is None:
            if inner_class is None:
                raise ValueError("QSched needs a scheduler to wrap (or inner_class + inner_config from a saved config)")
            cls = getattr(diffusers, inner_class, None)
            if cls is None or not issubclass(cls, SchedulerMixin):
                raise ValueError(f"inner_class {inner_class!r} is not a diffusers scheduler class")
            scheduler = cls.from_config(dict(inner_config or {}))
        if isinstance(scheduler, QSched):
            raise ValueError("scheduler is already a QSched; wrap the stock scheduler instead")
        if not isinstance(scheduler, SchedulerMixin) or not hasattr(scheduler, "step"):
            raise ValueError(f"scheduler must be a diffusers scheduler, got {type(scheduler).__name__}")
        object.__setattr__(self, "scheduler", scheduler)
        object.__setattr__(self, "_c_x", normalize_spec("c_x", c_x))
        object.__setattr__(self, "_c_theta", normalize_spec("c_theta", c_theta))
        object.__setattr__(self, "_schedules", None)
        inner_cfg = {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")}
        self.register_to_config(
            c_x=self._c_x,
            c_theta=self._c_theta,
            inner_class=type(scheduler).__name__,
            inner_config=inner_cfg,
        )
        # Every key is now set explicitly; a stale "_use_default_values" would make
        # from_pretrained drop inner_class/inner_config on reload.
        cfg = {k: v for k, v in self._internal_dict.items() if k != "_use_default_values"}
        object.__setattr__(self, "_internal_dict", FrozenDict(cfg))
        self._install_methods()

    # ------------------------------------------------------------------ API
    @property
    def c_x(self):
        """Canonical ``c_x`` spec (``{"start", "end"}`` dict or per-step list)."""
        return self._c_x

    @property
    def c_theta(self):
        """Canonical ``c_theta`` spec (``{"start", "end"}`` dict or per-step list)."""
        return self._c_theta

    @property
    def config(self) -> FrozenDict:
        """The wrapped scheduler's config plus the Q-Sched keys."""
        return FrozenDict({**dict(self.scheduler.config), **dict(self._internal_dict)})

    @property
    def order(self):  # noqa: D401 - mirrors diffusers attribute
        return self.scheduler.order

    def set_coefficients(self, c_x=None, c_theta=None) -> None:
        """Replace the coefficients (validated) and update the config."""
        if c_x is not None:
            object.__setattr__(self, "_c_x", normalize_spec("c_x", c_x))
        if c_theta is not None:
            object.__setattr__(self, "_c_theta", normalize_spec("c_theta", c_theta))
        object.__setattr__(self, "_schedules", None)
        self.register_to_config(c_x=self._c_x, c_theta=self._c_theta)

    def coefficients(self, num_steps: int | None = None) -> tuple[list[float], list[float]]:
        """Per-step ``(c_x, c_theta)`` lists for ``num_steps`` (default: current timesteps).

        Raises
        ------
        ValueError
            If a per-step list does not match the step count.
        """
        if num_steps is None:
            timesteps = getattr(self.scheduler, "timesteps", None)
            if timesteps is None:
                raise ValueError("call set_timesteps first, or pass num_steps")
            num_steps = len(timesteps)
        return (
            expand_schedule("c_x", self._c_x, num_steps),
            expand_schedule("c_theta", self._c_theta, num_steps),
        )

    # ------------------------------------------------------------ wrapping
    def _install_methods(self) -> None:
        inner = self.scheduler
        step_sig = inspect.signature(inner.step)
        for required in ("model_output", "sample"):
            if required not in step_sig.parameters:
                raise ValueError(f"{type(inner).__name__}.step has no {required!r} argument; cannot wrap it")
        upcast = type(inner).__name__ in UPCASTING_SCHEDULERS

        @functools.wraps(inner.set_timesteps)
        def set_timesteps(*args, **kwargs):
            result = inner.set_timesteps(*args, **kwargs)
            object.__setattr__(self, "_schedules", self.coefficients(len(inner.timesteps)))
            return result

        @functools.wraps(inner.step)
        def step(*args, **kwargs):
            bound = step_sig.bind(*args, **kwargs)
            args_ = bound.arguments
            index = self._step_index_for(args_.get("timestep"))
            c_x, c_theta = self._per_step(index)
            model_output, sample = args_["model_output"], args_["sample"]
            if upcast:
                sample = sample.to(torch.float32)
            if c_x != 1.0:
                sample = sample * c_x
            if c_theta != 1.0:
                model_output = model_output * c_theta
            args_["model_output"], args_["sample"] = model_output, sample
            return inner.step(*bound.args, **bound.kwargs)

        object.__setattr__(self, "set_timesteps", set_timesteps)
        object.__setattr__(self, "step", step)

    def _step_index_for(self, timestep) -> int:
        """Index of the step about to run, resolved even before the scheduler's first step."""
        inner = self.scheduler
        if hasattr(type(inner), "step_index") or "_step_index" in vars(inner):
            if inner.step_index is None and hasattr(inner, "_init_step_index"):
                # Stock schedulers set the index lazily inside step(); set it the same way now.
                inner._init_step_index(timestep)
            if inner.step_index is not None:
                return int(inner.step_index)
        # Schedulers without a step index (e.g. DDIM): the position of the timestep.
        timesteps = inner.timesteps
        t = timestep.to(timesteps.device) if isinstance(timestep, torch.Tensor) else torch.tensor(timestep)
        matches = (timesteps == t).nonzero()
        if len(matches) == 0:
            raise ValueError(f"timestep {timestep} is not in the scheduler's timesteps; call set_timesteps first")
        return int(matches[0])

    def _per_step(self, index: int) -> tuple[float, float]:
        n = len(self.scheduler.timesteps)
        if self._schedules is None or len(self._schedules[0]) != n:
            object.__setattr__(self, "_schedules", self.coefficients(n))
        c_x, c_theta = self._schedules
        if not 0 <= index < len(c_x):
            raise ValueError(f"step index {index} is outside the {len(c_x)}-step Q-Sched schedule")
        return c_x[index], c_theta[index]

    # --------------------------------------------------------- delegation
    def __getattr__(self, name: str):
        # Only called when normal lookup fails: read from the wrapped scheduler.
        inner = self.__dict__.get("scheduler")
        if inner is None or name.startswith("__"):
            raise AttributeError(f"'QSched' object has no attribute {name!r}")
        return getattr(inner, name)

    def __setattr__(self, name: str, value) -> None:
        inner = self.__dict__.get("scheduler")
        if name in _OWN or inner is None or not hasattr(inner, name):
            object.__setattr__(self, name, value)
        else:
            setattr(inner, name, value)

    def __len__(self) -> int:
        return len(self.scheduler)

    def __repr__(self) -> str:
        return f"QSched(c_x={self._c_x}, c_theta={self._c_theta}, scheduler={type(self.scheduler).__name__})"

    def __deepcopy__(self, memo):
        import copy

        return QSched(copy.deepcopy(self.scheduler, memo), c_x=self._c_x, c_theta=self._c_theta)
