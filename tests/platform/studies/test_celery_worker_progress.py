"""A real Celery worker (a separate process) takes refresh_progress from the broker and updates the study.

Runs on whatever the settings point at: the embedded filesystem broker + a SQLite file in the
default pass, Redis + PostgreSQL in the production pass of scripts/test.sh. The test database
must be one the worker process can open too, hence ``transaction=True`` (data is committed) and
the file-based SQLite test database configured in settings.
"""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import kombu
import pytest
from django.conf import settings

from studies.models import Study
from studies.services import create_study_from_bundle
from studies.tasks import refresh_progress

from tests.platform.live_processes import database_url

REPO = Path(__file__).resolve().parents[3]
WAIT_S = 45  # upper bound on a loaded 2-core machine; a normal run takes a few seconds

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(tmp_path):
    """(connection, env) for a broker only this test uses: a fresh folder, or the configured Redis."""
    url = settings.CELERY_BROKER_URL
    env = {"CELERY_BROKER_URL": url}
    if url.startswith("filesystem://"):
        folder = tmp_path / "broker"
        folder.mkdir()
        conn = kombu.Connection("filesystem://", transport_options={
            "data_folder_in": str(folder), "data_folder_out": str(folder),
            "control_folder": str(folder / "control"), "store_processed": False})
        env["QSCHED_BROKER_DIR"] = str(folder)
    else:
        conn = kombu.Connection(url)
    with conn:
        yield conn, env


def start_worker(queue: str, env_extra: dict, log: Path) -> subprocess.Popen:
    env = {**os.environ, **env_extra, "DJANGO_SETTINGS_MODULE": "qsched_platform.settings",
           "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "celery", "-A", "qsched_platform", "worker", "--pool=solo", "-Q", queue,
               "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]
    with open(log, "wb") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def test_a_real_worker_refreshes_progress_from_the_broker(owner, bundle_dir, add_vote, broker, tmp_path, monkeypatch):
    conn, broker_env = broker
    # the import queues a refresh on the configured broker after commit; only this test's queue is wanted here
    monkeypatch.setattr("studies.tasks._queue_if_due", lambda study_id: False)
    imported_study = create_study_from_bundle(bundle_dir=bundle_dir, slug="worker-study", owner=owner)
    add_vote(imported_study.comparisons.first(), "overall", "ann1", "left")
    queue = f"qsched-test-{uuid.uuid4().hex[:10]}"
    kombu.Queue(queue, kombu.Exchange(queue, type="direct"), routing_key=queue)(conn.default_channel).declare()
    refresh_progress.apply_async(args=[imported_study.pk], queue=queue, connection=conn)
    assert Study.objects.get(pk=imported_study.pk).progress_updated_at is None  # nothing ran in this process

    log = tmp_path / "worker.log"
    worker = start_worker(queue, {**broker_env, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(tmp_path / "m"),
                                  "QSCHED_VAR_DIR": str(tmp_path / "var")}, log)
    try:
        deadline = time.monotonic() + WAIT_S
        study = Study.objects.get(pk=imported_study.pk)
        while study.progress_updated_at is None and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.25)
            study = Study.objects.get(pk=imported_study.pk)
    finally:
        stop_worker(worker)
        try:
            kombu.Queue(queue, kombu.Exchange(queue), routing_key=queue)(conn.default_channel).delete()
        except Exception:  # the filesystem transport keeps nothing to delete
            pass
    output = log.read_text(errors="replace")[-3000:]
    assert study.progress_updated_at is not None, f"the worker did not refresh the study; its log:\n{output}"
    assert study.progress["collected"] == 1 and study.progress["target"] == 27
    assert "studies.refresh_progress" in output and "succeeded" in output
