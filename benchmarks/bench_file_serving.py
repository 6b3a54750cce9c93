"""How the production server sends files: requests/s and latency through gunicorn, printed as a table.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_file_serving.py --clients 16 --seconds 10

gunicorn runs with the project's config (platform/qsched_platform/gunicorn.conf.py, --workers sync
workers, DB_CONN_MAX_AGE=60) on loopback over a throw-away SQLite study whose images are 512x512 noise PNGs (about 770 KB,
like generated images). An aiohttp client keeps --clients requests in flight for --seconds per row:

- a static file through WhiteNoise (the ceiling of the stack for one small file);
- an annotator image through its signed link, sent from the open file (FileResponse -> sendfile);
- the same image with QSCHED_X_ACCEL_REDIRECT set: the app's part only (checks, headers, empty body);
  behind nginx, nginx then sends the bytes itself.

The client runs on the same machine and takes CPU from the server; compare rows of one run.
"""
import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="requests in flight at once")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each row")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    if args.clients < 1 or args.seconds <= 0 or args.workers < 1:
        parser.error("--clients and --workers must be at least 1 and --seconds positive")
    with tempfile.TemporaryDirectory(prefix="qsched-bench-files-") as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}", "MEDIA_ROOT": str(tmp / "media"),
               "STATIC_ROOT": str(tmp / "static"), "QSCHED_VAR_DIR": str(tmp / "var"), "LOG_LEVEL": "WARNING",
               "QSCHED_RATE_LIMITS": "off", "DJANGO_SETTINGS_MODULE": "qsched_platform.settings",
               "DB_CONN_MAX_AGE": "60",  # as in scripts/production.env.example
               "PYTHONPATH": os.pathsep.join([str(REPO / "platform"), str(REPO)]), "OMP_NUM_THREADS": "1"}
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "MEDIA_ROOT", "STATIC_ROOT", "QSCHED_VAR_DIR",
                                               "LOG_LEVEL", "QSCHED_RATE_LIMITS", "DJANGO_SETTINGS_MODULE")})
        image_path, image_bytes = _prepare()
        rows = []
        for label, url_path, extra in (
                ("static file (WhiteNoise)", "/static/annotate/vote.js", {}),
                ("image, file sent by gunicorn", image_path, {}),
                ("image, X-Accel-Redirect (app part)", image_path, {"QSCHED_X_ACCEL_REDIRECT": "/protected-media/"})):
            rows.append((label, *_measure(env | extra, url_path, args)))
    print(f"gunicorn {args.workers} sync workers, {args.clients} clients, {args.seconds:g} s per row, "
          f"image {image_bytes / 1024:.0f} KB, {os.cpu_count()} cores shared with the client")
    header = ("what", "requests/s", "MB/s", "p50 ms", "p99 ms", "errors")
    print(f"{header[0]:<36}" + "".join(f"{h:>12}" for h in header[1:]))
    for label, rps, mbps, p50, p99, errors in rows:
        print(f"{label:<36}{rps:>12.0f}{mbps:>12.1f}{p50:>12.1f}{p99:>12.1f}{errors:>12}")


def _prepare() -> tuple[str, int]:
    """Migrate, collect static files, make a live study with large images; return one image link."""
    import django
    import numpy as np
    from PIL import Image

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from tests.platform.annotate_study import make_study

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    study = make_study(get_user_model().objects.create(username="bench"), slug="bench", n_prompts=2)
    noise = np.random.default_rng(0)
    for image in study.images.all():  # generated-image sized, incompressible
        Image.fromarray(noise.integers(0, 256, (512, 512, 3), dtype=np.uint8)).save(image.file.path, format="PNG")
    client = Client()
    token = client.post("/api/studies/bench/sessions", {}, content_type="application/json").json()["token"]
    task = client.get("/api/session/next", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    path = task["left"]["url"]
    HEADERS["Authorization"] = f"Bearer {token}"  # image links open only with the session (annotate.image_links)
    return path, len(b"".join(client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}").streaming_content))


def _measure(env: dict, url_path: str, args) -> tuple[float, float, float, float, int]:
    from tests.platform.live_processes import GUNICORN_CONF, free_port

    port = free_port()
    env = env | {"QSCHED_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(args.workers), "QSCHED_ACCESS_LOG": "off"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
                               "qsched_platform.wsgi:application"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        return asyncio.run(_load(f"http://127.0.0.1:{port}", url_path, args.clients, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=30)


#: Sent with every request of the load (the annotator session's header, for the image).
HEADERS: dict[str, str] = {}


async def _load(base: str, url_path: str, clients: int, seconds: float):
    import aiohttp

    async with aiohttp.ClientSession(base, headers=HEADERS) as session:
        for _ in range(200):  # wait until the server answers
            try:
                async with session.get(url_path) as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.25)
        latencies, errors, received = [], 0, 0
        stop = time.perf_counter() + seconds

        async def one_client():
            nonlocal errors, received
            while time.perf_counter() < stop:
                start = time.perf_counter()
                try:
                    async with session.get(url_path) as response:
                        body = await response.read()
                        if response.status != 200:
                            errors += 1
                            continue
                except aiohttp.ClientError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - start)
                received += len(body)

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        wall = time.perf_counter() - began
    latencies.sort()
    p = (lambda q: 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))]) if latencies else (lambda q: 0.0)
    return len(latencies) / wall, received / wall / 1e6, p(0.5), p(0.99), errors


if __name__ == "__main__":
    main()
