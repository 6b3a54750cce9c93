"""Findings 7, 8 and 9: quality control a bot cannot pass, re-collection, and the server's own clock.

Bots and a careful simulated human go through the real API (join, next, both images, vote).
Every random draw is seeded: the attention-check draws, the left/right sides, the bots.
"""
import hashlib
import io
import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image as PILImage

from annotate import assignment as assigning
from annotate import attention
from annotate.models import Annotator, Assignment, Vote
from studies.export import iter_vote_rows
from studies.models import Image, Study, WorkItem
from studies.progress import compute_progress
from studies.services import create_study_from_bundle

pytestmark = pytest.mark.django_db

SYSTEMS = ("fp16", "w4a8", "w4a8-qsched")


def _textured_bundle(root: Path, n_prompts: int) -> Path:
    """Pictures with detail (random blocks), so a blurred copy is plainly worse."""
    (root / "images").mkdir(parents=True)
    rng = random.Random(5)
    images = []
    for p in range(n_prompts):
        for system in SYSTEMS:
            blocks = PILImage.frombytes("RGB", (16, 16), bytes(rng.randrange(256) for _ in range(16 * 16 * 3)))
            rel = f"images/{system}-{p}.png"
            blocks.resize((64, 64), PILImage.Resampling.NEAREST).save(root / rel)
            images.append({"system": system, "prompt": f"p{p}", "seed": 0, "path": rel})
    manifest = {"format": "qsched-bundle/1", "name": "textured", "systems": [{"id": s} for s in SYSTEMS],
                "prompts": [{"id": f"p{p}", "text": f"prompt {p}"} for p in range(n_prompts)], "images": images}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture
def seeded(monkeypatch):
    monkeypatch.setattr(attention, "_rng", random.Random(11))
    monkeypatch.setattr(assigning, "_rng", random.Random(12))


@pytest.fixture
def qc_study(owner, tmp_path, seeded):
    def make(n_prompts=40, k=3, **options):
        bundle = _textured_bundle(tmp_path / f"bundle-{n_prompts}-{k}", n_prompts)
        return create_study_from_bundle(bundle_dir=bundle, slug="qc", owner=owner, launch=True, votes_per_pair=k,
                                        attention_check_rate=0.25, **options)
    return make


def _detail(data: bytes) -> int:
    """What a careful person sees: how much fine detail a picture has (sum of neighbour differences)."""
    with PILImage.open(io.BytesIO(data)) as img:
        grey = img.convert("L")
        w, h = grey.size
        px = grey.load()
        return sum(abs(px[x, y] - px[x + 1, y]) + abs(px[x, y] - px[x, y + 1]) for x in range(w - 1) for y in range(h - 1))


class AlwaysTie:
    def choose(self, left, right):
        return "tie"


class AlwaysLeft:
    def choose(self, left, right):
        return "left"


class HashMemory:
    """Votes at random, but a pair of files seen before gets the same image as last time."""

    def __init__(self):
        self.rng = random.Random(3)
        self.memory = {}  # frozenset of hashes -> the hash it picked
        self.recognised = 0

    def choose(self, left, right):
        hashes = (hashlib.sha256(left).hexdigest(), hashlib.sha256(right).hexdigest())
        key = frozenset(hashes)
        if key in self.memory:
            self.recognised += 1
            return "left" if self.memory[key] == hashes[0] else "right"
        choice = self.rng.choice(["left", "right"])
        self.memory[key] = hashes[0] if choice == "left" else hashes[1]
        return choice


class CarefulHuman:
    """Prefers the picture with more detail, consistently; never ties."""

    def choose(self, left, right):
        return "left" if _detail(left) >= _detail(right) else "right"


