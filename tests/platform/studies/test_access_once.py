"""Who may do what with a study is declared once (studies.access); the dashboard, the researcher API,
the results pages and API, the services and the admin all answer as it says."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.test import Client

from annotate import services as annotate_services
from studies.access import can_access, can_manage_members
from studies.services import add_member, create_study_from_bundle, set_status

from tests.platform.bundles import write_bundle

pytestmark = pytest.mark.django_db

# Written out from the README: owner, members and superusers see and run a study; only the owner
# (or a superuser) manages its members; anyone else is told the study does not exist.
ROLES = {"owner": (True, True), "member": (True, False), "superuser": (True, True), "outsider": (False, False)}


@pytest.fixture
def people(imported_study, owner, collaborator, outsider):
    imported_study.members.add(collaborator)
    root = get_user_model().objects.create_superuser("root", password="root-pass-123")
    return {"owner": owner, "member": collaborator, "superuser": root, "outsider": outsider}


def _pages(slug: str) -> list[str]:
    return [f"/studies/{slug}/", f"/studies/{slug}/progress.json", f"/studies/{slug}/export?format=csv",
            f"/studies/{slug}/question", f"/studies/{slug}/prompts", f"/api/studies/{slug}",
            f"/api/studies/{slug}/votes", f"/api/studies/{slug}/report"]


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_and_api_answers_as_the_rule_says(imported_study, people, role):
    user = people[role]
    sees, manages = ROLES[role]
    assert (can_access(user, imported_study), can_manage_members(user, imported_study)) == (sees, manages)
    client = Client()
    client.force_login(user)
    for url in _pages(imported_study.slug):
        assert client.get(url).status_code == (200 if sees else 404), url
    if sees:
        page = client.get(f"/studies/{imported_study.slug}/").content.decode()
        assert ('name="action" value="add"' in page) == manages


@pytest.mark.parametrize("role", list(ROLES))
def test_the_services_refuse_as_the_rule_says(imported_study, people, role):
    user = people[role]
    sees, manages = ROLES[role]
    if sees:
        set_status(study=imported_study, status="live", by=user)
    else:
        with pytest.raises(PermissionDenied):
            set_status(study=imported_study, status="live", by=user)
    if manages:
        get_user_model().objects.create_user("newcomer")
        assert add_member(study=imported_study, username="newcomer", by=user).username == "newcomer"
    else:
        with pytest.raises(PermissionDenied):
            add_member(study=imported_study, username="outsider", by=user)


def test_staff_see_in_the_annotate_admin_only_their_studies_votes(imported_study, tmp_path, collaborator, owner):
    other = create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "o", n_prompts=1), slug="their-study",
                                     owner=collaborator, launch=True)
    set_status(study=imported_study, status="live", by=owner)
    for study, pid in ((imported_study, "P-mine"), (other, "P-theirs")):
        annotator, _ = annotate_services.start_session(study=study, external_id=pid)
        assignment = annotate_services.next_assignment(annotator=annotator)
        annotate_services.record_vote(annotator=annotator, assignment_public_id=assignment.public_id,
                                      choice="left", response_ms=900)
    collaborator.is_staff = True
    collaborator.save()
    collaborator.user_permissions.set(Permission.objects.filter(
        codename__in=["view_annotator", "view_annotatorsession", "view_assignment", "view_vote"]))
    client = Client()
    client.force_login(collaborator)
    for model in ("annotator", "annotatorsession", "assignment", "vote"):
        listing = client.get(f"/admin/annotate/{model}/")
        assert listing.status_code == 200 and listing.context["cl"].result_count == 1, model
    annotators = client.get("/admin/annotate/annotator/").content.decode()
    assert "P-theirs" in annotators and "P-mine" not in annotators


def test_staff_see_in_the_results_admin_only_their_studies_reports(imported_study, tmp_path, collaborator):
    from results.services import ensure_report

    other = create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "o", n_prompts=1), slug="their-study",
                                     owner=collaborator)
    for study in (imported_study, other):
        ensure_report(study)
    collaborator.is_staff = True
    collaborator.save()
    collaborator.user_permissions.set(Permission.objects.filter(codename="view_studyreport"))
    client = Client()
    client.force_login(collaborator)
    listing = client.get("/admin/results/studyreport/")
    assert listing.status_code == 200 and listing.context["cl"].result_count == 1
    assert "their-study" in listing.content.decode() and "demo-study" not in listing.content.decode()
