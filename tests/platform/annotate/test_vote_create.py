"""POST /api/assignments/<id>/vote and annotate.services.record_vote."""
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate import services
from annotate.models import Assignment, Vote
from studies.models import Study, WorkItem

pytestmark = pytest.mark.django_db


def _join(client, external_id):
    token = client.post("/api/studies/demo/sessions", {"external_id": external_id},
                        content_type="application/json").json()["token"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _next(client, auth):
    return client.get("/api/session/next", **auth).json()["assignment"]


def _vote(client, auth, assignment, choice="left", response_ms=800):
    return client.post(f"/api/assignments/{assignment}/vote", {"choice": choice, "response_ms": response_ms},
                       content_type="application/json", **auth)


@pytest.mark.parametrize("choice", ["left", "right", "tie"])
def test_it_records_the_vote_with_the_system_shown_on_the_chosen_side(make_live_study, client, choice):
    make_live_study()
    auth = _join(client, "P1")
    public_id = _next(client, auth)
    response = _vote(client, auth, public_id, choice, 1234)
    assert response.status_code == 201
    vote = Vote.objects.get()
    assignment = Assignment.objects.get(public_id=public_id)
    assert response.json()["vote"] == str(vote.public_id)
    assert vote.system_left == assignment.left_image.system and vote.system_right == assignment.right_image.system
    expected = {"left": vote.system_left, "right": vote.system_right, "tie": None}[choice]
    assert (vote.choice, vote.winner, vote.response_ms) == (choice, expected, 1234)
    assert assignment.status == Assignment.Status.VOTED
    assert (assignment.work_item.votes, assignment.work_item.reserved) == (1, 1)


def test_a_retry_answers_200_with_the_same_vote_and_writes_no_second_row(make_live_study, client):
    make_live_study()
    auth = _join(client, "P1")
    public_id = _next(client, auth)
    first = _vote(client, auth, public_id)
    again = _vote(client, auth, public_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert Vote.objects.count() == 1 and WorkItem.objects.get(votes__gt=0).votes == 1


def test_a_different_choice_on_a_voted_assignment_is_refused(make_live_study, client):
    make_live_study()
    auth = _join(client, "P1")
    public_id = _next(client, auth)
    _vote(client, auth, public_id, "left")
    response = _vote(client, auth, public_id, "right")
    assert response.status_code == 409
    assert list(Vote.objects.values_list("choice", flat=True)) == ["left"]


def test_another_sessions_assignment_is_404_and_writes_nothing(make_live_study, client):
    make_live_study()
    mine, theirs = _join(client, "P1"), _join(client, "P2")
    public_id = _next(client, theirs)
    assert _vote(client, mine, public_id).status_code == 404
    assert _vote(client, mine, "not-a-uuid").status_code == 404
    assert not Vote.objects.exists()
    assert Assignment.objects.get().status == Assignment.Status.ISSUED


@pytest.mark.parametrize("body", [
    {"choice": "middle", "response_ms": 10}, {"choice": None, "response_ms": 10}, {"response_ms": 10},
    {"choice": "left", "response_ms": -1}, {"choice": "left", "response_ms": "fast"},
    {"choice": "left", "response_ms": True}, {"choice": "left"},
])
def test_an_invalid_vote_is_400_and_writes_nothing(make_live_study, client, body):
    make_live_study()
    auth = _join(client, "P1")
    public_id = _next(client, auth)
    response = client.post(f"/api/assignments/{public_id}/vote", body, content_type="application/json", **auth)
    assert response.status_code == 400
    assert not Vote.objects.exists() and Assignment.objects.get().status == Assignment.Status.ISSUED


def test_a_tie_is_400_when_the_study_allows_no_ties(make_live_study, client):
    make_live_study(allow_ties=False)
    auth = _join(client, "P1")
    response = _vote(client, auth, _next(client, auth), "tie")
    assert response.status_code == 400 and "ties" in response.json()["detail"]
    assert not Vote.objects.exists()


def test_an_expired_assignment_whose_slot_was_given_away_is_410(make_live_study, client):
    make_live_study(n_prompts=1, systems=("a", "b"), k=1)
    slow, quick = _join(client, "P1"), _join(client, "P2")
    late = _next(client, slow)
    Assignment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _vote(client, quick, _next(client, quick))  # the slot went to someone else
    response = _vote(client, slow, late)
    assert response.status_code == 410
    assert Vote.objects.count() == 1
    assert Assignment.objects.get(public_id=late).status == Assignment.Status.EXPIRED
    assert WorkItem.objects.get().reserved == 1


def test_a_vote_after_the_time_limit_is_410_even_while_its_slot_is_free(make_live_study, client):
    make_live_study(n_prompts=1, systems=("a", "b"), k=1)
    slow = _join(client, "P1")
    late = _next(client, slow)
    Assignment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _vote(client, slow, late)
    assert response.status_code == 410
    assert not Vote.objects.exists()
    assert WorkItem.objects.values_list("votes", "reserved").get() == (0, 1)  # released at the next hand-out


def test_a_vote_on_a_closed_study_is_refused(make_live_study, client):
    study = make_live_study()
    auth = _join(client, "P1")
    public_id = _next(client, auth)
    Study.objects.filter(id=study.id).update(status=Study.Status.CLOSED)
    assert _vote(client, auth, public_id).status_code == 403
    assert not Vote.objects.exists()


def test_a_paused_study_still_takes_votes_on_tasks_already_handed_out(make_live_study, client):
    study = make_live_study()
    auth = _join(client, "P1")
    public_id = _next(client, auth)
    Study.objects.filter(id=study.id).update(status=Study.Status.PAUSED)
    assert _vote(client, auth, public_id).status_code == 201


def test_the_service_returns_created_then_the_same_vote(make_live_study):
    study = make_live_study()
    annotator, _ = services.start_session(study=study)
    assignment = services.next_assignment(annotator=annotator)
    vote, created = services.record_vote(annotator=annotator, assignment_public_id=assignment.public_id,
                                         choice="right", response_ms=12.6)
    again, created_again = services.record_vote(annotator=annotator, assignment_public_id=str(assignment.public_id),
                                                choice="right", response_ms=99)
    assert (created, created_again, again.id, vote.response_ms) == (True, False, vote.id, 13)
