"""A bundle plan run by a real Celery worker over Redis: chunks as tasks, then the finalising chord."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from generation import plan as plans
from generation.manifest import validate_bundle
from generation.systems import parse_system
from tests.generation.tiny import tiny_sd_pipeline

pytestmark = [pytest.mark.redis, pytest.mark.slow]
REDIS = "redis://127.0.0.1:6379/14"


def _redis_up() -> bool:
    import redis

    try:
        return redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def worker(tmp_path):
    if not _redis_up():
        pytest.fail("Redis is not running on 127.0.0.1:6379 (start it, or deselect with -m 'not redis')")
    queue = f"generation-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CELERY_BROKER_URL": REDIS, "CELERY_RESULT_BACKEND": REDIS, "GENERATION_CELERY_QUEUE": queue,
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # a plain generation worker, not the platform's
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "generation.tasks", "worker", "--pool", "solo",
                             "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat",
                             "--loglevel", "INFO"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while "ready." not in (tmp_path / "worker.log").read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the Celery worker did not start:\n" + (tmp_path / "worker.log").read_text()[-3000:])
            time.sleep(0.5)
        yield queue
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_a_worker_generates_the_chunks_and_writes_the_manifest(tmp_path, worker):
    from generation import tasks

    model = tmp_path / "model"
    tiny_sd_pipeline("lcm").save_pretrained(model)
    out = tmp_path / "bundle"
    plans.write_plan(out, name="celery", systems=[parse_system("fp32"), parse_system("w4a8")],
                     prompts=["a red fox", "a blue bird", "a cat"], seeds=[0],
                     call={"num_inference_steps": 2, "guidance_scale": 1.0, "height": 16, "width": 16},
                     source={"model_path": str(model)})
    tasks.app.conf.update(broker_url=REDIS, result_backend=REDIS, task_default_queue=worker)
    try:
        result = tasks.submit(str(out), chunk_size=2)
        assert result.get(timeout=180) == 6
    finally:
        tasks.app.conf.update(broker_url="memory://", result_backend="cache+memory://", task_default_queue="generation")
    m = validate_bundle(out)
    assert len(m["images"]) == 6 and {i["system"] for i in m["images"]} == {"fp32", "w4a8"}
