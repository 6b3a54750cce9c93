"""The status moves are declared once (studies.lifecycle): the service makes exactly those moves, the
dashboard offers one button per move and the researcher API lists them."""
import pytest
from django.test import Client

from dashboard.pages import BUTTONS, lifecycle_actions
from studies.lifecycle import TRANSITIONS
from studies.models import Study
from studies.services import StudyStateError, set_status

pytestmark = pytest.mark.django_db

# Written out from the README ("draft->live, live<->paused, draft/live/paused->closed"), not from the code.
MOVES = {"draft": {"live", "closed"}, "live": {"paused", "closed"}, "paused": {"live", "closed"}, "closed": set()}


def _in_status(study: Study, status: str) -> Study:
    Study.objects.filter(pk=study.pk).update(status=status)
    return Study.objects.get(pk=study.pk)


@pytest.mark.parametrize("current", list(MOVES))
def test_the_service_makes_exactly_the_declared_moves(imported_study, owner, current):
    for target in Study.Status.values:
        study = _in_status(imported_study, current)
        if target in MOVES[current]:
            set_status(study=study, status=target, by=owner)
            assert Study.objects.get(pk=study.pk).status == target
        else:
            with pytest.raises(StudyStateError):
                set_status(study=study, status=target, by=owner)
            assert Study.objects.get(pk=study.pk).status == current


@pytest.mark.parametrize("current", list(MOVES))
def test_dashboard_buttons_and_api_list_the_same_moves(imported_study, owner, current):
    study = _in_status(imported_study, current)
    assert {action["status"] for action in lifecycle_actions(study)} == MOVES[current]
    client = Client()
    client.force_login(owner)
    assert set(client.get(f"/api/studies/{study.slug}").json()["next_statuses"]) == MOVES[current]


def test_every_move_has_exactly_one_button_look():
    assert set(BUTTONS) == {(current, target) for current, targets in TRANSITIONS.items() for target in targets}
