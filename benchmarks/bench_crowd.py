"""Crowd benchmark: simulated annotators over real HTTP against the production-shaped stack; prints a table.

    .venv/bin/python benchmarks/bench_crowd.py --database postgres://postgres@127.0.0.1:5432/qsched_bench \\
        --broker redis://127.0.0.1:6379/1                       # all scenarios
    .venv/bin/python benchmarks/bench_crowd.py ... --scenario saturated --duration 30

The stack: gunicorn with the production config (``platform/qsched_platform/gunicorn.conf.py``, as
``make serve`` runs it; ``--workers``/``--worker-class``/``--threads`` override it) on a free loopback
port, a Celery worker, PostgreSQL (``--database``, migrated, studies kept for later
runs) and Redis (``--broker``); ``QSCHED_RATE_LIMITS=off`` in the server's environment. Annotators are
asyncio tasks sharing one aiohttp session (at most ``--annotators`` at once, each bounded by
``--duration``): join (``POST /api/studies/<slug>/sessions``), then loop ``GET /api/session/next``,
``GET`` both images, (pause,) ``POST /api/assignments/<id>/vote``.

Scenarios (``--scenario``, repeatable; default all):

- ``saturated``: 200 annotators, no pause; votes/s as a share of the cycle ceiling (target >= 0.5);
- ``human``: 200 annotators, an exponential pause (mean 4 s) before each vote; p99 of next and
  vote (target < 150 ms) and no errors;
- ``one``: one annotator on a 1,000-item and one on a 100,000-item study, in alternating blocks;
  p50 of next and vote (target < 10 ms) and the large/small ratio (target <= 1.5).

The machine is shared and noisy, so before each scenario the run measures the stack's own
ceiling: requests/s of a static file through the same gunicorn, divided by the 4 requests of a
cycle. After each scenario it checks the export (``studies.export.iter_vote_rows``): every vote a
client saw accepted (201/200) is in it, no other, and no work item has more than k regular votes.

Studies are 3 systems x N prompts, all pairs, one criterion, k = 3, no attention checks (simulated
annotators cannot answer them consistently), built with bulk inserts (images share a few tiny PNG
files) once and reset between runs (``crowd-<items>`` slugs).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]
VENV_BIN = REPO / ".venv" / "bin"
STATIC_PATH = "/static/annotate/vote.css"
PRODUCTION_CONFIG = REPO / "platform" / "qsched_platform" / "gunicorn.conf.py"
REQUESTS_PER_CYCLE = 4


# -- the stack --------------------------------------------------------------------------------

class Stack:
    """gunicorn + a Celery worker on the benchmark's database and broker; ``base`` is the server URL."""

    def __init__(self, args, env: dict):
        self.args, self.env = args, env
        self.procs: list[subprocess.Popen] = []
        self.base = ""

    def __enter__(self) -> Stack:
        log_dir = Path(self.env["QSCHED_VAR_DIR"]) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.web_log = log_dir / "gunicorn.log"
        # The production config (scripts/serve.sh uses it too); these flags override its settings.
        config = self._profiling_config() if self.args.profile else PRODUCTION_CONFIG
        gunicorn = [str(VENV_BIN / "gunicorn"), "qsched_platform.wsgi:application", "--config", str(config),
                    "--pythonpath", f"{REPO / 'platform'},{REPO}", "--bind", "127.0.0.1:0",
                    "--workers", str(self.args.workers), "--worker-class", self.args.worker_class,
                    "--threads", str(self.args.threads), "--backlog", "2048", "--log-level", "info"]
        self._start(gunicorn, self.web_log)
        self._start([str(VENV_BIN / "celery"), "-A", "qsched_platform", "worker", "--pool=solo",
                     "--loglevel=WARNING"], log_dir / "worker.log", cwd=REPO / "platform")
        self.base = self._wait_for_server()
        return self

    def _profiling_config(self) -> Path:
        """A gunicorn config whose hooks run cProfile over each worker's whole life (--profile DIR)."""
        out = Path(self.args.profile).resolve()
        out.mkdir(parents=True, exist_ok=True)
        config = Path(self.env["QSCHED_VAR_DIR"]) / "gunicorn_profile.py"
        config.write_text(
            f"exec(open({str(PRODUCTION_CONFIG)!r}).read())\n"
            "import cProfile, os, time\n"
            "def post_fork(server, worker):\n"
            "    worker.profile = cProfile.Profile(time.process_time)  # CPU time: waiting does not count\n"
            "    worker.profile.enable()\n"
            "def worker_exit(server, worker):\n"
            "    worker.profile.disable()\n"
            f"    worker.profile.dump_stats(os.path.join({str(out)!r}, f'worker-{{os.getpid()}}.prof'))\n")
        return config

    def _start(self, command, log: Path, cwd=REPO):
        out = open(log, "w")
        self.procs.append(subprocess.Popen(command, cwd=cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def _wait_for_server(self) -> str:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.procs[0].poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.web_log}")
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", self.web_log.read_text())
            if found:
                try:
                    with urllib.request.urlopen(found.group(1) + STATIC_PATH, timeout=5) as response:
                        if response.status == 200:
                            return found.group(1)
                except OSError:
                    pass
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer within 60 s; see {self.web_log}")

    def __exit__(self, *exc):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# -- where the CPU goes ---------------------------------------------------------------------

def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class CpuMeter:
    """CPU seconds used by gunicorn (master and workers), the Celery worker, this database's
    PostgreSQL backends and this process (the load generator) between :meth:`start` and :meth:`stop`."""

    def __init__(self, stack: Stack, database: str):
        self.stack, self.url, self.database = stack, database, database.rsplit("/", 1)[1]

    def _pids(self) -> dict[str, list[int]]:
        import psycopg  # not Django's connection: this also runs inside the event loop

        with psycopg.connect(self.url, autocommit=True) as conn:
            backends = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.database])]
        web, worker = self.stack.procs[0].pid, self.stack.procs[1].pid
        return {"gunicorn": [web, *_children(web)], "celery": [worker, *_children(worker)], "postgres": backends}

    def _sample(self) -> dict[str, dict[int, float]]:
        return {part: {pid: _cpu_seconds(pid) for pid in pids} for part, pids in self._pids().items()}

    def start(self):
        self.before, self.client_before = self._sample(), sum(os.times()[:2])

    def stop(self) -> dict[str, float]:
        after, client = self._sample(), sum(os.times()[:2]) - self.client_before
        used = {part: sum(cpu - self.before[part].get(pid, 0.0) for pid, cpu in pids.items())
                for part, pids in after.items()}
        return {**used, "load generator": client}


