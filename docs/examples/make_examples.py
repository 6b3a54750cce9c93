"""Regenerate the examples in docs/examples/ by running the real code paths.

    .venv/bin/python docs/examples/make_examples.py

1. Draws a tiny study bundle (``bundle/``: 2 systems x 2 prompts x 1 seed, 64x64 PNGs).
2. Imports it with ``studies.services.create_study_from_bundle`` into a throw-away SQLite
   database (a temporary folder; nothing under var/ is touched), launches it, and lets four
   annotators vote through the annotator API (Django's test client, the same views curl
   reaches), with the abuse limits on: each vote waits its ``response_ms`` first, since the
   server refuses a vote sooner than that after the hand-out (``too_fast``). The first
   annotator's requests and responses are written to ``annotator_api_transcript.json`` (used
   by docs/formats.md, section 4), including an image fetched with and without the session
   header, a vote sent too fast, a preload with ``?exclude=`` and the third open task refused.
3. Marks the fourth annotator as failing quality control, then exports the votes with
   ``studies.export.write_votes`` as ``votes.csv`` and ``votes.jsonl``.
4. Runs ``python -m analysis report votes.csv --bundle bundle --question <question.json> --out <tmp>
   --no-plots`` and keeps its ``summary.json`` (``--summary-only`` reruns just this step on the
   votes already there).

Vote ids, pseudonyms, tokens and timestamps are random or wall-clock, so a rerun changes
them; choices and counts are fixed by :data:`CHOICES`.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SLUG = "fox-demo"
SYSTEMS = [
    {"id": "w4a8", "label": "SDXL-Turbo W4A8, 4 steps",
     "metrics": {"fid": 24.8, "jaq": 0.497, "clip_score": 30.2},
     "config": {"quant": "w4a8", "steps": 4}},
    {"id": "w4a8-qsched", "label": "SDXL-Turbo W4A8 + Q-Sched, 4 steps",
     "metrics": {"fid": 22.1, "jaq": 0.530, "clip_score": 30.9},
     # Illustrative coefficients, not from any run (ends fixed to 1, as `python -m generation calibrate`
     # writes them). The official code's SDXL-Turbo coefficients (1.012, 0.967) / (0.955, 1.099) come
     # from a W4A4 run, so they must not be shown as W4A8.
     "config": {"quant": "w4a8", "steps": 4, "c_x": [1.02, 1.0], "c_theta": [0.96, 1.0]}},
]
PROMPTS = [{"id": "p0001", "text": "a red fox asleep in fresh snow"},
           {"id": "p0002", "text": "a lighthouse on a cliff at dusk"}]
#: (annotator number, prompt, criterion) -> the system the annotator prefers, or "tie".
#: Annotator 4 ignores the images and always clicks "left" (and is excluded below).
CHOICES = {
    (1, "p0001", "overall"): "w4a8-qsched", (1, "p0001", "alignment"): "w4a8-qsched",
    (1, "p0002", "overall"): "w4a8-qsched", (1, "p0002", "alignment"): "tie",
    (2, "p0001", "overall"): "w4a8-qsched", (2, "p0001", "alignment"): "w4a8",
    (2, "p0002", "overall"): "w4a8-qsched", (2, "p0002", "alignment"): "w4a8-qsched",
    (3, "p0001", "overall"): "w4a8-qsched", (3, "p0001", "alignment"): "w4a8-qsched",
    (3, "p0002", "overall"): "tie", (3, "p0002", "alignment"): "w4a8",
}


def draw_image(system: str, prompt: str) -> Image.Image:
    """A 64x64 cartoon: the Q-Sched system draws a cleaner picture than plain W4A8."""
    sky, ground = ((150, 180, 230), (245, 245, 250)) if prompt == "p0001" else ((240, 150, 90), (70, 80, 90))
    img = Image.new("RGB", (64, 64), sky)
    d = ImageDraw.Draw(img)
    d.rectangle([0, 40, 63, 63], fill=ground)
    if prompt == "p0001":
        d.ellipse([16, 32, 48, 50], fill=(200, 80, 30))  # the fox
        d.polygon([(40, 34), (52, 30), (46, 40)], fill=(200, 80, 30))
    else:
        d.rectangle([28, 12, 36, 40], fill=(235, 235, 235))  # the lighthouse
        d.rectangle([28, 8, 36, 12], fill=(250, 220, 60))
    if system == "w4a8":  # quantization noise: a blocky speckle pattern
        for y in range(0, 64, 8):
            for x in range((y // 8) % 2 * 4, 64, 8):
                d.point((x, y), fill=(90, 90, 90))
    return img


def write_bundle(root: Path) -> Path:
    if root.exists():
        shutil.rmtree(root)
    images = []
    for system in SYSTEMS:
        (root / "images" / system["id"]).mkdir(parents=True)
        for n, prompt in enumerate(PROMPTS):
            rel = f"images/{system['id']}/{prompt['id']}_s0.png"
            draw_image(system["id"], prompt["id"]).save(root / rel, optimize=True)
            bonus = 0.03 if system["id"] == "w4a8-qsched" else 0.0
            images.append({"system": system["id"], "prompt": prompt["id"], "seed": 0, "path": rel,
                           "sha256": hashlib.sha256((root / rel).read_bytes()).hexdigest(),
                           "metrics": {"jaq": round(0.48 + 0.02 * n + bonus, 3),
                                       "clip_score": round(30.0 + n + 10 * bonus, 2)}})
    manifest = {"format": "qsched-bundle/1", "name": "fox-demo", "systems": SYSTEMS, "prompts": PROMPTS,
                "images": images, "comparisons": [{"a": "w4a8-qsched", "b": "w4a8"}]}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return root


def _setup_django(tmp: Path) -> None:
    os.environ.update({"QSCHED_VAR_DIR": str(tmp / "var"), "MEDIA_ROOT": str(tmp / "media"),
                       "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
                       "DJANGO_SETTINGS_MODULE": "qsched_platform.settings"})
    sys.path[:0] = [str(REPO), str(REPO / "platform")]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _exchange(log, client, method, url, body=None, auth=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {auth}"} if auth else {}
    if method == "GET":
        response = client.get(url, **headers)
    else:
        response = client.post(url, json.dumps(body), content_type="application/json", **headers)
    payload = response.json() if response.content and response["Content-Type"].startswith("application/json") else None
    if log is not None:
        log.append({"method": method, "url": url, "body": body, "auth": bool(auth),
                    "status": response.status_code, "response": payload})
    return response.status_code, payload


def _fetch_image(log, client, url, auth=None):
    """An image request: logged with its status and content type (the body is a picture)."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {auth}"} if auth else {}
    response = client.get(url, **headers)
    log.append({"method": "GET", "url": url, "body": None, "auth": bool(auth), "status": response.status_code,
                "response": None, "content_type": response["Content-Type"].split(";")[0]})


