"""`make serve` (scripts/serve.sh): refuses without its environment; starts gunicorn + a Celery worker
(+ beat) on PostgreSQL and Redis; Ctrl-C or SIGTERM stops every process it started."""
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from qsched_platform.celery import app as celery_app

from tests.platform.live_processes import (REPO, database_url, free_port, log_tail, processes_in_group, redis_broker_url,
                             stop_group, wait_http)

SCRIPT = REPO / "scripts" / "serve.sh"
START_S = 180  # bootstrap check, check --deploy, migrate, collectstatic, then the processes, on a loaded machine


def run_refused(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(["bash", str(SCRIPT)], env={**base, **env}, capture_output=True, text=True, timeout=60)


def test_make_serve_runs_the_serve_script_which_is_valid_bash():
    assert "scripts/serve.sh" in (REPO / "Makefile").read_text()
    assert os.access(SCRIPT, os.X_OK)
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_it_refuses_to_start_without_the_required_variables_and_names_each():
    result = run_refused({})
    assert result.returncode == 2
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"):
        assert f"{name} is not set" in result.stderr, name


def test_it_refuses_sqlite_and_a_non_redis_broker_without_printing_the_urls():
    result = run_refused({"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "example.org",
                          "DATABASE_URL": "sqlite:////tmp/secret-path.sqlite3", "CELERY_BROKER_URL": "filesystem://"})
    assert result.returncode == 2
    assert "DATABASE_URL must point to PostgreSQL" in result.stderr and "not sqlite" in result.stderr
    assert "CELERY_BROKER_URL must point to Redis" in result.stderr
    assert "secret-path" not in result.stderr
    assert "SECRET_KEY" not in result.stderr  # the one given is accepted


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["sigterm-to-the-script", "ctrl-c-to-the-terminal"])
def test_it_starts_gunicorn_and_a_worker_and_a_signal_stops_every_process(tmp_path, how):
    if not database_url().startswith("postgres://"):
        pytest.skip("needs DATABASE_URL=postgres://... (the production pass of scripts/test.sh)")
    broker = redis_broker_url()
    port = free_port()
    worker_name = f"serve-test-{uuid.uuid4().hex[:8]}@localhost"
    env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1",
           "DATABASE_URL": database_url(), "CELERY_BROKER_URL": broker, "QSCHED_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "CELERY_CONCURRENCY": "1", "QSCHED_WORKER_NAME": worker_name,
           "QSCHED_VAR_DIR": str(tmp_path / "var"), "MEDIA_ROOT": str(tmp_path / "media"),
           "STATIC_ROOT": str(tmp_path / "static"), "QSCHED_STOP_TIMEOUT_S": "20"}
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    # As from a terminal: SIGINT at its default. A test run started in the background (`cmd &` in a
    # script, nohup) inherits SIGINT ignored, which bash can then neither trap nor reset, and the
    # Ctrl-C case would fail for the harness's sake; exec keeps the restored default.
    terminal_like = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                     "os.execvp('bash', ['bash', sys.argv[1]])", str(SCRIPT)]
    serve = subprocess.Popen(terminal_like, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    serve.log_path = log.name
    try:
        wait_http(f"http://127.0.0.1:{port}/login/", serve, timeout=START_S)
        assert (tmp_path / "static" / "annotate" / "vote.js").is_file()  # collectstatic ran
        replies = []
        deadline = time.monotonic() + 60
        while not replies and time.monotonic() < deadline and serve.poll() is None:
            replies = celery_app.control.ping(destination=[worker_name], timeout=1.0)
        assert replies and worker_name in replies[0], f"the worker did not answer a ping:\n{log_tail(serve)}"
        started = processes_in_group(serve.pid)
        commands = " ".join(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                            for pid in started if Path(f"/proc/{pid}/cmdline").exists())
        assert "gunicorn" in commands and "worker" in commands and "beat" in commands
        assert len(started) >= 6  # script, gunicorn master + 2 workers, celery worker + its child, beat

        if how == "sigterm-to-the-script":
            serve.send_signal(signal.SIGTERM)  # only the script: it must stop its children itself
            expected_rc = 143
        else:
            os.killpg(serve.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole foreground group
            expected_rc = 130
        assert serve.wait(timeout=60) == expected_rc, log_tail(serve)
        deadline = time.monotonic() + 30
        while processes_in_group(serve.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_in_group(serve.pid) == [], f"left running:\n{log_tail(serve)}"
    finally:
        stop_group(serve)