# -- load -------------------------------------------------------------------------------------

@dataclass
class Run:
    """What the clients saw in one scenario."""

    latencies: dict = field(default_factory=lambda: defaultdict(list))  # kind -> ms
    errors: Counter = field(default_factory=Counter)  # "kind status" -> n
    accepted: dict = field(default_factory=dict)  # vote id -> assignment, for every 201/200
    unknown: set = field(default_factory=set)  # assignments whose vote request got no answer
    vote_times: list = field(default_factory=list)  # monotonic time of each accepted vote
    stop_at: float = float("inf")  # annotators start no new cycle after this
    measured_votes: int = 0  # accepted within the measured windows (one per crowd() call)
    measured_seconds: float = 0.0

    def votes_per_s(self) -> float:
        return self.measured_votes / self.measured_seconds if self.measured_seconds else float("nan")

    def pct(self, kind: str, q: float) -> float:
        values = self.latencies.get(kind)
        return float(np.percentile(values, q)) if values else float("nan")


async def _timed(run: Run, kind: str, call) -> tuple[int, bytes]:
    start = time.perf_counter()
    async with call() as response:
        body = await response.read()
    run.latencies[kind].append(1000 * (time.perf_counter() - start))
    return response.status, body


async def _annotator(session, base: str, slug: str, run: Run, *, name: str, pause_mean: float, max_cycles: int,
                     joined: asyncio.Barrier) -> None:
    import aiohttp

    failures = (aiohttp.ClientError, asyncio.TimeoutError)
    status, body = 0, b""
    try:
        status, body = await _timed(run, "join", lambda: session.post(
            f"{base}/api/studies/{slug}/sessions", json={"external_id": name}))
    except failures:
        pass
    finally:
        await joined.wait()  # the measured window starts once everyone has joined
    if status != 201:
        run.errors[f"join {status or 'no answer'}"] += 1
        return
    headers = {"Authorization": f"Bearer {json.loads(body)['token']}"}
    if pause_mean:  # people arrive over a while, not all in the same millisecond
        await asyncio.sleep(random.uniform(0, pause_mean))
    cycles = 0
    while time.monotonic() < run.stop_at and cycles < max_cycles:
        try:
            status, body = await _timed(run, "next", lambda: session.get(f"{base}/api/session/next",
                                                                         headers=headers))
        except failures:
            status = 0
        if status == 204:
            return
        if status != 200:
            run.errors[f"next {status or 'no answer'}"] += 1
            await asyncio.sleep(0.5)
            continue
        task = json.loads(body)
        for side in ("left", "right"):
            try:
                status, _ = await _timed(run, "image", lambda: session.get(base + task[side]["url"],
                                                                            headers=headers))
            except failures:
                status = 0
            if status != 200:
                run.errors[f"image {status or 'no answer'}"] += 1
        if pause_mean:
            await asyncio.sleep(random.expovariate(1 / pause_mean))
        assignment = task["assignment"]
        choice = random.choice(("left", "right", "tie"))
        try:
            status, body = await _timed(run, "vote", lambda: session.post(
                f"{base}/api/assignments/{assignment}/vote", headers=headers,
                json={"choice": choice, "response_ms": 1500}))
        except failures:
            run.unknown.add(assignment)
            run.errors["vote no answer"] += 1
            continue
        if status in (200, 201):
            run.accepted[json.loads(body)["vote"]] = assignment
            run.vote_times.append(time.monotonic())
        else:
            run.errors[f"vote {status}"] += 1
        cycles += 1


