"""studies.progress.compute_progress and the refresh_progress task body (called directly)."""
from datetime import timedelta

import pytest

from annotate.models import Vote
from studies.models import Study
from studies.progress import compute_progress
from studies.services import create_study_from_bundle
from studies.tasks import refresh_progress

from tests.platform.bundles import write_bundle

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(tmp_path, owner):
    root = write_bundle(tmp_path / "b", systems=("fp16", "w4a8"), n_prompts=4)
    return create_study_from_bundle(bundle_dir=root, slug="prog", owner=owner, criteria=["overall", "alignment"],
                                    votes_per_pair=3)


def test_an_empty_study_has_its_target_and_nothing_collected(study):
    progress = compute_progress(study)
    assert (progress["target"], progress["collected"]) == (4 * 2 * 3, 0)
    assert progress["by_criterion"] == [
        {"criterion": "overall", "question": "Which image do you prefer overall?", "collected": 0, "target": 12},
        {"criterion": "alignment", "question": "Which image matches the text better?", "collected": 0, "target": 12},
    ]
    assert progress["pair_table"] == [
        {"criterion": "overall", "a": "fp16", "b": "w4a8", "a_wins": 0, "b_wins": 0, "ties": 0},
        {"criterion": "alignment", "a": "fp16", "b": "w4a8", "a_wins": 0, "b_wins": 0, "ties": 0},
    ]
    assert (progress["annotators_total"], progress["annotators_active"]) == (0, 0)


def test_it_counts_votes_wins_and_ties_per_criterion_and_pair(study, add_vote):
    c0, c1, c2, _ = study.comparisons.all()
    add_vote(c0, "overall", "ann1", "left")               # fp16 wins
    add_vote(c0, "overall", "ann2", "left", swap=True)    # w4a8 shown left, wins
    add_vote(c1, "overall", "ann1", "right", swap=True)   # fp16 shown right, wins
    add_vote(c2, "overall", "ann3", "tie")
    add_vote(c0, "alignment", "ann1", "right")            # w4a8 wins
    progress = compute_progress(study)
    assert progress["collected"] == 5
    assert [row["collected"] for row in progress["by_criterion"]] == [4, 1]
    assert progress["pair_table"] == [
        {"criterion": "overall", "a": "fp16", "b": "w4a8", "a_wins": 2, "b_wins": 1, "ties": 1},
        {"criterion": "alignment", "a": "fp16", "b": "w4a8", "a_wins": 0, "b_wins": 1, "ties": 0},
    ]
    assert (progress["annotators_total"], progress["annotators_active"]) == (3, 3)


def test_the_result_table_leaves_out_attention_checks_and_excluded_annotators(study, add_vote):
    c0, c1, *_ = study.comparisons.all()
    add_vote(c0, "overall", "good", "left")
    add_vote(c1, "overall", "good", "left", attention_check=True)
    add_vote(c0, "overall", "bad", "right", excluded=True)
    progress = compute_progress(study)
    # A check fills no slot, and an excluded annotator's vote is not a valid one (annotate.recollect).
    assert (progress["collected"], progress["attention_checks"]) == (1, 1)
    assert progress["pair_table"][0] == {"criterion": "overall", "a": "fp16", "b": "w4a8",
                                              "a_wins": 1, "b_wins": 0, "ties": 0}


def test_only_recent_voters_count_as_active(study, add_vote):
    c0, c1, *_ = study.comparisons.all()
    old = add_vote(c0, "overall", "earlier", "left")
    Vote.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(minutes=11))
    add_vote(c1, "overall", "now", "left")
    progress = compute_progress(study)
    assert (progress["annotators_total"], progress["annotators_active"]) == (2, 1)


def test_the_task_body_stores_progress_on_the_study(study, add_vote):
    add_vote(study.comparisons.first(), "overall", "ann1", "tie")
    assert refresh_progress(study.pk) is True
    stored = Study.objects.get(pk=study.pk)
    assert stored.progress["collected"] == 1 and stored.progress_updated_at is not None


def test_the_task_ignores_a_deleted_study(db):
    assert refresh_progress(987654) is False
