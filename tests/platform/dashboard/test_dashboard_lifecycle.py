"""Lifecycle buttons on the study page: launch, pause, resume, close (POST only)."""
import pytest
from django.test import Client
from django.urls import reverse

from studies.services import create_study_from_bundle


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def study(owner, bundle_dir):
    return create_study_from_bundle(bundle_dir=bundle_dir, slug="s1", owner=owner)


def post_status(client, study, status):
    return client.post(reverse("dashboard:study_status", args=[study.slug]), {"status": status}, follow=True)


def test_the_owner_launches_pauses_resumes_and_closes_a_study(client, owner, study):
    client.force_login(owner)
    for status in ("live", "paused", "live", "closed"):
        response = post_status(client, study, status)
        study.refresh_from_db()
        assert study.status == status
        assert f"is now {study.get_status_display().lower()}" in response.content.decode()
    assert study.launched_at is not None and study.closed_at is not None


def test_a_collaborator_may_pause_a_live_study(client, collaborator, study):
    study.members.add(collaborator)
    study.status = "live"
    study.save(update_fields=["status"])
    client.force_login(collaborator)
    post_status(client, study, "paused")
    study.refresh_from_db()
    assert study.status == "paused"


def test_a_closed_study_cannot_be_reopened_and_the_page_says_why(client, owner, study):
    client.force_login(owner)
    post_status(client, study, "closed")
    response = post_status(client, study, "live")
    study.refresh_from_db()
    assert study.status == "closed"
    assert "it can move to nothing" in response.content.decode()


def test_an_unknown_status_is_refused_with_a_message(client, owner, study):
    client.force_login(owner)
    response = post_status(client, study, "exploded")
    study.refresh_from_db()
    assert study.status == "draft"
    assert "Unknown status &#x27;exploded&#x27;" in response.content.decode()


def test_changing_the_status_needs_a_post(client, owner, study):
    client.force_login(owner)
    assert client.get(reverse("dashboard:study_status", args=[study.slug]), {"status": "live"}).status_code == 405
    study.refresh_from_db()
    assert study.status == "draft"


def test_changing_the_status_needs_a_csrf_token(owner, study):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(reverse("dashboard:study_status", args=[study.slug]), {"status": "live"}).status_code == 403
    study.refresh_from_db()
    assert study.status == "draft"
