"""An imported bundle (studies.services) filled through the annotator API, then exported (studies.export)."""
import pytest
from django.contrib.auth import get_user_model

from annotate.models import Assignment
from studies.export import votes_dataframe
from studies.models import WorkItem
from studies.services import create_study_from_bundle

from tests.platform.bundles import write_bundle

pytestmark = pytest.mark.django_db


def test_every_imported_item_is_filled_and_exported_with_the_systems_as_shown(tmp_path, client):
    owner = get_user_model().objects.create(username="importer")
    bundle = write_bundle(tmp_path / "bundle", n_prompts=2)  # 3 systems: 6 comparisons
    study = create_study_from_bundle(bundle_dir=bundle, slug="imported", owner=owner, votes_per_pair=2,
                                     criteria=["overall", "quality"], launch=True)
    shown = {}
    for i in range(3):
        token = client.post("/api/studies/imported/sessions", {"external_id": f"P{i}"},
                            content_type="application/json").json()["token"]
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        while (task := client.get("/api/session/next", **auth)).status_code == 200:
            choice = ("left", "right", "tie")[len(shown) % 3]
            response = client.post(f"/api/assignments/{task.json()['assignment']}/vote",
                                   {"choice": choice, "response_ms": 900}, content_type="application/json", **auth)
            assert response.status_code == 201
            shown[task.json()["assignment"]] = choice
        assert task.status_code == 204
    assert set(WorkItem.objects.filter(study=study).values_list("votes", flat=True)) == {2}
    assert len(shown) == 24

    frame = votes_dataframe(study)
    assert len(frame) == 24
    by_vote = {str(a.vote.public_id): a for a in Assignment.objects.select_related(
        "vote", "left_image__system", "right_image__system")}
    for row in frame.itertuples():
        assignment = by_vote[row.vote_id]
        left, right = assignment.left_image.system.key, assignment.right_image.system.key
        assert (row.system_left, row.system_right, row.choice) == (left, right, shown[str(assignment.public_id)])
        assert row.winner == {"left": left, "right": right, "tie": "tie"}[row.choice]
        assert row.annotator.startswith("a-")
