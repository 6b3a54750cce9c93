"""Shared fixtures: an owner, a collaborator and an outsider; bundles on disk."""
import pytest
from django.contrib.auth import get_user_model

from .bundles import write_bundle


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("owner", password="owner-pass-123")


@pytest.fixture
def collaborator(db):
    return get_user_model().objects.create_user("collaborator", password="collab-pass-123")


@pytest.fixture
def outsider(db):
    return get_user_model().objects.create_user("outsider", password="outsider-pass-123")


@pytest.fixture
def bundle_dir(tmp_path):
    return write_bundle(tmp_path / "bundle")
