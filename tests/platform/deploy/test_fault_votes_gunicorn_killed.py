"""Votes survive gunicorn workers killed (SIGKILL) in the middle of a burst (PostgreSQL, real HTTP).

Several simulated annotators vote as fast as they can through gunicorn (2 workers, the project's
config) while the test kills a worker each time a few more votes were accepted; the gunicorn master
starts a new one. Clients resend the very same request on a dropped connection or a 5xx, as the
voting page does. Afterwards the votes in the database are exactly the votes some client saw accepted
(none lost, none extra), each once, and no item has more than k votes.
"""
import json
import os
import random
import signal
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest

from annotate.models import Vote

from tests.platform.live_processes import children, log_tail, start_gunicorn, stop_group

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ANNOTATORS = 6
KILL_AFTER_ACCEPTED = (8, 20, 32, 44)  # kill one worker when this many votes have been accepted
DEADLINE_S = 240


class Client:
    """One annotator over HTTP; every request is resent unchanged until it gets a real answer."""

    def __init__(self, base: str, deadline: float):
        self.base, self.deadline = base, deadline
        self.headers = {"Content-Type": "application/json"}
        self.resent = 0

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        data = None if body is None else json.dumps(body).encode()
        while time.monotonic() < self.deadline:
            request = urllib.request.Request(self.base + path, data=data, method=method, headers=self.headers)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    raw = response.read()
                    return response.status, (json.loads(raw) if raw else None)
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    raw = error.read()
                    return error.code, (json.loads(raw) if raw else None)
                wait = float(error.headers.get("Retry-After") or 0.2)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                wait = 0.2  # the worker died with our request: send it again
            self.resent += 1
            time.sleep(wait)
        raise TimeoutError(f"{method} {path} got no answer before the deadline")


def test_every_accepted_vote_is_stored_once_when_gunicorn_workers_are_killed_mid_burst(make_live_study, tmp_path):
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("needs DATABASE_URL=postgres://... (the production pass of scripts/test.sh)")
    study = make_live_study(n_prompts=12, k=3)
    master, port = start_gunicorn(tmp_path, workers=2, QSCHED_RATE_LIMITS="off", DB_CONN_MAX_AGE="0")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + DEADLINE_S
    accepted: dict[str, tuple[str, str]] = {}  # assignment -> (vote id, choice) as a client saw it accepted
    lock = threading.Lock()
    failures: list[str] = []
    clients: list[Client] = []
    kills: list[int] = []

    def annotate(n: int) -> None:
        client = Client(base, deadline)
        clients.append(client)
        rng = random.Random(n)
        try:
            status, body = client.call("POST", f"/api/studies/{study.slug}/sessions", {"external_id": f"crowd-{n}"})
            assert status == 201, (status, body)
            client.headers["Authorization"] = f"Bearer {body['token']}"
            while True:
                status, task = client.call("GET", "/api/session/next")
                if status == 204:
                    return
                if status != 200:
                    raise AssertionError(f"next answered {status}: {task}")
                choice = rng.choice(["left", "right", "tie"])
                status, vote = client.call("POST", f"/api/assignments/{task['assignment']}/vote",
                                           {"choice": choice, "response_ms": 700})
                if status in (200, 201):
                    with lock:
                        accepted[task["assignment"]] = (vote["vote"], vote["choice"])
                elif status != 410:  # an expired task is simply skipped, as the page does
                    raise AssertionError(f"vote answered {status}: {vote}")
        except Exception as exc:  # reported below, with the server's log
            failures.append(f"annotator {n}: {exc!r}")

    threads = [threading.Thread(target=annotate, args=(n,)) for n in range(ANNOTATORS)]
    try:
        for thread in threads:
            thread.start()
        for threshold in KILL_AFTER_ACCEPTED:
            while len(accepted) < threshold and any(t.is_alive() for t in threads):
                time.sleep(0.02)
            workers = children(master.pid)
            if not workers or not any(t.is_alive() for t in threads):
                break
            victim = random.choice(workers)
            os.kill(victim, signal.SIGKILL)
            kills.append(victim)
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic()))
        assert master.poll() is None, log_tail(master)
    finally:
        stop_group(master)

    assert not failures, "\n".join(failures) + "\n" + log_tail(master)
    assert len(kills) == len(KILL_AFTER_ACCEPTED), f"only {len(kills)} workers killed; {len(accepted)} votes"
    stored = {str(a): (str(v), c) for a, v, c in Vote.objects.filter(study=study).values_list(
        "assignment__public_id", "public_id", "choice")}
    assert stored == accepted  # nothing accepted is lost, nothing unaccepted or changed is stored
    assert Vote.objects.filter(study=study).count() == len(accepted)  # each once
    # (attention checks, drawn at random by the server, repeat an item the annotator voted on: not counted;
    # an annotator they exclude gives their slots back, annotate.recollect: only valid votes fill an item)
    counted = Vote.objects.filter(study=study, attention_check=False)
    per_item = Counter(counted.filter(annotator__excluded=False).values_list("assignment__work_item_id", flat=True))
    assert max(per_item.values(), default=0) <= 3  # empty when every annotator happened to be excluded
    per_annotator_item = Counter(counted.values_list("annotator_id", "assignment__work_item_id"))
    assert max(per_annotator_item.values()) == 1
    print(f"{len(accepted)} votes accepted, {len(kills)} workers killed, "
          f"{sum(c.resent for c in clients)} requests resent after a dropped connection or 5xx")
