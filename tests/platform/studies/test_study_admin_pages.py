"""Django admin: list and change pages of every studies model work for a superuser."""
import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

MODELS = ["study", "criterion", "system", "prompt", "image", "comparison", "workitem"]


@pytest.fixture
def admin_client_(client, db):
    client.force_login(get_user_model().objects.create_superuser("root", password="root-pass-123"))
    return client


@pytest.mark.parametrize("model", MODELS)
def test_the_list_and_change_pages_open(imported_study, admin_client_, model):
    from django.apps import apps

    obj = apps.get_model("studies", model).objects.first()
    assert admin_client_.get(f"/admin/studies/{model}/").status_code == 200
    assert admin_client_.get(f"/admin/studies/{model}/{obj.pk}/change/").status_code == 200


def test_a_non_staff_researcher_cannot_open_the_admin(imported_study, owner, client):
    client.force_login(owner)
    assert client.get("/admin/studies/study/").status_code == 302


def test_staff_who_are_not_superusers_see_only_their_studies_rows(imported_study, tmp_path, collaborator, client):
    from django.contrib.auth.models import Permission

    from studies.services import create_study_from_bundle

    from tests.platform.bundles import write_bundle

    create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "other", n_prompts=1), slug="their-study",
                             owner=collaborator)
    collaborator.is_staff = True
    collaborator.save()
    collaborator.user_permissions.set(Permission.objects.filter(codename__in=["view_study", "view_image"]))
    client.force_login(collaborator)
    page = client.get("/admin/studies/study/").content.decode()
    assert "their-study" in page and "demo-study" not in page
    images = client.get("/admin/studies/image/").content.decode()
    assert "3 images" in images
