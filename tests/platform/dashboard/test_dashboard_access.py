"""Who may open which researcher page: login required, owner and members only."""
import pytest
from django.urls import reverse

from studies.services import create_study_from_bundle

from tests.platform.bundles import write_bundle


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def study(owner, collaborator, bundle_dir):
    study = create_study_from_bundle(bundle_dir=bundle_dir, slug="s1", owner=owner, name="First study")
    study.members.add(collaborator)
    return study


STUDY_PAGES = ["dashboard:study_detail", "dashboard:study_progress_json", "dashboard:study_export"]
STUDY_ACTIONS = ["dashboard:study_status", "dashboard:study_members"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/studies/new", "/studies/s1/", "/studies/s1/progress.json",
                                 "/studies/s1/export?format=csv"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_login_page_logs_a_researcher_in(client, owner):
    page = client.get(reverse("login"))
    assert b"csrfmiddlewaretoken" in page.content
    response = client.post(reverse("login"), {"username": "owner", "password": "owner-pass-123"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:study_list")


def test_a_wrong_password_shows_an_error(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})
    assert response.status_code == 200
    assert b"did not match" in response.content


def test_logging_out_takes_a_post_not_a_get(client, owner):
    client.force_login(owner)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("dashboard:study_list")).status_code == 302


def test_the_list_shows_owned_and_member_studies_but_not_others(client, owner, collaborator, outsider, study, tmp_path):
    create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b2", n_prompts=1), slug="outsiders-own",
                             owner=outsider)
    for user, sees_outsiders in ((owner, False), (collaborator, False), (outsider, True)):
        client.force_login(user)
        content = client.get(reverse("dashboard:study_list")).content.decode()
        assert ("/studies/s1/" in content) is (not sees_outsiders)
        assert ("/studies/outsiders-own/" in content) is sees_outsiders


@pytest.mark.parametrize("name", STUDY_PAGES)
def test_an_outsider_gets_404_on_every_study_page(client, outsider, study, name):
    client.force_login(outsider)
    assert client.get(reverse(name, args=[study.slug])).status_code == 404


@pytest.mark.parametrize("name", STUDY_ACTIONS)
def test_an_outsider_gets_404_on_every_study_action(client, outsider, study, name):
    client.force_login(outsider)
    response = client.post(reverse(name, args=[study.slug]), {"status": "live", "action": "add", "username": "outsider"})
    assert response.status_code == 404
    study.refresh_from_db()
    assert study.status == "draft"
    assert not study.members.filter(username="outsider").exists()


@pytest.mark.parametrize("user_fixture", ["owner", "collaborator"])
def test_owner_and_collaborator_can_open_the_study_page(client, study, user_fixture, request):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.get(reverse("dashboard:study_detail", args=[study.slug]))
    assert response.status_code == 200
    assert b"First study" in response.content


def test_an_unknown_study_is_a_404(client, owner):
    client.force_login(owner)
    assert client.get("/studies/no-such-study/").status_code == 404
