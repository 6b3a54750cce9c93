"""Helpers for tests that run the platform's real processes: gunicorn, Celery workers, scripts/serve.sh.

Every process is started in a new session (its own process group), so a test can see and end exactly
what it started, and nothing else.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
GUNICORN_CONF = REPO / "platform" / "qsched_platform" / "gunicorn.conf.py"


def database_url() -> str:
    """The URL of the test database this process is using, for a child process's DATABASE_URL."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        name = str(db["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            pytest.fail("the SQLite test database is in memory; another process cannot see it (settings TEST NAME)")
        return f"sqlite:///{name}"
    if db["ENGINE"].endswith("postgresql"):
        auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    pytest.fail(f"no database URL for engine {db['ENGINE']}")


def redis_broker_url() -> str:
    """The configured Redis broker (the production pass of scripts/test.sh), or skip: the test needs Redis."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        pytest.skip("needs CELERY_BROKER_URL=redis://... (the production pass of scripts/test.sh)")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a platform process using this test's database, with its own folders."""
    return {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "QSCHED_VAR_DIR": str(tmp_path / "var"), "STATIC_ROOT": str(tmp_path / "static"),
            "DJANGO_SETTINGS_MODULE": "qsched_platform.settings", "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]), **extra}


def start_gunicorn(tmp_path: Path, *, workers: int = 2, **extra: str) -> tuple[subprocess.Popen, int]:
    """gunicorn with the project's config on a free loopback port; returns (master process, port)."""
    port = free_port()
    env = child_env(tmp_path, QSCHED_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers), **extra)
    log = open(tmp_path / f"gunicorn-{port}.log", "wb")  # noqa: SIM115 (the child writes to it)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
                             "qsched_platform.wsgi:application"], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path = log.name
    wait_http(f"http://127.0.0.1:{port}/login/", proc, timeout=90)
    return proc, port


def log_tail(proc: subprocess.Popen, n: int = 3000) -> str:
    path = getattr(proc, "log_path", None)
    return Path(path).read_text(errors="replace")[-n:] if path else ""


def wait_http(url: str, proc: subprocess.Popen, *, timeout: float) -> None:
    """Wait until ``url`` answers 200 (fails with the process's log if it exits or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the process exited ({proc.returncode}) before {url} answered:\n{log_tail(proc)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout} s:\n{log_tail(proc)}")


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc)."""
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in raw.split()]


def processes_in_group(pgid: int) -> list[int]:
    """Every live (not zombie) process whose process group is ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def stop_group(proc: subprocess.Popen, timeout: float = 20) -> None:
    """End ``proc`` and everything in its process group (TERM, then KILL)."""
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
        if not processes_in_group(proc.pid) and proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and (proc.poll() is None or processes_in_group(proc.pid)):
            time.sleep(0.2)
