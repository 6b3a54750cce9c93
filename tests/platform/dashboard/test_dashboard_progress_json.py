"""The JSON endpoint the study page polls: it returns stored progress and queues a refresh."""
import pytest
from django.urls import reverse

import studies.progress
import studies.tasks
from studies.services import create_study_from_bundle

from tests.platform.bundles import write_bundle


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def study(owner, tmp_path):
    return create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b", systems=("fp16", "w4a8"), n_prompts=1),
                                    slug="s1", owner=owner)


@pytest.fixture
def queued(monkeypatch):
    """Record what would go to the broker; fail if anything computes progress in the request."""
    sent = []

    def never(*args, **kwargs):
        raise AssertionError("progress was computed inside the request")

    monkeypatch.setattr(studies.tasks.refresh_progress, "apply_async", lambda *a, **kw: sent.append((a, kw)))
    monkeypatch.setattr(studies.tasks.refresh_progress, "delay", lambda *a, **kw: sent.append((a, kw)))
    monkeypatch.setattr(studies.tasks, "compute_progress", never)
    monkeypatch.setattr(studies.progress, "compute_progress", never)
    return sent


def poll(client, study):
    return client.get(reverse("dashboard:study_progress_json", args=[study.slug]))


def test_a_poll_queues_a_refresh_after_commit_and_computes_nothing(client, owner, study, queued,
                                                                   django_capture_on_commit_callbacks):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = poll(client, study)
    assert response.status_code == 200
    assert len(queued) == 1
    args, kwargs = queued[0]
    assert study.pk in (list(args[0]) if args else list(kwargs.get("args", [])))


def test_it_returns_the_stored_progress_and_a_rendered_fragment(client, owner, study, queued):
    study.progress = {"target": 3, "collected": 2, "annotators_total": 2, "annotators_active": 1,
                      "by_criterion": [{"criterion": "overall", "question": "Q?", "collected": 2, "target": 3}],
                      "pair_table": [{"criterion": "overall", "a": "fp16", "b": "w4a8", "a_wins": 2, "b_wins": 0, "ties": 0}],
                      "computed_at": "2026-01-01T00:00:00+00:00"}
    study.save(update_fields=["progress"])
    client.force_login(owner)
    data = poll(client, study).json()
    assert data["status"] == "draft"
    assert data["progress"]["collected"] == 2
    assert "2</span><span class=\"lbl\">of 3 votes" in data["html"]
    assert "100.0%" in data["html"]  # fp16 won both votes against w4a8


def test_before_any_refresh_the_progress_is_empty(client, owner, study, queued):
    client.force_login(owner)
    data = poll(client, study).json()
    assert data["progress"] == {} and data["updated_at"] is None
    assert "Not counted yet" in data["html"]


def test_the_response_is_never_cached(client, owner, study, queued):
    client.force_login(owner)
    assert "no-cache" in poll(client, study)["Cache-Control"]
