"""Members: the owner adds and removes collaborators by username from the study page."""
import pytest
from django.urls import reverse

from studies.services import create_study_from_bundle

from tests.platform.bundles import write_bundle


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def study(owner, tmp_path):
    return create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b", systems=("fp16", "w4a8"), n_prompts=1),
                                    slug="s1", owner=owner)


def post_member(client, study, action, username):
    return client.post(reverse("dashboard:study_members", args=[study.slug]),
                       {"action": action, "username": username}, follow=True)


def test_the_owner_adds_a_collaborator_who_then_sees_the_study(client, owner, collaborator, study):
    client.force_login(owner)
    response = post_member(client, study, "add", " collaborator ")
    assert "collaborator added to s1" in response.content.decode()
    client.force_login(collaborator)
    assert client.get(reverse("dashboard:study_detail", args=[study.slug])).status_code == 200


def test_the_owner_removes_a_collaborator_who_then_gets_404(client, owner, collaborator, study):
    study.members.add(collaborator)
    client.force_login(owner)
    response = post_member(client, study, "remove", "collaborator")
    assert "collaborator removed from s1" in response.content.decode()
    client.force_login(collaborator)
    assert client.get(reverse("dashboard:study_detail", args=[study.slug])).status_code == 404


def test_a_collaborator_cannot_add_members(client, collaborator, outsider, study):
    study.members.add(collaborator)
    client.force_login(collaborator)
    response = post_member(client, study, "add", "outsider")
    assert response.status_code == 200
    assert 'class="message error"' in response.content.decode()
    assert not study.members.filter(pk=outsider.pk).exists()


def test_an_unknown_username_is_reported(client, owner, study):
    client.force_login(owner)
    response = post_member(client, study, "add", "nobody-by-that-name")
    assert 'class="message error"' in response.content.decode()
    assert "nobody-by-that-name" in response.content.decode()
    assert not study.members.exists()


def test_a_missing_username_is_reported(client, owner, study):
    client.force_login(owner)
    response = post_member(client, study, "add", "")
    assert "Give a username" in response.content.decode()


def test_changing_members_needs_a_post(client, owner, study):
    client.force_login(owner)
    assert client.get(reverse("dashboard:study_members", args=[study.slug])).status_code == 405
