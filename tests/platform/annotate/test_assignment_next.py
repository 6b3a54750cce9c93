"""Handing out tasks: annotate.services.next_assignment and GET /api/session/next."""
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate import services
from annotate.assignment import release_expired
from annotate.errors import StudyNotLive
from annotate.models import Assignment
from studies.models import Study, WorkItem

pytestmark = pytest.mark.django_db


def _annotators(study, n):
    return [services.start_session(study=study, external_id=f"P{i}")[0] for i in range(n)]


def _vote(annotator, assignment, choice="left"):
    return services.record_vote(annotator=annotator, assignment_public_id=assignment.public_id, choice=choice,
                                response_ms=100)


def test_asking_again_without_voting_returns_the_same_task(make_live_study):
    annotator = _annotators(make_live_study(), 1)[0]
    first = services.next_assignment(annotator=annotator)
    assert services.next_assignment(annotator=annotator).id == first.id
    assert Assignment.objects.count() == 1


def test_excluding_the_shown_task_preloads_a_different_one(make_live_study):
    annotator = _annotators(make_live_study(), 1)[0]
    shown = services.next_assignment(annotator=annotator)
    preloaded = services.next_assignment(annotator=annotator, exclude=[str(shown.public_id)])
    assert preloaded.id != shown.id
    assert preloaded.work_item.comparison_id != shown.work_item.comparison_id
    # After a reload the page resumes with the oldest open task, then the preloaded one.
    assert services.next_assignment(annotator=annotator).id == shown.id
    assert services.next_assignment(annotator=annotator, exclude=[str(shown.public_id)]).id == preloaded.id


def test_items_fill_evenly_and_each_gets_exactly_k_votes_from_different_annotators(make_live_study):
    study = make_live_study(n_prompts=2, k=2)  # 6 items, 12 slots
    annotators = _annotators(study, 13)
    for start in (0, 6):
        # Least-filled first: six new annotators put one more vote on every item.
        for annotator in annotators[start:start + 6]:
            _vote(annotator, services.next_assignment(annotator=annotator))
        assert set(WorkItem.objects.values_list("votes", flat=True)) == {start // 6 + 1}
    assert all(services.next_assignment(annotator=a) is None for a in annotators)
    assert set(WorkItem.objects.values_list("votes", "reserved")) == {(2, 2)}
    pairs = Counter(Assignment.objects.values_list("annotator_id", "work_item_id"))
    assert max(pairs.values()) == 1


def test_an_annotator_never_gets_the_same_item_twice_and_sees_new_comparisons_first(make_live_study):
    study = make_live_study(n_prompts=2, criteria=("overall", "quality"), k=1)  # 6 comparisons, 12 items
    annotator = _annotators(study, 1)[0]
    seen = []
    while (assignment := services.next_assignment(annotator=annotator)) is not None:
        _vote(annotator, assignment)
        seen.append((assignment.work_item.comparison_id, assignment.work_item_id))
    assert len({item for _, item in seen}) == len(seen) == 12
    first_six = [comparison for comparison, _ in seen[:6]]
    assert len(set(first_six)) == 6  # every comparison once before any repeats under the other criterion


def test_left_and_right_are_randomized_per_task(make_live_study):
    study = make_live_study(n_prompts=3, k=3)  # 9 comparisons x 3 = 27 tasks
    flipped = []
    for annotator in _annotators(study, 3):
        while (assignment := services.next_assignment(annotator=annotator)) is not None:
            _vote(annotator, assignment)
            flipped.append(assignment.left_image_id != assignment.work_item.comparison.image_a_id)
    assert len(flipped) == 27
    assert 0 < sum(flipped) < 27  # both orders occur (chance of failing: 2 * 0.5**27)


def test_an_expired_assignment_frees_its_slot_and_is_handed_out_again(make_live_study):
    study = make_live_study(n_prompts=1, systems=("a", "b"), k=1)  # one item, one slot
    slow, other = _annotators(study, 2)
    first = services.next_assignment(annotator=slow)
    assert services.next_assignment(annotator=other) is None
    Assignment.objects.filter(id=first.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    second = services.next_assignment(annotator=other)
    assert second is not None and second.work_item_id == first.work_item_id
    first.refresh_from_db()
    assert first.status == Assignment.Status.EXPIRED
    assert WorkItem.objects.get().reserved == 1
    assert release_expired(now=timezone.now()) == 0  # nothing left to release


def test_the_quota_limits_tasks_including_open_ones(make_live_study):
    study = make_live_study(quota_per_annotator=2)
    annotator = _annotators(study, 1)[0]
    shown = services.next_assignment(annotator=annotator)
    preloaded = services.next_assignment(annotator=annotator, exclude=[shown.public_id])
    assert preloaded is not None
    assert services.next_assignment(annotator=annotator, exclude=[shown.public_id, preloaded.public_id]) is None
    _vote(annotator, shown)
    _vote(annotator, preloaded)
    assert services.next_assignment(annotator=annotator) is None


def test_a_paused_study_hands_out_nothing(make_live_study):
    study = make_live_study()
    annotator = _annotators(study, 1)[0]
    Study.objects.filter(id=study.id).update(status=Study.Status.PAUSED)
    with pytest.raises(StudyNotLive):
        services.next_assignment(annotator=annotator)
    assert not Assignment.objects.exists()


def _session(client, external_id="P1"):
    response = client.post("/api/studies/demo/sessions", {"external_id": external_id},
                           content_type="application/json")
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['token']}"}


def test_the_api_returns_the_task_without_naming_any_system(make_live_study, client):
    make_live_study(n_prompts=1)
    auth = _session(client)
    response = client.get("/api/session/next", **auth)
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"assignment", "criterion", "prompt", "left", "right", "done", "total"}
    assert (body["done"], body["total"], body["criterion"]) == (0, 3, "overall")
    assert body["prompt"].startswith("prompt 0 <b>bold</b>")
    text = response.content.decode().lower()
    for word in ("fp16", "w4a8", "qsched", ".png", "studies/"):
        assert word not in text


def test_the_api_answers_204_when_nothing_is_left(make_live_study, client):
    make_live_study(n_prompts=1, systems=("a", "b"), k=1)
    auth = _session(client)
    assignment = client.get("/api/session/next", **auth).json()["assignment"]
    client.post(f"/api/assignments/{assignment}/vote", {"choice": "tie", "response_ms": 5},
                content_type="application/json", **auth)
    response = client.get("/api/session/next", **auth)
    assert response.status_code == 204 and response.content == b""


def test_the_api_passes_exclude_through(make_live_study, client):
    make_live_study()
    auth = _session(client)
    shown = client.get("/api/session/next", **auth).json()["assignment"]
    preloaded = client.get(f"/api/session/next?exclude={shown}", **auth).json()["assignment"]
    assert preloaded != shown
    assert client.get("/api/session/next?exclude=a,b,c,d,e,f", **auth).status_code == 400


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer wrong-token", "Token abc"])
def test_the_api_wants_a_valid_bearer_token(make_live_study, client, header):
    make_live_study()
    _session(client)
    response = client.get("/api/session/next", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert not Assignment.objects.exists()
