"""Opaque image links: GET /api/images/<signed token>."""
import pytest

from annotate.image_links import image_link_token, read_image_link
from annotate.models import Assignment

pytestmark = pytest.mark.django_db


def _task(client):
    token = client.post("/api/studies/demo/sessions", {}, content_type="application/json").json()["token"]
    return client.get("/api/session/next", HTTP_AUTHORIZATION=f"Bearer {token}").json()


def test_each_side_serves_the_image_of_that_side(make_live_study, client):
    make_live_study()
    task = _task(client)
    assignment = Assignment.objects.get(public_id=task["assignment"])
    for side, image in (("left", assignment.left_image), ("right", assignment.right_image)):
        response = client.get(task[side]["url"])
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content) == image.file.open("rb").read()
        assert "Content-Disposition" not in response


def test_links_name_neither_system_nor_file(make_live_study, client):
    make_live_study()
    task = _task(client)
    assignment = Assignment.objects.get(public_id=task["assignment"])
    for side in ("left", "right"):
        url = task[side]["url"]
        assert "fp16" not in url and "w4a8" not in url and ".png" not in url
        assert assignment.left_image.public_id.hex not in url and assignment.right_image.public_id.hex not in url
        assert read_image_link(url.rsplit("/", 1)[1]) == (assignment.public_id, side)


def test_a_forged_or_unknown_link_is_404(make_live_study, client):
    make_live_study()
    task = _task(client)
    good = task["left"]["url"].rsplit("/", 1)[1]
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert client.get(f"/api/images/{forged}").status_code == 404
    unknown = image_link_token(Assignment.objects.get().public_id.__class__(int=1), "left")
    assert client.get(f"/api/images/{unknown}").status_code == 404
