"""POST /api/studies/<slug>/sessions and annotate.services.start_session."""
import pytest

from annotate import services
from annotate.errors import QuotaExhausted, StudyNotLive
from annotate.models import Annotator, AnnotatorSession
from annotate.tokens import hash_token
from studies.models import Study

pytestmark = pytest.mark.django_db


def test_it_opens_a_session_and_stores_only_the_token_hash(make_live_study):
    study = make_live_study()
    annotator, token = services.start_session(study=study, external_id="P1", crowd_study_id="S1",
                                              crowd_session_id="X1", user_agent="UA")
    session = AnnotatorSession.objects.get()
    assert session.token_sha256 == hash_token(token) != token
    assert (annotator.external_id, annotator.crowd_study_id, annotator.crowd_session_id) == ("P1", "S1", "X1")
    assert annotator.pseudonym and "P1" not in annotator.pseudonym


def test_the_same_external_id_returns_the_same_annotator(make_live_study):
    study = make_live_study()
    first, token1 = services.start_session(study=study, external_id="P1")
    second, token2 = services.start_session(study=study, external_id="P1", crowd_session_id="X2")
    assert first.id == second.id and token1 != token2
    assert Annotator.objects.get().crowd_session_id == "X2"


def test_anonymous_visitors_become_different_annotators(make_live_study):
    study = make_live_study()
    a, _ = services.start_session(study=study)
    b, _ = services.start_session(study=study)
    assert a.id != b.id and a.pseudonym != b.pseudonym


@pytest.mark.parametrize("state", [Study.Status.PAUSED, Study.Status.CLOSED])
def test_it_refuses_a_study_that_is_not_live_and_writes_nothing(make_live_study, client, state):
    make_live_study(status=state)
    response = client.post("/api/studies/demo/sessions", {"external_id": "P1"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "study_not_live"
    assert not Annotator.objects.exists() and not AnnotatorSession.objects.exists()
    with pytest.raises(StudyNotLive):
        services.start_session(study=Study.objects.get(), external_id="P1")


def test_it_refuses_an_annotator_whose_quota_is_used_up(make_live_study, client):
    study = make_live_study(quota_per_annotator=1)
    annotator, _ = services.start_session(study=study, external_id="P1")
    assignment = services.next_assignment(annotator=annotator)
    services.record_vote(annotator=annotator, assignment_public_id=assignment.public_id, choice="left",
                         response_ms=10)
    response = client.post("/api/studies/demo/sessions", {"external_id": "P1"}, content_type="application/json")
    assert response.status_code == 409
    assert AnnotatorSession.objects.count() == 1
    with pytest.raises(QuotaExhausted):
        services.start_session(study=study, external_id="P1")


def test_the_api_answers_201_with_token_criteria_and_instructions(make_live_study, client):
    make_live_study(criteria=("overall", "quality"), instructions="Look <em>closely</em>")
    response = client.post("/api/studies/demo/sessions", {"external_id": "P9", "study_id": "S", "session_id": "X"},
                           content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert [c["key"] for c in body["criteria"]] == ["overall", "quality"]
    assert body["instructions"] == "Look <em>closely</em>"
    assert AnnotatorSession.objects.get().token_sha256 == hash_token(body["token"])
    assert Annotator.objects.get().crowd_study_id == "S"


@pytest.mark.parametrize("body", [{"external_id": 5}, {"external_id": "x" * 129}, ["not", "an", "object"]])
def test_the_api_refuses_bad_ids_with_400(make_live_study, client, body):
    make_live_study()
    response = client.post("/api/studies/demo/sessions", body, content_type="application/json")
    assert response.status_code == 400
    assert not Annotator.objects.exists()


def test_an_unknown_study_is_404(db, client):
    assert client.post("/api/studies/nope/sessions", {}, content_type="application/json").status_code == 404
