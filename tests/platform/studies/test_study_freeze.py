"""Finding 5: the freeze script (many sessions claiming without voting) no longer stops a real participant."""
import pytest

from annotate.models import Assignment

pytestmark = pytest.mark.django_db


def _freeze(client, n_sessions=37, per_session=6, ip="203.0.113.66") -> list[int]:
    """The script of finding 5: anonymous sessions that claim tasks (listing the held ones in
    ``exclude`` to get more) and never vote. Returns the join statuses."""
    statuses = []
    for _ in range(n_sessions):
        join = client.post("/api/studies/demo/sessions", {}, content_type="application/json", REMOTE_ADDR=ip)
        statuses.append(join.status_code)
        if join.status_code != 201:
            continue
        auth = {"HTTP_AUTHORIZATION": f"Bearer {join.json()['token']}", "REMOTE_ADDR": ip}
        held = []
        for _ in range(per_session):
            response = client.get("/api/session/next", {"exclude": ",".join(held)}, **auth)
            if response.status_code != 200:
                break
            held.append(response.json()["assignment"])
    return statuses


def _real_participant_works(client) -> None:
    join = client.post("/api/studies/demo/sessions", {"external_id": "REAL1"}, content_type="application/json",
                       REMOTE_ADDR="198.51.100.20")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {join.json()['token']}", "REMOTE_ADDR": "198.51.100.20"}
    for _ in range(5):
        task = client.get("/api/session/next", **auth)
        assert task.status_code == 200, "the real participant got no work"
        vote = client.post(f"/api/assignments/{task.json()['assignment']}/vote",
                           {"choice": "left", "response_ms": 900}, content_type="application/json", **auth)
        assert vote.status_code == 201


def test_one_annotator_holds_at_most_two_open_tasks(make_live_study, client):
    make_live_study(n_prompts=24)
    _freeze(client, n_sessions=1)
    assert Assignment.objects.filter(status="issued").count() == 2
    join = client.post("/api/studies/demo/sessions", {}, content_type="application/json")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {join.json()['token']}"}
    first = client.get("/api/session/next", **auth).json()["assignment"]
    second = client.get("/api/session/next", {"exclude": first}, **auth).json()["assignment"]
    refused = client.get("/api/session/next", {"exclude": f"{first},{second}"}, **auth)
    assert refused.status_code == 409 and refused.json()["code"] == "too_many_open_tasks"


def test_the_freeze_script_no_longer_stops_a_real_participant(make_live_study, client):
    make_live_study(n_prompts=24)  # 72 items, k = 3: 216 slots, as in finding 5
    assert _freeze(client) == [201] * 37  # even with no rate limits (an attacker with many addresses)
    assert Assignment.objects.filter(status="issued").count() == 74
    _real_participant_works(client)


def test_with_the_default_limits_the_script_gets_no_further_than_30_sessions(make_live_study, client, settings):
    settings.QSCHED_RATE_LIMITS = True  # the defaults of settings.QSCHED_RATES
    settings.QSCHED_MIN_RESPONSE_MS = 0  # the participant below votes at machine speed
    make_live_study(n_prompts=24)
    statuses = _freeze(client)
    assert statuses.count(201) == 30 and set(statuses[30:]) == {429}
    _real_participant_works(client)
