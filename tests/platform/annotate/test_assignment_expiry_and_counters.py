"""Lazy expiry, stored counters and what the annotator path never reads (annotate.assignment, studies.counters)."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotate import services
from annotate.assignment import RELEASE_PER_CLAIM
from annotate.models import Assignment
from studies.models import Study, StudyCounters, WorkItem

pytestmark = pytest.mark.django_db


def _annotator(study, name):
    return services.start_session(study=study, external_id=name)[0]


def _recount_full(study) -> int:
    return WorkItem.objects.filter(study=study, reserved__gte=study.votes_per_pair).count()


def test_a_claim_expires_a_few_overdue_tasks_and_their_items_are_dealt_again_first(make_live_study):
    study = make_live_study(n_prompts=4, k=1)  # 12 items, one slot each
    holders = [_annotator(study, f"P{i}") for i in range(12)]
    for annotator in holders:
        assert services.next_assignment(annotator=annotator) is not None
    assert StudyCounters.objects.get(study=study).items_full == 12 == _recount_full(study)
    Assignment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    late = _annotator(study, "late")
    task = services.next_assignment(annotator=late)
    expired = Assignment.objects.filter(status=Assignment.Status.EXPIRED)
    assert expired.count() == RELEASE_PER_CLAIM  # a few per claim, oldest deadline first, never a whole scan
    assert task.work_item_id in set(expired.values_list("work_item_id", flat=True))  # freed items first
    assert StudyCounters.objects.get(study=study).items_full == 12 - RELEASE_PER_CLAIM + 1 == _recount_full(study)


def test_progress_comes_from_the_counters_and_matches_what_is_left(make_live_study):
    study = make_live_study(n_prompts=2, k=2)  # 6 items, 12 slots
    first, second = _annotator(study, "P1"), _annotator(study, "P2")
    for _ in range(4):
        task = services.next_assignment(annotator=first)
        services.record_vote(annotator=first, assignment_public_id=task.public_id, choice="left", response_ms=9)
    assert services.progress(first) == {"done": 4, "total": 6}  # one slot on each of the 6 items for them
    services.next_assignment(annotator=second)  # holds one more slot
    assert services.progress(second) == {"done": 0, "total": 6}
    first.refresh_from_db()
    assert (first.regular_votes, first.check_votes) == (4, 0)


def test_the_annotator_path_never_reads_the_bundle_manifest(make_live_study, client):
    study = make_live_study(n_prompts=2)
    Study.objects.filter(id=study.id).update(manifest={"format": "qsched-bundle/1", "padding": "x" * 200_000})
    token = client.post("/api/studies/demo/sessions", {"external_id": "P1"},
                        content_type="application/json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    with CaptureQueriesContext(connection) as queries:
        task = client.get("/api/session/next", **auth).json()
        client.get(task["left"]["url"])
        client.post(f"/api/assignments/{task['assignment']}/vote", {"choice": "left", "response_ms": 5},
                    content_type="application/json", **auth)
        client.get("/api/session/next", **auth)
    assert queries.captured_queries
    assert not [q["sql"] for q in queries.captured_queries if "manifest" in q["sql"]]