async def crowd(base: str, slug: str, *, annotators: int, duration: float, pause_mean: float = 0.0,
                max_cycles: int = 10**9, run: Run | None = None, meter: CpuMeter | None = None) -> Run:
    """``annotators`` clients join ``slug`` and cycle for ``duration`` seconds (or ``max_cycles`` each).

    ``meter`` starts once everyone has joined, with the measured window: joins are not cycles."""
    import aiohttp

    run = run or Run()
    run.stop_at = float("inf")
    joined = asyncio.Barrier(annotators + 1)
    connector = aiohttp.TCPConnector(limit=annotators + 8, force_close=True)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60), connector=connector) as session:
        tasks = [asyncio.create_task(_annotator(session, base, slug, run, name=f"{slug}-{secrets.token_hex(4)}-{i}",
                                                pause_mean=pause_mean, max_cycles=max_cycles, joined=joined))
                 for i in range(annotators)]
        await joined.wait()
        if meter is not None:
            meter.start()
        start = time.monotonic()
        run.stop_at = start + duration
        await asyncio.gather(*tasks)
        end = min(run.stop_at, time.monotonic())
        run.measured_votes += sum(start <= t <= end for t in run.vote_times)
        run.measured_seconds += end - start
    return run


async def warm_up(base: str, *, requests: int) -> None:
    """Each gunicorn worker loads the URLconf and the API on its first request: do that outside the window."""
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        async def one():
            async with session.get(f"{base}/api/session/next") as response:  # 401: no session
                await response.read()
        await asyncio.gather(*(one() for _ in range(requests)))


async def ceiling(base: str, *, seconds: float, concurrency: int) -> float:
    """Requests/s of the static file through the server: ``concurrency`` clients for ``seconds``."""
    import aiohttp

    done = 0
    end = time.monotonic() + seconds

    async def client(session):
        nonlocal done
        while time.monotonic() < end:
            async with session.get(base + STATIC_PATH) as response:
                await response.read()
            done += response.status == 200

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        return done / (time.monotonic() - start)


# -- studies and the export check -------------------------------------------------------------

