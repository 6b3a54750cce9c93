"""GET /api/session/finish: the completion code and redirect once nothing is left."""
import pytest

pytestmark = pytest.mark.django_db


def _join(client):
    token = client.post("/api/studies/demo/sessions", {}, content_type="application/json").json()["token"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_it_gives_the_code_and_redirect_after_the_last_task(make_live_study, client):
    make_live_study(n_prompts=1, quota_per_annotator=2, completion_code="C0DE42",
                    redirect_url="https://app.prolific.com/submissions/complete?cc=C0DE42")
    auth = _join(client)
    for _ in range(2):
        task = client.get("/api/session/next", **auth).json()
        client.post(f"/api/assignments/{task['assignment']}/vote", {"choice": "left", "response_ms": 1},
                    content_type="application/json", **auth)
    assert client.get("/api/session/next", **auth).status_code == 204
    response = client.get("/api/session/finish", **auth)
    assert response.status_code == 200
    assert response.json() == {"done": 2, "outcome": "completed", "completion_code": "C0DE42",
                                "redirect_url": "https://app.prolific.com/submissions/complete?cc=C0DE42"}


def test_it_keeps_the_code_back_while_tasks_remain(make_live_study, client):
    make_live_study(completion_code="C0DE42")
    auth = _join(client)
    response = client.get("/api/session/finish", **auth)
    assert response.status_code == 409
    assert "C0DE42" not in response.content.decode()


def test_it_needs_a_session(make_live_study, client):
    make_live_study()
    assert client.get("/api/session/finish").status_code == 401


# -- finding 6: a code means work; a distinct screen-out code otherwise --

def _vote_once(client, auth):
    task = client.get("/api/session/next", **auth).json()
    response = client.post(f"/api/assignments/{task['assignment']}/vote", {"choice": "left", "response_ms": 900},
                           content_type="application/json", **auth)
    assert response.status_code == 201


@pytest.mark.parametrize("status", ["paused", "closed"])
def test_no_completion_code_for_zero_votes_when_the_study_stops(make_live_study, client, status):
    study = make_live_study(completion_code="PAID", screen_out_code="NOPE")
    auth = _join(client)
    study.status = status
    study.save(update_fields=["status"])
    response = client.get("/api/session/finish", **auth)
    assert "PAID" not in response.content.decode()
    if status == "closed":
        assert response.json() == {"done": 0, "outcome": "screened_out", "completion_code": "NOPE", "redirect_url": ""}
    else:
        assert response.status_code == 403  # paused: the work may come back


def test_no_completion_code_for_zero_votes_when_every_slot_is_held_by_others(make_live_study, client):
    make_live_study(n_prompts=1, k=1, completion_code="PAID", screen_out_code="NOPE",
                    redirect_url="https://app.prolific.com/submissions/complete?cc=PAID")
    holder = _join(client)
    for _ in range(3):  # the other annotator holds every slot (k = 1, 3 items)
        task = client.get("/api/session/next", **holder).json()
        client.post(f"/api/assignments/{task['assignment']}/vote", {"choice": "left", "response_ms": 900},
                    content_type="application/json", **holder)
    latecomer = _join(client)
    assert client.get("/api/session/next", **latecomer).status_code == 204
    response = client.get("/api/session/finish", **latecomer)
    assert response.json() == {"done": 0, "outcome": "screened_out", "completion_code": "NOPE", "redirect_url": ""}


def test_the_completion_code_once_the_study_closes_after_some_work(make_live_study, client):
    study = make_live_study(completion_code="PAID", screen_out_code="NOPE")
    auth = _join(client)
    _vote_once(client, auth)
    study.status = "closed"
    study.save(update_fields=["status"])
    assert client.get("/api/session/finish", **auth).json()["completion_code"] == "PAID"


def test_an_excluded_annotator_gets_the_screen_out_code(make_live_study, client):
    from annotate.models import Annotator

    make_live_study(completion_code="PAID", screen_out_code="NOPE")
    auth = _join(client)
    _vote_once(client, auth)
    Annotator.objects.update(excluded=True)
    body = client.get("/api/session/finish", **auth).json()
    assert body["outcome"] == "screened_out" and body["completion_code"] == "NOPE"


def test_joining_a_closed_study_answers_the_screen_out_code(make_live_study, client):
    make_live_study(status="closed", completion_code="PAID", screen_out_code="NOPE")
    response = client.post("/api/studies/demo/sessions", {}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["screen_out_code"] == "NOPE" and "PAID" not in response.content.decode()
