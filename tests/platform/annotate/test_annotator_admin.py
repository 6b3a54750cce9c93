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


def _voted(study, name, n):
    """An annotator who cast ``n`` regular votes (left each time)."""
    annotator, _ = services.start_session(study=study, external_id=name)
    for _ in range(n):
        task = services.next_assignment(annotator=annotator)
        services.record_vote(annotator=annotator, assignment_public_id=task.public_id, choice="left",
                             response_ms=900)
    return annotator


def _admin(client):
    root = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)


def _change_form_data(annotator, **changes):
    """The admin change form's fields for ``annotator``, as the page would post them, with ``changes``."""
    data = {"study": annotator.study_id, "pseudonym": annotator.pseudonym, "external_id": annotator.external_id,
            "crowd_study_id": annotator.crowd_study_id, "crowd_session_id": annotator.crowd_session_id,
            "_save": "Save"}
    if annotator.excluded:
        data["excluded"] = "on"
    for key, value in changes.items():
        if value is False:
            data.pop(key, None)
        else:
            data[key] = "on" if value is True else value
    return data


def _counts(study):
    from studies.models import WorkItem

    return {w.id: (w.votes, w.reserved) for w in WorkItem.objects.filter(study=study)}


def test_excluding_in_the_admin_gives_the_work_back_as_failed_checks_do(make_live_study, client):
    from annotate.models import Annotator

    study = make_live_study(k=2, n_prompts=3, attention_check_rate=0.0)
    bad = _voted(study, "BOT", 3)
    bad.refresh_from_db()
    before = _counts(study)
    touched = {item for item, (votes, _) in before.items() if votes}
    assert sum(v for v, _ in before.values()) == 3 and len(touched) == 3
    _admin(client)
    response = client.post(f"/admin/annotate/annotator/{bad.pk}/change/", _change_form_data(bad, excluded=True))
    assert response.status_code == 302, response.content[:2000]
    bad.refresh_from_db()
    assert bad.excluded and bad.regular_votes == 3  # the counter is not the form's to change
    after = _counts(study)
    assert all(after[i] == (before[i][0] - 1, before[i][1] - 1) for i in touched)  # the slots are free again
    # saving the form again (excluded still ticked) reopens nothing twice
    client.post(f"/admin/annotate/annotator/{bad.pk}/change/", _change_form_data(bad))
    assert _counts(study) == after
    # a real annotator is now dealt those items again
    good = _voted(study, "HUMAN", 3)
    assert Annotator.objects.get(pk=good.pk).regular_votes == 3


def test_the_list_checkbox_excludes_the_same_way(make_live_study, client):
    study = make_live_study(k=2, n_prompts=3, attention_check_rate=0.0)
    bad = _voted(study, "BOT", 2)
    before = _counts(study)
    _admin(client)
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(bad.pk),
            "form-0-excluded": "on", "_save": "Save"}
    response = client.post("/admin/annotate/annotator/", data)
    assert response.status_code == 302, response.content[:2000]
    bad.refresh_from_db()
    assert bad.excluded
    assert sum(v for v, _ in _counts(study).values()) == sum(v for v, _ in before.values()) - 2


def test_an_exclusion_cannot_be_undone_in_the_admin(make_live_study, client):
    study = make_live_study(k=2, n_prompts=3, attention_check_rate=0.0)
    bad = _voted(study, "BOT", 2)
    _admin(client)
    client.post(f"/admin/annotate/annotator/{bad.pk}/change/", _change_form_data(bad, excluded=True))
    bad.refresh_from_db()
    counts = _counts(study)
    response = client.post(f"/admin/annotate/annotator/{bad.pk}/change/",
                           _change_form_data(bad, excluded=False, external_id="renamed"))
    assert response.status_code == 200 and b"cannot be undone" in response.content
    bad.refresh_from_db()
    assert bad.excluded and bad.external_id == "BOT" and _counts(study) == counts  # nothing written


def test_staff_cannot_exclude_an_annotator_of_a_study_they_do_not_run(make_live_study, client):
    from django.contrib.auth.models import Permission

    theirs = make_live_study(slug="theirs", k=2, n_prompts=3, attention_check_rate=0.0)
    other = _voted(theirs, "P1", 2)
    counts = _counts(theirs)
    staff = get_user_model().objects.create(username="staff", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_annotator", "change_annotator"]))
    client.force_login(staff)
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(other.pk),
            "form-0-excluded": "on", "_save": "Save"}
    client.post("/admin/annotate/annotator/", data)  # the list's checkbox, forged for someone else's study
    assert client.get(f"/admin/annotate/annotator/{other.pk}/change/").status_code in (302, 404)
    client.post(f"/admin/annotate/annotator/{other.pk}/change/", _change_form_data(other, excluded=True))
    other.refresh_from_db()
    assert not other.excluded and _counts(theirs) == counts  # nothing written
