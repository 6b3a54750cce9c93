"""A Celery worker killed (SIGKILL) in the middle of a report build loses no work and leaves no lock.

Real processes on Redis: a prefork worker whose first build is slow (tests/platform/slow_report_worker.py)
is killed while it holds the report's build lease, either

- its pool process only: the worker sees the child lost and, with ``reject_on_worker_lost``, puts the task
  back on the queue; the same worker runs it again at once; or
- the whole worker: the task was not acknowledged yet (``acks_late``), so Redis hands it to the next worker
  once the visibility timeout passes (shortened here), and a freshly started worker runs it.

Either way the delivery carries the same task id, which takes the build lease over at once, and the report
completes with no lock left. Without acks_late or reject_on_worker_lost the task would be lost.
"""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import kombu
import pytest

from results.models import StudyReport
from results.tasks import refresh_report

from tests.platform.annotate_study import make_study
from tests.platform.live_processes import REPO, child_env, children, redis_broker_url, stop_group
from tests.platform.results.test_results_service import _vote_all

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VISIBILITY_S = 4  # how soon Redis redelivers a task whose worker vanished (an hour by default)
WAIT_S = 90


def start_worker(tmp_path: Path, queue: str, name: str) -> subprocess.Popen:
    env = child_env(tmp_path, CELERY_BROKER_URL=redis_broker_url(), CELERY_VISIBILITY_TIMEOUT_S=str(VISIBILITY_S),
                    QSCHED_REPORT_BOOTSTRAP="20", QSCHED_REPORT_PLOTS="0", QSCHED_TEST_SLOW_REPORT_S="600",
                    QSCHED_TEST_SLOW_ONCE_FILE=str(tmp_path / "slow-once"))
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "tests.platform.slow_report_worker", "worker",
                             "--pool=prefork", "--concurrency=1", "-Q", queue, "-n", f"{name}@%h",
                             "--without-gossip", "--without-mingle", "-l", "INFO"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path = log.name
    return proc


def log_of(proc: subprocess.Popen) -> str:
    return Path(proc.log_path).read_text(errors="replace")


def wait_for(condition, what: str, *procs: subprocess.Popen, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    logs = "\n".join(log_of(p)[-2500:] for p in procs)
    pytest.fail(f"timed out waiting for {what}; worker logs:\n{logs}")


@pytest.mark.parametrize("killed", ["the-pool-process", "the-whole-worker"])
def test_a_report_build_whose_worker_is_killed_runs_again_and_completes_with_no_lock_left(
        owner, add_vote, tmp_path, killed):
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("needs DATABASE_URL=postgres://... (the production pass of scripts/test.sh)")
    study = make_study(owner, slug="killed-build", n_prompts=2)
    _vote_all(study, add_vote)
    queue = f"qsched-test-{uuid.uuid4().hex[:10]}"
    with kombu.Connection(redis_broker_url()) as conn:
        kombu.Queue(queue, kombu.Exchange(queue, type="direct"), routing_key=queue)(conn.default_channel).declare()
        task_id = refresh_report.apply_async(args=[study.pk], queue=queue, connection=conn).id
        first = start_worker(tmp_path, queue, f"first-{queue}")
        workers = [first]
        try:
            wait_for(lambda: StudyReport.objects.filter(study=study, building_by=task_id).exists(),
                     "the worker to take the build lease", first)
            wait_for(lambda: "building slowly" in log_of(first), "the worker to be writing the report", first)
            if killed == "the-pool-process":
                pool = children(first.pid)
                assert len(pool) == 1, pool
                os.kill(pool[0], signal.SIGKILL)
            else:
                os.killpg(first.pid, signal.SIGKILL)
                first.wait(timeout=10)
                report = StudyReport.objects.get(study=study)
                assert report.status == StudyReport.Status.NONE and report.building_by == task_id  # mid-build
                workers.append(start_worker(tmp_path, queue, f"second-{queue}"))
            done = wait_for(lambda: StudyReport.objects.filter(study=study, status=StudyReport.Status.OK).first(),
                            "the task to run again and complete", *workers)
            assert done.building_since is None and done.building_by == ""
            assert done.n_votes == 2 * 3 * 3 and "summary.json" in done.files
            log = log_of(workers[-1])
            assert f"results.refresh_report[{task_id}] succeeded" in log, log[-2500:]
        finally:
            for proc in workers:
                stop_group(proc)
            kombu.Queue(queue, kombu.Exchange(queue), routing_key=queue)(conn.default_channel).delete()
