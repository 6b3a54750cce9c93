"""A database that is busy or gone for a moment answers a JSON 503 with Retry-After, never an HTML 500.

Covers: a really locked SQLite file (another connection holds the write lock), PostgreSQL-style
failures (serialization failure, deadlock, dropped connection: ``OperationalError``/``InterfaceError``),
and claim contention (``annotate.errors.Busy``). The same request sent again afterwards succeeds, once.
"""
import sqlite3

import pytest
from django.db import InterfaceError, OperationalError, connection

from annotate import services
from annotate.errors import Busy
from annotate.models import Vote

from tests.platform.annotate.test_vote_create import _join, _next, _vote


def assert_busy_503(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == "busy"


@pytest.mark.django_db(transaction=True)
def test_a_locked_sqlite_database_answers_503_and_the_same_vote_sent_again_is_recorded_once(make_live_study, client):
    if connection.vendor != "sqlite":
        pytest.skip("a locked database file is SQLite's failure; the PostgreSQL pass runs the other tests here")
    make_live_study()
    auth = _join(client, "P1")
    public_id = _next(client, auth)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 200")  # give up on a lock after 0.2 s, not the configured 20 s
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert_busy_503(_vote(client, auth, public_id))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert Vote.objects.count() == 0  # nothing was written
    assert _vote(client, auth, public_id).status_code == 201
    assert _vote(client, auth, public_id).status_code == 200
    assert Vote.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("error", [
    OperationalError("could not serialize access due to concurrent update"),
    OperationalError("deadlock detected"),
    OperationalError("server closed the connection unexpectedly"),
    InterfaceError("connection already closed"),
])
def test_database_failures_on_the_annotator_api_answer_json_503(make_live_study, client, monkeypatch, error):
    make_live_study()
    auth = _join(client, "P1")
    public_id = _next(client, auth)

    def fail(**kwargs):
        raise error

    monkeypatch.setattr(services, "record_vote", fail)
    assert_busy_503(_vote(client, auth, public_id))
    monkeypatch.setattr(services, "next_task", fail)  # what GET /api/session/next calls
    assert_busy_503(client.get("/api/session/next", **auth))
    assert Vote.objects.count() == 0


@pytest.mark.django_db
def test_claim_contention_answers_503_with_retry_after(make_live_study, client, monkeypatch):
    make_live_study()
    auth = _join(client, "P1")

    def contended(**kwargs):
        raise Busy("every free task was taken by others at the same moment; try again")

    monkeypatch.setattr(services, "next_task", contended)
    response = client.get("/api/session/next", **auth)
    assert_busy_503(response)
    assert "try again" in response.json()["detail"]


@pytest.mark.django_db
def test_a_database_failure_on_a_researcher_page_is_a_503_too(client, owner, monkeypatch):
    import dashboard.views.detail as detail

    client.force_login(owner)

    def fail(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(detail, "get_study_for_user", fail)
    assert_busy_503(client.get("/studies/any/"))


@pytest.mark.django_db
def test_other_errors_stay_a_500(make_live_study, client, monkeypatch):
    make_live_study()
    auth = _join(client, "P1")
    public_id = _next(client, auth)

    def bug(**kwargs):
        raise ZeroDivisionError("a real bug")

    monkeypatch.setattr(services, "record_vote", bug)
    client.raise_request_exception = False
    assert _vote(client, auth, public_id).status_code == 500


@pytest.mark.slow
def test_with_postgresql_unreachable_a_real_server_answers_the_api_with_json_503(tmp_path):
    """gunicorn with the project's config, its DATABASE_URL pointing at a port where no PostgreSQL listens."""
    import json
    import urllib.error
    import urllib.request

    from tests.platform.live_processes import free_port, start_gunicorn, stop_group

    master, port = start_gunicorn(tmp_path, workers=1,
                                  DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nowhere")
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/session/next",
                                         headers={"Authorization": "Bearer some-token"})
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=30)
    finally:
        stop_group(master)
    error = answer.value
    assert error.code == 503 and error.headers["Content-Type"] == "application/json"
    assert int(error.headers["Retry-After"]) >= 1
    assert json.loads(error.read())["code"] == "busy"