def collect_votes(bundle: Path, out: Path) -> None:
    from annotate.models import Annotator, Assignment
    from django.contrib.auth import get_user_model
    from django.test import Client
    from studies.export import write_votes
    from studies.services import create_study_from_bundle

    owner = get_user_model().objects.create(username="researcher")
    study = create_study_from_bundle(bundle_dir=bundle, slug=SLUG, owner=owner, criteria=["overall", "alignment"],
                                     votes_per_pair=4, launch=True, completion_code="C0FFEE42",
                                     instructions="Pick the image you prefer; tie if you cannot tell.")
    client = Client()
    transcript = []
    for number in (1, 2, 3, 4):
        log = transcript if number == 1 else None
        _, started = _exchange(log, client, "POST", f"/api/studies/{SLUG}/sessions",
                               {"external_id": f"PROLIFIC-{number:03d}", "study_id": "prolific-study-7",
                                "session_id": f"sess-{number}"})
        token = started["token"]
        while True:
            status, task = _exchange(log, client, "GET", "/api/session/next", auth=token)
            if status == 204:
                break
            assignment = Assignment.objects.select_related("left_image__system", "work_item__comparison__prompt",
                                                           "work_item__criterion").get(public_id=task["assignment"])
            key = (number, assignment.work_item.comparison.prompt.key, assignment.work_item.criterion.key)
            wanted = CHOICES.get(key, "left")
            if number == 4 or wanted == "tie":
                choice = "left" if number == 4 else "tie"
            else:
                choice = "left" if assignment.left_image.system.key == wanted else "right"
            body = {"choice": choice, "response_ms": 900 + 150 * number + 40 * task["done"]}
            first = log is not None and len(log) == 2
            if first:  # show the images, a vote sent too fast, a preload and the third open task once
                _fetch_image(log, client, task["left"]["url"], auth=token)
                _fetch_image(log, client, task["left"]["url"])
                _exchange(log, client, "POST", f"/api/assignments/{task['assignment']}/vote",
                          {"choice": choice, "response_ms": 120}, auth=token)
                _, preloaded = _exchange(log, client, "GET", f"/api/session/next?exclude={task['assignment']}",
                                         auth=token)
                _exchange(log, client, "GET",
                          f"/api/session/next?exclude={task['assignment']},{preloaded['assignment']}", auth=token)
            time.sleep(body["response_ms"] / 1000)  # the annotator looks at the images for response_ms
            _exchange(log, client, "POST", f"/api/assignments/{task['assignment']}/vote", body, auth=token)
            if first:  # show a retry and a refusal once
                _exchange(log, client, "POST", f"/api/assignments/{task['assignment']}/vote", body, auth=token)
                _exchange(log, client, "POST", f"/api/assignments/{task['assignment']}/vote",
                          {"choice": "both", "response_ms": 10}, auth=token)
        _exchange(log, client, "GET", "/api/session/finish", auth=token)
    Annotator.objects.filter(study=study, external_id="PROLIFIC-004").update(excluded=True)
    for token_entry in transcript:  # the transcript shows a placeholder, not a live token
        if token_entry["response"] and "token" in token_entry["response"]:
            token_entry["response"]["token"] = "<token>"
    (out / "annotator_api_transcript.json").write_text(json.dumps(transcript, indent=1) + "\n", encoding="utf-8")
    for fmt in ("csv", "jsonl"):
        n = write_votes(study, fmt, out / f"votes.{fmt}")
    print(f"exported {n} votes")


