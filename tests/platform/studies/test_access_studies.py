"""studies.access: a researcher sees only studies they own or were added to."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from studies.access import can_access, get_study_for_user, studies_for_user
from studies.services import create_study_from_bundle

from tests.platform.bundles import write_bundle

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_studies(tmp_path, owner, collaborator):
    mine = create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "a", n_prompts=1), slug="mine", owner=owner)
    theirs = create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b", n_prompts=1), slug="theirs",
                                      owner=collaborator)
    return mine, theirs


def test_the_owner_sees_only_their_own_study(two_studies, owner):
    assert list(studies_for_user(owner).values_list("slug", flat=True)) == ["mine"]
    assert get_study_for_user(owner, "mine").slug == "mine"
    with pytest.raises(Http404):
        get_study_for_user(owner, "theirs")


def test_a_member_sees_the_shared_study_once(two_studies, owner, collaborator):
    mine, _ = two_studies
    mine.members.add(collaborator)
    assert sorted(studies_for_user(collaborator).values_list("slug", flat=True)) == ["mine", "theirs"]
    assert can_access(collaborator, mine)


def test_an_outsider_sees_nothing(two_studies, outsider):
    assert not studies_for_user(outsider).exists()
    for slug in ("mine", "theirs", "no-such-study"):
        with pytest.raises(Http404):
            get_study_for_user(outsider, slug)


def test_a_superuser_sees_every_study(two_studies):
    admin = get_user_model().objects.create_superuser("root", password="root-pass-123")
    assert studies_for_user(admin).count() == 2


def test_anonymous_and_missing_users_see_nothing(two_studies):
    assert not studies_for_user(AnonymousUser()).exists()
    assert not studies_for_user(None).exists()


def test_media_files_are_not_served_as_a_folder_even_with_debug(settings):
    import importlib

    import qsched_platform.urls as root_urls

    settings.DEBUG = True
    try:
        patterns = importlib.reload(root_urls).urlpatterns  # the url list as built under DEBUG
        assert not [p for p in patterns if str(p.pattern).startswith(("media", "^media"))]
    finally:
        settings.DEBUG = False
        importlib.reload(root_urls)