def _run(client, bot, name, max_tasks=200) -> Annotator:
    token = client.post("/api/studies/qc/sessions", {"external_id": name}, content_type="application/json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for _ in range(max_tasks):
        response = client.get("/api/session/next", **auth)
        if response.status_code == 204:
            break
        task = response.json()
        left, right = (_bytes(client.get(task[side]["url"], **auth)) for side in ("left", "right"))
        vote = client.post(f"/api/assignments/{task['assignment']}/vote",
                           {"choice": bot.choose(left, right), "response_ms": 1500},
                           content_type="application/json", **auth)
        assert vote.status_code == 201, vote.content
        if Annotator.objects.get(external_id=name).excluded:
            break
    return Annotator.objects.get(external_id=name)


def _bytes(response) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content) if response.streaming else response.content


def _checks(annotator) -> list[Vote]:
    return list(Vote.objects.filter(annotator=annotator, attention_check=True).order_by("created_at", "id")
                .select_related("assignment"))


def test_quality_control_is_on_by_default_with_gold_checks_built_at_import(owner, tmp_path):
    study = create_study_from_bundle(bundle_dir=_textured_bundle(tmp_path / "b", 30), slug="d", owner=owner)
    assert (study.attention_check_rate, study.exclude_after_failed_checks, study.gold_pairs) == (0.1, 2, 24)
    copies = Image.with_gold_copies.filter(study=study, degraded_from__isnull=False).select_related("degraded_from")
    assert copies.count() == 24 and Image.objects.filter(study=study).count() == 90  # copies are apart
    for copy in copies[:5]:
        with copy.file.open("rb") as fh, copy.degraded_from.file.open("rb") as original:
            assert _detail(fh.read()) < 0.6 * _detail(original.read())  # visibly worse


@pytest.mark.parametrize("bot, most_checks", [(AlwaysTie, 3), (AlwaysLeft, 4), (HashMemory, 8)],
                         ids=["always-tie", "always-left", "hash-memory"])
def test_a_bot_is_excluded_within_its_first_few_checks(qc_study, client, bot, most_checks):
    qc_study()
    player = bot()
    annotator = _run(client, player, "bot")
    checks = _checks(annotator)
    assert annotator.excluded, f"{bot.__name__} was not excluded after {len(checks)} checks"
    assert len(checks) <= most_checks
    assert {c.assignment.gold for c in checks} == {True, False}  # both kinds were dealt
    if isinstance(player, HashMemory):
        assert player.recognised == 0  # no check ever showed files it had seen


def test_a_careful_human_passes_every_check_and_is_not_excluded(qc_study, client):
    qc_study()
    annotator = _run(client, CarefulHuman(), "human")
    checks = _checks(annotator)
    assert not annotator.excluded
    assert len(checks) >= 6 and {c.assignment.gold for c in checks} == {True, False}
    assert all(c.check_passed for c in checks)


