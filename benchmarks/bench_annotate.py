"""Annotator API under load: T threads join, then fetch and vote until nothing is left; print a table.

    .venv/bin/python benchmarks/bench_annotate.py                          # SQLite file, 8 and 32 threads
    .venv/bin/python benchmarks/bench_annotate.py --postgres postgres://postgres@127.0.0.1:5432/postgres

Requests go through Django's test client in-process (URL routing, DRF, services, database), not over
HTTP. With --postgres a throw-away database is created on that server and dropped at the end; the
SQLite database, media and broker folders live in a temporary folder. After each run the table says
whether every work item ended with exactly k votes.
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=20, help="prompts (3 systems, all pairs, 1 seed)")
    parser.add_argument("--k", type=int, default=3, help="votes per (comparison, criterion)")
    parser.add_argument("--threads", default="8,32", help="comma-separated thread counts, one run each")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server URL to benchmark instead of SQLite")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    if args.prompts < 1 or args.k < 1 or min(threads) < 1:
        parser.error("--prompts, --k and every --threads value must be at least 1")
    with tempfile.TemporaryDirectory(prefix="qsched-bench-annotate-") as tmp:
        tmp = Path(tmp)
        db_url, drop = _database(args.postgres, tmp)
        # A load test: no abuse limits (dozens of sessions from one address, votes at machine speed).
        os.environ.update(DATABASE_URL=db_url, MEDIA_ROOT=str(tmp / "media"), QSCHED_VAR_DIR=str(tmp / "var"),
                          LOG_LEVEL="WARNING", QSCHED_RATE_LIMITS="off")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qsched_platform.settings")
        try:
            rows = _run_all(args.prompts, args.k, threads)
        finally:
            drop()
    backend = "postgresql" if args.postgres else "sqlite"
    header = ("backend", "threads", "votes", "wall s", "votes/s", "next p50 ms", "next p95 ms",
              "vote p50 ms", "vote p95 ms", "exact k")
    print("  ".join(f"{h:>11}" for h in header))
    for row in rows:
        print("  ".join(f"{v:>11}" for v in (backend, *row)))


def _database(server_url, tmp: Path):
    if not server_url:
        return f"sqlite:///{tmp / 'bench.sqlite3'}", lambda: None
    import psycopg

    name = f"qsched_bench_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        from django.db import connections

        connections.close_all()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return server_url.rsplit("/", 1)[0] + f"/{name}", drop


def _run_all(n_prompts: int, k: int, thread_counts: list[int]) -> list:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from tests.platform.annotate_study import make_study

    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create(username="bench")
    rows = []
    for n_threads in thread_counts:
        # No attention checks: these annotators always vote "left", so checks would exclude them
        # (and stop their work) before every item has k votes.
        study = make_study(owner, slug=f"bench-{n_threads}", n_prompts=n_prompts, k=k,
                           criteria=("overall", "quality"), attention_check_rate=0.0)
        rows.append(_run(study, n_threads))
    return rows


def _run(study, n_threads: int) -> tuple:
    from django.db import connections
    from django.test import Client

    from studies.models import WorkItem

    latencies = {"next": [], "vote": []}
    lock = threading.Lock()
    slots = WorkItem.objects.filter(study=study).count() * study.votes_per_pair
    bar = tqdm(total=slots, desc=f"{n_threads} threads", unit="vote", leave=False)
    barrier = threading.Barrier(n_threads)
    errors = []

    def timed(kind, call):
        start = time.perf_counter()
        response = call()
        with lock:
            latencies[kind].append(1000 * (time.perf_counter() - start))
        return response

    def annotator(i):
        try:
            client = Client()
            token = client.post(f"/api/studies/{study.slug}/sessions", {"external_id": f"bench-{i}"},
                                content_type="application/json").json()["token"]
            auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            barrier.wait()
            while (task := timed("next", lambda: client.get("/api/session/next", **auth))).status_code == 200:
                url = f"/api/assignments/{task.json()['assignment']}/vote"
                vote = timed("vote", lambda: client.post(url, {"choice": "left", "response_ms": 1},
                                                         content_type="application/json", **auth))
                if vote.status_code != 201:
                    raise RuntimeError(f"vote answered {vote.status_code}: {vote.content[:200]!r}")
                bar.update(1)
            if task.status_code != 204:
                raise RuntimeError(f"next answered {task.status_code}: {task.content[:200]!r}")
        except Exception as exc:  # noqa: BLE001 - reported after the run
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=annotator, args=(i,)) for i in range(n_threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - start
    bar.close()
    if errors:
        raise SystemExit(f"{len(errors)} annotator threads failed; first: {errors[0]}")
    votes = len(latencies["vote"])
    exact = set(WorkItem.objects.filter(study=study).values_list("votes", flat=True)) == {study.votes_per_pair}

    def pct(kind, q):
        return f"{statistics.quantiles(latencies[kind], n=100)[q - 1]:.1f}"

    return (n_threads, votes, f"{wall:.1f}", f"{votes / wall:.0f}", pct("next", 50), pct("next", 95),
            pct("vote", 50), pct("vote", 95), "yes" if exact else "NO")


if __name__ == "__main__":
    main()
