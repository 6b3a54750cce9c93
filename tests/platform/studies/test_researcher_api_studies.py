"""Researcher API: GET /api/studies, GET /api/studies/<slug>, POST /api/studies/<slug>/status."""
import pytest
from django.test import Client

from studies.models import Study

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for():
    def make(user, *, csrf=False):
        client = Client(enforce_csrf_checks=csrf)
        client.force_login(user)
        return client
    return make


def test_anonymous_requests_are_refused(imported_study, client):
    assert client.get("/api/studies").status_code == 403
    assert client.get(f"/api/studies/{imported_study.slug}").status_code == 403
    assert client.post(f"/api/studies/{imported_study.slug}/status", {"status": "live"},
                       content_type="application/json").status_code == 403


def test_the_list_shows_only_my_studies(imported_study, owner, outsider, client_for):
    assert [s["slug"] for s in client_for(owner).get("/api/studies").json()["studies"]] == ["demo-study"]
    assert client_for(outsider).get("/api/studies").json() == {"studies": []}


def test_the_detail_shows_criteria_systems_and_progress(imported_study, owner, client_for):
    Study.objects.filter(pk=imported_study.pk).update(progress={"collected": 5, "target": 27})
    body = client_for(owner).get("/api/studies/demo-study").json()
    assert body["slug"] == "demo-study" and body["status"] == "draft" and body["owner"] == "owner"
    assert body["criteria"] == [{"key": "overall", "question": "Which image do you prefer overall?"}]
    assert [s["id"] for s in body["systems"]] == ["fp16", "w4a8", "w4a8-qsched"]
    assert body["progress"] == {"collected": 5, "target": 27}


def test_an_outsider_gets_404_not_403(imported_study, outsider, client_for):
    client = client_for(outsider)
    assert client.get("/api/studies/demo-study").status_code == 404
    assert client.post("/api/studies/demo-study/status", {"status": "live"},
                       content_type="application/json").status_code == 404
    assert Study.objects.get(pk=imported_study.pk).status == "draft"


def test_a_member_launches_and_pauses_the_study(imported_study, collaborator, client_for):
    imported_study.members.add(collaborator)
    client = client_for(collaborator)
    response = client.post("/api/studies/demo-study/status", {"status": "live"}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"slug": "demo-study", "status": "live"}
    assert client.post("/api/studies/demo-study/status", {"status": "paused"},
                       content_type="application/json").json()["status"] == "paused"
    assert Study.objects.get(pk=imported_study.pk).status == "paused"


@pytest.mark.parametrize("body, words, code", [({"status": "draft"}, "is draft", "invalid_transition"),
                                               ({"status": "bogus"}, "must be one of", "invalid"),
                                               ({}, "must be one of", "invalid")])
def test_bad_transitions_get_400_with_a_message(imported_study, owner, client_for, body, words, code):
    response = client_for(owner).post("/api/studies/demo-study/status", body, content_type="application/json")
    assert response.status_code == 400 and words in response.json()["detail"]
    assert response.json()["code"] == code


def test_status_changes_need_a_csrf_token(imported_study, owner, client_for):
    response = client_for(owner, csrf=True).post("/api/studies/demo-study/status", {"status": "live"},
                                                 content_type="application/json")
    assert response.status_code == 403
    assert Study.objects.get(pk=imported_study.pk).status == "draft"
