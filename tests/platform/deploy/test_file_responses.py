"""Images and report files are sent by the server in front (X-Accel-Redirect) or by the WSGI server's
file wrapper (sendfile), never by a Python loop over the bytes; headers are right either way."""
import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import RequestFactory
from django.urls import reverse

from annotate.models import Assignment
from results.services import refresh_report

from tests.platform.annotate_study import make_study

pytestmark = pytest.mark.django_db


def _task(client):
    """A task, and the session header its image links need (annotate.image_links)."""
    token = client.post("/api/studies/demo/sessions", {}, content_type="application/json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return client.get("/api/session/next", **auth).json(), auth


def test_without_a_proxy_an_image_is_the_file_itself_with_length_type_and_private_caching(make_live_study, client):
    make_live_study()
    task, auth = _task(client)
    image = Assignment.objects.get(public_id=task["assignment"]).left_image
    response = client.get(task["left"]["url"], **auth)
    data = image.file.open("rb").read()
    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "image/png" and int(response["Content-Length"]) == len(data)
    assert response["Cache-Control"].startswith("private")
    assert "X-Accel-Redirect" not in response and "Content-Disposition" not in response


class RecordingFileWrapper:
    """Stands in for a WSGI server's wsgi.file_wrapper (gunicorn's sends the file with sendfile)."""

    def __init__(self, filelike, block_size=8192):
        self.filelike = filelike

    def __iter__(self):
        raise AssertionError("a WSGI server with a file wrapper sends the file itself")

    def close(self):
        self.filelike.close()


def test_without_a_proxy_the_wsgi_server_gets_the_open_file_for_sendfile(make_live_study, client):
    make_live_study()
    task, auth = _task(client)
    image = Assignment.objects.get(public_id=task["assignment"]).right_image
    environ = RequestFactory().get(task["right"]["url"], **auth).environ
    environ["wsgi.file_wrapper"] = RecordingFileWrapper
    statuses = []
    # as Django's test client does: keep the test's database connection open at the end of the request
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    try:
        assert statuses == ["200 OK"] and isinstance(result, RecordingFileWrapper)
        assert result.filelike.name == image.file.path and result.filelike.fileno() >= 0
    finally:
        result.close()


def test_behind_nginx_an_image_is_an_empty_response_naming_the_file_for_x_accel_redirect(
        make_live_study, client, settings):
    settings.QSCHED_X_ACCEL_REDIRECT = "/protected-media/"
    make_live_study()
    task, auth = _task(client)
    image = Assignment.objects.get(public_id=task["assignment"]).left_image
    response = client.get(task["left"]["url"], **auth)
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == "/protected-media/" + image.file.name
    assert (settings.MEDIA_ROOT / image.file.name).is_file()
    assert response["Content-Type"] == "image/png" and response["Cache-Control"].startswith("private")
    assert "Content-Disposition" not in response  # nothing names the file to the annotator


def test_behind_nginx_a_forged_image_link_is_still_404(make_live_study, client, settings):
    settings.QSCHED_X_ACCEL_REDIRECT = "/protected-media/"
    make_live_study()
    task, auth = _task(client)
    response = client.get(task["left"]["url"][:-3] + "xyz", **auth)
    assert response.status_code == 404 and "X-Accel-Redirect" not in response


@pytest.fixture
def report_study(owner, add_vote):
    study = make_study(owner, slug="dl", n_prompts=2)
    for i, comparison in enumerate(study.comparisons.all()):
        add_vote(comparison, "overall", "ann-a", "left" if i % 2 else "right")
        add_vote(comparison, "overall", "ann-b", "tie", swap=True)
    refresh_report(study=study, n_bootstrap=20, plots=True)
    return study


def test_report_downloads_behind_nginx_are_redirected_with_the_download_name(client, owner, report_study, settings):
    settings.QSCHED_X_ACCEL_REDIRECT = "/protected-media/"
    client.force_login(owner)
    response = client.get(reverse("results:report_file", args=["dl", "summary.json"]))
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == "/protected-media/reports/dl/summary.json"
    assert response["Content-Disposition"] == 'attachment; filename="dl-summary.json"'
    assert response["Content-Type"] == "application/json" and response["Cache-Control"] == "private, no-cache"
    plot = client.get(reverse("results:report_file", args=["dl", "bt_overall.png"]))
    assert plot["X-Accel-Redirect"] == "/protected-media/reports/dl/bt_overall.png"
    assert plot["Content-Type"] == "image/png" and "Content-Disposition" not in plot


def test_report_downloads_without_a_proxy_are_the_file_with_its_length(client, owner, report_study):
    client.force_login(owner)
    response = client.get(reverse("results:report_file", args=["dl", "win_rates.csv"]))
    data = b"".join(response.streaming_content)
    assert data.startswith(b"criterion,a,b,wins") and int(response["Content-Length"]) == len(data)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="dl-win_rates.csv"'


def test_an_outsider_gets_404_and_no_redirect_behind_nginx(client, outsider, report_study, settings):
    settings.QSCHED_X_ACCEL_REDIRECT = "/protected-media/"
    client.force_login(outsider)
    response = client.get(reverse("results:report_file", args=["dl", "summary.json"]))
    assert response.status_code == 404 and "X-Accel-Redirect" not in response