def prepare_study(n_items: int):
    """The study ``crowd-<n_items>``: built once with bulk inserts, reset to no work done on later runs."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotate.models import Annotator, AnnotatorSession, Assignment, Vote
    from studies.models import Study, StudyCounters, WorkItem
    from tests.platform.annotate_study import make_bulk_study

    slug = f"crowd-{n_items}"
    study = Study.objects.filter(slug=slug).first()
    if study is None:
        print(f"building {slug} (once; later runs reuse it) ...", file=sys.stderr, flush=True)
        owner, _ = get_user_model().objects.get_or_create(username="bench-crowd")
        with transaction.atomic():
            study = make_bulk_study(owner, slug=slug, n_prompts=-(-n_items // 3), k=3, attention_check_rate=0.0,
                                    assignment_timeout_s=600)
    with transaction.atomic():  # reset: no annotators, no slot taken
        for model, where in ((Vote, {"study": study}), (Assignment, {"annotator__study": study}),
                             (AnnotatorSession, {"annotator__study": study}), (Annotator, {"study": study})):
            model.objects.filter(**where)._raw_delete(connection.alias)
        WorkItem.objects.filter(study=study).update(reserved=0, votes=0)
        StudyCounters.objects.filter(study=study).delete()
    with connection.cursor() as cursor:
        for model in (WorkItem, Assignment, Vote, Annotator, AnnotatorSession, StudyCounters):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return study


def check_export(study, run: Run) -> str:
    """'ok', or what is wrong: every accepted vote exported, nothing else, no item over k."""
    from studies.export import iter_vote_rows
    from studies.models import WorkItem

    from annotate.models import Vote

    rows = list(iter_vote_rows(study))
    exported = Counter(row["vote_id"] for row in rows)
    problems = []
    if max(exported.values(), default=1) > 1:
        problems.append("duplicate vote ids")
    accepted = set(run.accepted)
    missing = accepted - set(exported)
    unanswered = set(map(str, Vote.objects.filter(assignment__public_id__in=run.unknown)
                         .values_list("public_id", flat=True)))
    extra = set(exported) - accepted - unanswered
    if missing:
        problems.append(f"{len(missing)} accepted votes missing")
    if extra:
        problems.append(f"{len(extra)} votes nobody saw accepted")
    per_item = Counter((row["prompt"], row["seed"], row["criterion"], frozenset((row["system_left"], row["system_right"])))
                       for row in rows if not row["attention_check"])
    if max(per_item.values(), default=0) > study.votes_per_pair:
        problems.append("an item has more than k votes in the export")
    if WorkItem.objects.filter(study=study, votes__gt=study.votes_per_pair).exists():
        problems.append("an item has more than k votes")
    return "; ".join(problems) or f"ok ({len(rows)} votes)"


# -- scenarios --------------------------------------------------------------------------------

@dataclass
class Row:
    scenario: str
    annotators: int
    items: int
    run: Run
    ceiling_rps: float
    export: str

    def cells(self) -> list[str]:
        run, cycle_ceiling = self.run, self.ceiling_rps / REQUESTS_PER_CYCLE
        votes = run.votes_per_s()
        errors = sum(run.errors.values())
        return [self.scenario, f"{self.annotators}", f"{self.items:,}", f"{votes:.1f}", f"{self.ceiling_rps:.0f}",
                f"{votes / cycle_ceiling:.2f}",
                f"{run.pct('next', 50):.1f} / {run.pct('next', 99):.1f}",
                f"{run.pct('vote', 50):.1f} / {run.pct('vote', 99):.1f}",
                f"{run.pct('image', 50):.1f} / {run.pct('image', 99):.1f}",
                f"{errors}" + (f" ({', '.join(f'{k}: {v}' for k, v in run.errors.most_common(3))})" if errors else ""),
                self.export]


HEADER = ["scenario", "annotators", "work items", "votes/s", "static req/s", "share of cycle ceiling",
          "next p50 / p99 ms", "vote p50 / p99 ms", "image p50 / p99 ms", "errors", "export check"]


def _measure_ceiling(stack: Stack, args) -> float:
    asyncio.run(warm_up(stack.base, requests=8 * args.workers))
    meter = CpuMeter(stack, args.database)
    meter.start()
    rps = asyncio.run(ceiling(stack.base, seconds=args.ceiling_seconds, concurrency=args.ceiling_clients))
    cpu = meter.stop()
    requests = rps * args.ceiling_seconds
    print("static file: CPU ms per 4 requests: " + ", ".join(
        f"{part} {4000 * seconds / requests:.1f}" for part, seconds in cpu.items()), file=sys.stderr)
    return rps


def scenario_crowd(stack: Stack, args, name: str, pause_mean: float) -> Row:
    study = prepare_study(args.items)
    rps = _measure_ceiling(stack, args)
    print(f"{name}: {args.annotators} annotators for {args.duration:.0f} s ...", file=sys.stderr, flush=True)
    meter = CpuMeter(stack, args.database)
    run = asyncio.run(crowd(stack.base, study.slug, annotators=args.annotators, duration=args.duration,
                            pause_mean=pause_mean, meter=meter))
    cpu = meter.stop()
    votes = max(len(run.accepted), 1)
    print(f"{name}: CPU ms per accepted vote (a full cycle): "
          + ", ".join(f"{part} {1000 * seconds / votes:.1f}" for part, seconds in cpu.items()), file=sys.stderr)
    return Row(name, args.annotators, args.items, run, rps, check_export(study, run))


def scenario_one(stack: Stack, args) -> list[Row]:
    small, large = prepare_study(args.one_small), prepare_study(args.one_large)
    rps = _measure_ceiling(stack, args)
    print(f"one: one annotator on {args.one_small:,} and on {args.one_large:,} items ...", file=sys.stderr, flush=True)
    runs = {small.slug: Run(), large.slug: Run()}
    block = 50
    meter = CpuMeter(stack, args.database)
    meter.start()
    for _ in range(max(1, args.one_cycles // block)):  # alternating blocks: drift hits both alike
        for study in (small, large):
            asyncio.run(crowd(stack.base, study.slug, annotators=1, duration=3600, max_cycles=block,
                              run=runs[study.slug]))
    cpu = meter.stop()
    votes = max(sum(len(run.accepted) for run in runs.values()), 1)
    print("one: CPU ms per accepted vote (a full cycle, joins included): "
          + ", ".join(f"{part} {1000 * seconds / votes:.1f}" for part, seconds in cpu.items()), file=sys.stderr)
    return [Row("one", 1, items, runs[study.slug], rps, check_export(study, runs[study.slug]))
            for study, items in ((small, args.one_small), (large, args.one_large))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""),
                        help="PostgreSQL URL of the benchmark database (created if missing; default $DATABASE_URL)")
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
                        help="Redis URL of the Celery broker (default $CELERY_BROKER_URL or redis db 0)")
    parser.add_argument("--scenario", action="append", choices=["saturated", "human", "one"],
                        help="repeatable; default: all three")
    parser.add_argument("--items", type=int, default=30_000, help="work items of the crowd scenarios' study")
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of each crowd scenario")
    parser.add_argument("--pause-mean", type=float, default=4.0, help="human: mean pause before each vote (s)")
    parser.add_argument("--one-small", type=int, default=1_000)
    parser.add_argument("--one-large", type=int, default=100_000)
    parser.add_argument("--one-cycles", type=int, default=300, help="cycles per study in the one-annotator run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync, gthread)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--ceiling-seconds", type=float, default=8.0)
    parser.add_argument("--ceiling-clients", type=int, default=32)
    parser.add_argument("--profile", metavar="DIR", help="cProfile each gunicorn worker; stats files go to DIR")
    args = parser.parse_args()
    if not args.database.startswith(("postgres://", "postgresql://")):
        parser.error("--database: give a PostgreSQL URL (the benchmark measures the production stack)")
    scenarios = args.scenario or ["saturated", "human", "one"]

    var = Path(tempfile.mkdtemp(prefix="qsched-bench-crowd-"))
    media = Path(os.environ.get("QSCHED_BENCH_MEDIA", REPO / "var" / "bench-crowd-media"))
    env = {**os.environ, "DATABASE_URL": args.database, "CELERY_BROKER_URL": args.broker, "DB_CONN_MAX_AGE": "60",
           "QSCHED_RATE_LIMITS": "off", "DEBUG": "0", "LOG_LEVEL": "WARNING", "MEDIA_ROOT": str(media),
           "QSCHED_VAR_DIR": str(var), "STATIC_ROOT": str(var / "static"), "SECRET_KEY": secrets.token_urlsafe(40),
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": f"{REPO / 'platform'}:{REPO}"}
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT", "QSCHED_VAR_DIR",
                                           "STATIC_ROOT", "SECRET_KEY", "LOG_LEVEL")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qsched_platform.settings")
    _create_database(args.database)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    rows = []
    with Stack(args, env) as stack:
        for name in scenarios:
            if name == "one":
                rows += scenario_one(stack, args)
            else:
                rows.append(scenario_crowd(stack, args, name, args.pause_mean if name == "human" else 0.0))
    print("command: " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]))
    print(f"gunicorn: {args.workers} x {args.worker_class}" + (f", {args.threads} threads" if args.threads > 1 else ""))
    print(_markdown(rows))
    ones = [row for row in rows if row.scenario == "one"]
    if len(ones) == 2:
        for kind in ("next", "vote"):
            print(f"one annotator, {kind} p50 on {ones[1].items:,} / {ones[0].items:,} items: "
                  f"{ones[1].run.pct(kind, 50) / ones[0].run.pct(kind, 50):.2f}x")


def _markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def _create_database(url: str) -> None:
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
