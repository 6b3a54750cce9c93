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
    assert response.json() == {"done": 2, "completion_code": "C0DE42",
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