def test_checks_are_served_as_new_bytes_that_neither_a_refetch_nor_the_headers_give_away(qc_study, client):
    qc_study()
    token = client.post("/api/studies/qc/sessions", {}, content_type="application/json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    regular = None
    for _ in range(60):
        task = client.get("/api/session/next", **auth).json()
        assignment = Assignment.objects.select_related("left_image").get(public_id=task["assignment"])
        if assignment.attention_check:
            break
        regular = client.get(task["left"]["url"], **auth)
        client.post(f"/api/assignments/{task['assignment']}/vote", {"choice": "left", "response_ms": 900},
                    content_type="application/json", **auth)
    assert assignment.attention_check and regular is not None
    responses = [client.get(task["left"]["url"], **auth) for _ in range(2)]
    first, second = (_bytes(r) for r in responses)
    with assignment.left_image.file.open("rb") as fh:
        stored = fh.read()
    assert hashlib.sha256(first).digest() != hashlib.sha256(stored).digest()  # never the stored file
    assert first == second  # fetching the link again does not reveal a check
    for name in ("Content-Type", "Cache-Control"):
        assert {r[name] for r in responses} == {regular[name]}, name  # nor do its headers
    with PILImage.open(io.BytesIO(first)) as a, PILImage.open(io.BytesIO(stored)) as b:
        diff = sum(x != y for x, y in zip(a.tobytes(), b.tobytes()))
    assert diff == 1  # the same picture, one bit of one pixel apart


# -- finding 8: re-collection --

def test_an_excluded_annotators_slots_reopen_so_every_item_reaches_k_valid_votes(qc_study, client):
    study = qc_study(n_prompts=8, k=2)  # 24 items
    tie_bot = _run(client, AlwaysTie(), "bot")
    assert tie_bot.excluded
    bot_regular = Vote.objects.filter(annotator=tie_bot, attention_check=False).count()
    assert bot_regular > 0
    assert not Assignment.objects.filter(annotator=tie_bot, status="issued", attention_check=False).exists()
    for i in range(6):
        _run(client, CarefulHuman(), f"human-{i}")
    valid = {}
    for vote in Vote.objects.filter(study=study, attention_check=False, annotator__excluded=False):
        valid[vote.assignment.work_item_id] = valid.get(vote.assignment.work_item_id, 0) + 1
    items = list(WorkItem.objects.filter(study=study))
    assert all(valid.get(item.id, 0) == 2 for item in items), "an item ended with fewer than k valid votes"
    assert all(item.votes == 2 and item.reserved == 2 for item in items)
    rows = list(iter_vote_rows(study))
    assert sum(row["annotator_excluded"] for row in rows if not row["attention_check"]) == bot_regular
    assert compute_progress(Study.objects.get(id=study.id))["collected"] == len(items) * 2


# -- finding 9: the server's own clock --

def _task(client, **extra):
    token = client.post("/api/studies/qc/sessions", {}, content_type="application/json", **extra).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", **extra}
    return client.get("/api/session/next", **auth).json(), auth


def _age(task, ms):
    assignment = Assignment.objects.get(public_id=task["assignment"])
    Assignment.objects.filter(id=assignment.id).update(issued_at=assignment.issued_at - timedelta(milliseconds=ms))


def test_the_server_stores_its_own_time_beside_the_clients(qc_study, client):
    qc_study(n_prompts=4)
    task, auth = _task(client)
    _age(task, 4000)
    client.post(f"/api/assignments/{task['assignment']}/vote", {"choice": "left", "response_ms": 2500},
                content_type="application/json", **auth)
    vote = Vote.objects.get()
    assert vote.response_ms == 2500 and 4000 <= vote.server_ms < 9000


def test_a_response_time_the_server_clock_rules_out_is_refused(qc_study, client, settings):
    settings.QSCHED_RATE_LIMITS = True
    qc_study(n_prompts=4)
    task, auth = _task(client)
    _age(task, 3000)
    for response_ms in (86_400_000, 60_000):
        refused = client.post(f"/api/assignments/{task['assignment']}/vote",
                              {"choice": "left", "response_ms": response_ms}, content_type="application/json", **auth)
        assert refused.status_code == 400 and "since this task was handed out" in refused.json()["detail"]
    assert not Vote.objects.exists()
    ok = client.post(f"/api/assignments/{task['assignment']}/vote", {"choice": "left", "response_ms": 2000},
                     content_type="application/json", **auth)
    assert ok.status_code == 201


def test_a_vote_faster_than_the_minimum_is_refused_and_writes_nothing(qc_study, client, settings):
    settings.QSCHED_RATE_LIMITS = True
    settings.QSCHED_MIN_RESPONSE_MS = 250
    qc_study(n_prompts=4)
    task, auth = _task(client)
    refused = client.post(f"/api/assignments/{task['assignment']}/vote", {"choice": "left", "response_ms": 0},
                          content_type="application/json", **auth)
    assert refused.status_code == 400 and refused.json()["code"] == "too_fast"
    assert not Vote.objects.exists() and Assignment.objects.get().status == "issued"
