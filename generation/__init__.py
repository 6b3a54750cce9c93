"""Q-Sched generation: quantized few-step diffusion, Q-Sched, JAQ, calibration, FID and study bundles.

Submodules are imported lazily (``generation.qsched``, ``generation.quantize``,
``generation.jaq``, ``generation.calibrate``, ``generation.fid``,
``generation.bundle``). ``generation.QSched`` is exported here because
``DiffusionPipeline.from_pretrained`` resolves saved custom components by
looking the class up on their top-level module.
"""

__all__ = ["QSched"]


def __getattr__(name):
    if name == "QSched":
        from generation.qsched import QSched

        return QSched
    raise AttributeError(f"module 'generation' has no attribute {name!r}")
