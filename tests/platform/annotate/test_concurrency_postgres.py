"""Many annotators at once against the real PostgreSQL: exactly k votes per item, no duplicates, nothing lost.

Runs in the second pass of scripts/test.sh (DATABASE_URL=postgres://...). It FAILS, never skips,
when the database is not PostgreSQL.
"""
import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from annotate import services
from annotate.models import Annotator, Assignment, Vote
from studies.models import StudyCounters, WorkItem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 50


@pytest.fixture(autouse=True)
def _require_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.fail(f"this test needs PostgreSQL (DATABASE_URL=postgres://...), not {connection.vendor}")


def _run_threads(n, work):
    """Run work(i) in n threads started together; return the exceptions they raised."""
    barrier = threading.Barrier(n)
    errors = []

    def run(i):
        try:
            barrier.wait(timeout=60)
            work(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


def _join(client, external_id):
    response = client.post("/api/studies/demo/sessions", {"external_id": external_id},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}


def test_fifty_annotators_voting_at_once_give_each_item_exactly_k_votes(make_live_study):
    study = make_live_study(n_prompts=8, criteria=("overall", "quality"), k=3)  # 48 items, 144 votes
    accepted = [[] for _ in range(THREADS)]
    abandoned = []

    def annotate(i):
        client = Client()
        auth = _join(client, f"P{i}")
        walks_away = i % 10 == 0  # every tenth annotator leaves its first task: it expires and must come back
        while True:
            task = client.get("/api/session/next", **auth)
            if task.status_code == 204:
                return
            assert task.status_code == 200, task.content
            assignment = task.json()["assignment"]
            if walks_away:
                walks_away = False
                abandoned.append(assignment)
                Assignment.objects.filter(public_id=assignment).update(expires_at=timezone.now())
                continue
            choice = ("left", "right", "tie")[(i + len(accepted[i])) % 3]
            vote = client.post(f"/api/assignments/{assignment}/vote", {"choice": choice, "response_ms": 500},
                               content_type="application/json", **auth)
            assert vote.status_code == 201, vote.content
            accepted[i].append(assignment)

    assert _run_threads(THREADS, annotate) == []
    # A slot given back after every other annotator had stopped is taken by latecomers.
    client, latecomer = Client(), 0
    while True:
        auth = _join(client, f"late-{latecomer}")
        task = client.get("/api/session/next", **auth)
        if task.status_code == 204:
            break
        assert client.post(f"/api/assignments/{task.json()['assignment']}/vote", {"choice": "left", "response_ms": 1},
                           content_type="application/json", **auth).status_code == 201
        accepted[0].append(task.json()["assignment"])
        latecomer += 1

    items = WorkItem.objects.filter(study=study)
    assert set(items.values_list("votes", "reserved")) == {(3, 3)}
    assert Counter(Vote.objects.values_list("comparison_id", "criterion_id")) == Counter(
        {(c, k): 3 for c, k in items.values_list("comparison_id", "criterion_id")})
    # No annotator twice on one item; every accepted vote is there, and nothing else.
    assert max(Counter(Vote.objects.values_list("annotator_id", "comparison_id", "criterion_id")).values()) == 1
    sent = sorted(a for per_thread in accepted for a in per_thread)
    assert sorted(str(a) for a in Vote.objects.values_list("assignment__public_id", flat=True)) == sent
    assert Assignment.objects.filter(status=Assignment.Status.EXPIRED).count() == len(abandoned) == 5
    assert not Assignment.objects.filter(status=Assignment.Status.ISSUED).exists()
    # The counters kept in the same transactions agree with a recount.
    assert StudyCounters.objects.get(study=study).items_full == items.filter(reserved=3).count() == 48
    annotators = Annotator.objects.filter(study=study)
    assert [a.regular_votes for a in annotators] == [a.votes.count() for a in annotators]


def test_a_retry_storm_of_one_vote_writes_one_row(make_live_study):
    study = make_live_study(n_prompts=1)
    annotator, token = services.start_session(study=study, external_id="P1")
    assignment = services.next_assignment(annotator=annotator)
    statuses = []

    def send(_):
        response = Client().post(f"/api/assignments/{assignment.public_id}/vote",
                                 {"choice": "right", "response_ms": 700}, content_type="application/json",
                                 HTTP_AUTHORIZATION=f"Bearer {token}")
        statuses.append((response.status_code, response.json()["vote"]))

    assert _run_threads(20, send) == []
    assert Vote.objects.count() == 1
    vote = Vote.objects.get()
    assert sorted(code for code, _ in statuses) == [200] * 19 + [201]
    assert {vote_id for _, vote_id in statuses} == {str(vote.public_id)}
    assert WorkItem.objects.get(id=assignment.work_item_id).votes == 1


def test_a_claim_that_finds_the_last_free_item_locked_waits_for_it_instead_of_answering_204(make_live_study):
    """SKIP LOCKED passes over a row another claim holds; when that row is all that is left, the next
    try waits for it (annotate.assignment.claim) and takes the slot the other transaction left."""
    import psycopg

    study = make_live_study(n_prompts=1, systems=("a", "b"), k=2)  # one item, two slots
    item = WorkItem.objects.get(study=study)
    annotator, _ = services.start_session(study=study, external_id="P1")
    settings = connection.settings_dict
    holder = psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                             dbname=settings["NAME"], password=settings["PASSWORD"] or None)
    holder.execute("SELECT id FROM studies_workitem WHERE id = %s FOR UPDATE", [item.id])  # a claim in flight
    timer = threading.Timer(0.5, holder.commit)  # it finishes without taking the slot
    timer.start()
    try:
        started = timezone.now()
        assignment = services.next_assignment(annotator=annotator)
        waited = (timezone.now() - started).total_seconds()
    finally:
        timer.join()
        holder.close()
    assert assignment is not None and assignment.work_item_id == item.id
    assert waited >= 0.4  # it waited for the holder rather than skipping the row and answering 204
    item.refresh_from_db()
    assert item.reserved == 1