#: The study's question in the example: is W4A8 + Q-Sched not worse than plain W4A8 by more than 5 points?
QUESTION = {"kind": "non-inferiority", "a": "w4a8-qsched", "b": "w4a8", "margin": 0.05, "alpha": 0.05,
            "criterion": "overall", "planned_votes": 12}


def run_analysis(out: Path, tmp: Path) -> None:
    report = tmp / "report"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "question.json").write_text(json.dumps(QUESTION), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "analysis", "report", str(out / "votes.csv"), "--out", str(report),
                    "--bundle", str(out / "bundle"), "--question", str(tmp / "question.json"),
                    "--no-plots", "--quiet"], cwd=REPO, check=True)
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")


def main() -> int:
    if "--summary-only" in sys.argv[1:]:
        with tempfile.TemporaryDirectory(prefix="qsched-docs-") as tmp:
            run_analysis(HERE, Path(tmp))
        print(f"wrote summary.json in {HERE}")
        return 0
    bundle = write_bundle(HERE / "bundle")
    with tempfile.TemporaryDirectory(prefix="qsched-docs-") as tmp:
        _setup_django(Path(tmp))
        collect_votes(bundle, HERE)
        run_analysis(HERE, Path(tmp))
    print(f"wrote {bundle}, votes.csv, votes.jsonl, summary.json and annotator_api_transcript.json in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
