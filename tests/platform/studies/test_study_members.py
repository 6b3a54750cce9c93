"""studies.services.add_member / remove_member: only the owner shares a study."""
import pytest
from django.core.exceptions import PermissionDenied

from studies.services import add_member, remove_member

pytestmark = pytest.mark.django_db


def test_the_owner_adds_and_removes_a_member(imported_study, owner, collaborator):
    assert add_member(study=imported_study, username="collaborator", by=owner) == collaborator
    assert list(imported_study.members.all()) == [collaborator]
    remove_member(study=imported_study, username="collaborator", by=owner)
    assert imported_study.members.count() == 0


def test_a_member_may_not_add_others(imported_study, owner, collaborator, outsider):
    add_member(study=imported_study, username="collaborator", by=owner)
    with pytest.raises(PermissionDenied, match="only the owner"):
        add_member(study=imported_study, username="outsider", by=collaborator)
    with pytest.raises(PermissionDenied):
        remove_member(study=imported_study, username="collaborator", by=collaborator)
    assert list(imported_study.members.all()) == [collaborator]


@pytest.mark.parametrize("username, words", [
    ("nobody", "no user named 'nobody'"), ("owner", "owns the study already"),
])
def test_it_refuses_unknown_users_and_the_owner(imported_study, owner, username, words):
    with pytest.raises(ValueError, match=words):
        add_member(study=imported_study, username=username, by=owner)


def test_it_refuses_adding_a_member_twice_and_removing_a_non_member(imported_study, owner, collaborator, outsider):
    add_member(study=imported_study, username="collaborator", by=owner)
    with pytest.raises(ValueError, match="already a member"):
        add_member(study=imported_study, username="collaborator", by=owner)
    with pytest.raises(ValueError, match="not a member"):
        remove_member(study=imported_study, username="outsider", by=owner)
