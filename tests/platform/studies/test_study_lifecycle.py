"""studies.services.set_status: draft -> live <-> paused -> closed, nothing else."""
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from studies.models import Study
from studies.services import StudyStateError, set_status

pytestmark = pytest.mark.django_db


def test_it_launches_a_draft_and_stamps_launched_at(imported_study, owner):
    set_status(study=imported_study, status="live", by=owner)
    stored = Study.objects.get(pk=imported_study.pk)
    assert stored.status == "live" and stored.is_live and stored.launched_at is not None


def test_it_pauses_resumes_and_closes(imported_study, owner):
    for status in ("live", "paused", "live", "closed"):
        set_status(study=imported_study, status=status, by=owner)
        assert Study.objects.get(pk=imported_study.pk).status == status
    assert Study.objects.get(pk=imported_study.pk).closed_at is not None


def test_resuming_keeps_the_first_launch_time(imported_study, owner):
    set_status(study=imported_study, status="live", by=owner)
    first = Study.objects.get(pk=imported_study.pk).launched_at
    set_status(study=imported_study, status="paused", by=owner)
    set_status(study=imported_study, status="live", by=owner)
    assert Study.objects.get(pk=imported_study.pk).launched_at == first


def test_a_draft_can_be_closed_without_launching(imported_study, owner):
    set_status(study=imported_study, status="closed", by=owner)
    assert Study.objects.get(pk=imported_study.pk).launched_at is None


@pytest.mark.parametrize("path, refused", [
    ([], "paused"), ([], "draft"), (["live"], "draft"), (["live"], "live"), (["closed"], "live"),
    (["closed"], "paused"), (["live", "paused"], "paused"), (["live", "closed"], "draft"),
])
def test_it_refuses_transitions_that_are_not_allowed(imported_study, owner, path, refused):
    for status in path:
        set_status(study=imported_study, status=status, by=owner)
    before = Study.objects.get(pk=imported_study.pk).status
    with pytest.raises(StudyStateError, match=f"is {before}; it can move to .*not {refused}"):
        set_status(study=imported_study, status=refused, by=owner)
    assert Study.objects.get(pk=imported_study.pk).status == before


def test_it_refuses_an_unknown_status(imported_study, owner):
    with pytest.raises(StudyStateError, match="unknown status 'running'"):
        set_status(study=imported_study, status="running", by=owner)


def test_a_member_may_change_the_status_but_an_outsider_may_not(imported_study, collaborator, outsider):
    imported_study.members.add(collaborator)
    set_status(study=imported_study, status="live", by=collaborator)
    with pytest.raises(PermissionDenied):
        set_status(study=imported_study, status="paused", by=outsider)
    assert Study.objects.get(pk=imported_study.pk).status == "live"


def test_a_superuser_may_change_any_study(imported_study):
    admin = get_user_model().objects.create_superuser("root", password="root-pass-123")
    set_status(study=imported_study, status="live", by=admin)
    assert Study.objects.get(pk=imported_study.pk).status == "live"
