"""Celery tasks for splitting a bundle across machines: one task per (system, chunk of prompts).

Workers need the same code, the model weights (preset cache or model path)
and a shared filesystem holding the bundle directory. Configure the broker
with ``CELERY_BROKER_URL`` (e.g. ``redis://host:6379/0`` or
``amqp://guest@host//``) and, for the final chord, ``CELERY_RESULT_BACKEND``.
Start workers with::

    celery -A generation.tasks worker --concurrency 1 -Q generation

(``GENERATION_CELERY_QUEUE`` renames the queue on both sides.)

and submit with ``python -m generation bundle ... --celery``. Tasks are thin:
they take the bundle directory and ids, and call :mod:`generation.plan`.
"""

from __future__ import annotations

import os

from celery import Celery, chord

from generation import plan as plans

__all__ = ["app", "generate_chunk", "finalize_bundle_task", "submit"]

app = Celery(
    "generation",
    broker=os.environ.get("CELERY_BROKER_URL", "memory://"),
    backend=os.environ.get("CELERY_RESULT_BACKEND", "cache+memory://"),
)
app.conf.task_default_queue = os.environ.get("GENERATION_CELERY_QUEUE", "generation")
app.conf.task_acks_late = True  # a chunk whose worker dies is redelivered; finished images are skipped
app.conf.worker_prefetch_multiplier = 1


@app.task(name="generation.generate_chunk")
def generate_chunk(out_dir: str, system_id: str, prompt_ids: list[str]) -> dict:
    """Generate the images of one system for some prompts of the plan in ``out_dir``."""
    return plans.run_chunk(out_dir, system_id, prompt_ids)


@app.task(name="generation.finalize_bundle")
def finalize_bundle_task(_chunk_results, out_dir: str) -> int:
    """Score all images and write ``manifest.json``; returns the number of images."""
    return len(plans.finalize(out_dir, progress=False)["images"])


def submit(out_dir: str, chunk_size: int = 16):
    """Queue every chunk of the plan in ``out_dir``, then the finalisation (a Celery chord)."""
    plan = plans.load_plan(out_dir)
    work = [generate_chunk.s(str(out_dir), sid, pids) for sid, pids in plans.chunks(plan, chunk_size)]
    return chord(work)(finalize_bundle_task.s(str(out_dir)))
