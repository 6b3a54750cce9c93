"""Image links: GET /api/images/<signed token>, for the task's holder, while the task is open."""
from datetime import timedelta

import pytest
from django.utils import timezone

from annotate.image_links import image_link_token, read_image_link
from annotate.models import Assignment
from studies.models import Study

pytestmark = pytest.mark.django_db


def _join(client):
    token = client.post("/api/studies/demo/sessions", {}, content_type="application/json").json()["token"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _task(client):
    auth = _join(client)
    return client.get("/api/session/next", **auth).json(), auth


def test_each_side_serves_the_image_of_that_side(make_live_study, client):
    make_live_study()
    task, auth = _task(client)
    assignment = Assignment.objects.get(public_id=task["assignment"])
    for side, image in (("left", assignment.left_image), ("right", assignment.right_image)):
        response = client.get(task[side]["url"], **auth)
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content) == image.file.open("rb").read()
        assert "Content-Disposition" not in response


def test_links_name_neither_system_nor_file(make_live_study, client):
    make_live_study()
    task, _ = _task(client)
    assignment = Assignment.objects.get(public_id=task["assignment"])
    for side in ("left", "right"):
        url = task[side]["url"]
        assert "fp16" not in url and "w4a8" not in url and ".png" not in url
        assert assignment.left_image.public_id.hex not in url and assignment.right_image.public_id.hex not in url
        assert read_image_link(url.rsplit("/", 1)[1]) == (assignment.public_id, side)


def test_a_forged_or_unknown_link_is_404(make_live_study, client):
    make_live_study()
    task, auth = _task(client)
    good = task["left"]["url"].rsplit("/", 1)[1]
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert client.get(f"/api/images/{forged}", **auth).status_code == 404
    unknown = image_link_token(Assignment.objects.get().public_id.__class__(int=1), "left")
    assert client.get(f"/api/images/{unknown}", **auth).status_code == 404


# -- finding 3: links that need the holder's session and stop working --

def test_a_link_alone_opens_nothing_without_the_holders_session(make_live_study, client):
    make_live_study()
    task, _ = _task(client)
    other = _join(client)
    assert client.get(task["left"]["url"]).status_code == 404
    assert client.get(task["left"]["url"], **other).status_code == 404
    assert client.get(task["left"]["url"], HTTP_AUTHORIZATION="Bearer made-up").status_code == 404


def test_a_link_stops_working_once_the_task_is_voted_on_and_the_grace_period_is_over(make_live_study, client,
                                                                                     settings):
    settings.QSCHED_IMAGE_LINK_GRACE_S = 60
    make_live_study()
    task, auth = _task(client)
    client.post(f"/api/assignments/{task['assignment']}/vote", {"choice": "left", "response_ms": 900},
                content_type="application/json", **auth)
    assert client.get(task["left"]["url"], **auth).status_code == 200  # within the grace period
    vote = Assignment.objects.get(public_id=task["assignment"]).vote
    type(vote).objects.filter(id=vote.id).update(created_at=timezone.now() - timedelta(seconds=61))
    assert client.get(task["left"]["url"], **auth).status_code == 404
    assert client.get(task["right"]["url"], **auth).status_code == 404


def test_a_link_stops_working_once_the_task_expired(make_live_study, client):
    make_live_study()
    task, auth = _task(client)
    Assignment.objects.filter(public_id=task["assignment"]).update(expires_at=timezone.now() - timedelta(seconds=61))
    assert client.get(task["left"]["url"], **auth).status_code == 404


def test_a_link_stops_working_once_the_study_closed(make_live_study, client):
    study = make_live_study()
    task, auth = _task(client)
    Study.objects.filter(id=study.id).update(status=Study.Status.CLOSED,
                                             closed_at=timezone.now() - timedelta(seconds=61))
    assert client.get(task["left"]["url"], **auth).status_code == 404


def test_an_image_takes_one_statement_on_postgresql_and_two_queries_elsewhere(make_live_study, client,
                                                                              django_assert_max_num_queries):
    from django.db import connection

    make_live_study()
    task, auth = _task(client)
    with django_assert_max_num_queries(1 if connection.vendor == "postgresql" else 2):
        response = client.get(task["left"]["url"], **auth)
    assert response.status_code == 200
