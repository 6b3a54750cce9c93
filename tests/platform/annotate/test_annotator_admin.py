"""Django admin pages for annotators, sessions, assignments and votes."""
import pytest
from django.contrib.auth import get_user_model

from annotate import services

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["annotator", "annotatorsession", "assignment", "vote"])
def test_the_admin_lists_and_opens_each_annotate_model(make_live_study, client, model):
    study = make_live_study()
    annotator, _ = services.start_session(study=study, external_id="P1")
    assignment = services.next_assignment(annotator=annotator)
    vote, _ = services.record_vote(annotator=annotator, assignment_public_id=assignment.public_id,
                                   choice="left", response_ms=5)
    objects = {"annotator": annotator, "annotatorsession": annotator.sessions.get(), "assignment": assignment,
               "vote": vote}
    admin = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    listing = client.get(f"/admin/annotate/{model}/")
    assert listing.status_code == 200
    assert client.get(f"/admin/annotate/{model}/{objects[model].pk}/change/").status_code == 200
