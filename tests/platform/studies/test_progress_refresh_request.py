"""studies.tasks.request_progress_refresh: queued after commit, at most once per debounce window."""
from datetime import timedelta

import pytest

from studies.models import Study
from studies.tasks import refresh_progress, request_progress_refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(refresh_progress, "apply_async", lambda args, countdown: calls.append((args, countdown)))
    return calls


def test_nothing_is_queued_before_the_transaction_commits(imported_study, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_progress_refresh(imported_study)
    assert sent == [] and len(callbacks) == 1


def test_a_refresh_is_queued_after_commit_with_the_debounce_delay(imported_study, sent, settings,
                                                                     django_capture_on_commit_callbacks):
    settings.QSCHED_PROGRESS_DEBOUNCE_S = 4
    with django_capture_on_commit_callbacks(execute=True):
        request_progress_refresh(imported_study)
    assert sent == [([imported_study.pk], 4)]
    assert Study.objects.get(pk=imported_study.pk).progress_requested_at is not None


def test_requests_within_the_window_queue_only_one_refresh(imported_study, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            request_progress_refresh(imported_study)
    assert len(sent) == 1


def test_a_request_after_the_window_queues_again(imported_study, sent, settings, django_capture_on_commit_callbacks):
    settings.QSCHED_PROGRESS_DEBOUNCE_S = 5
    with django_capture_on_commit_callbacks(execute=True):
        request_progress_refresh(imported_study)
    last = Study.objects.get(pk=imported_study.pk).progress_requested_at
    Study.objects.filter(pk=imported_study.pk).update(progress_requested_at=last - timedelta(seconds=6))
    with django_capture_on_commit_callbacks(execute=True):
        request_progress_refresh(imported_study)
    assert len(sent) == 2


def test_importing_a_study_queues_its_first_refresh(owner, bundle_dir, sent, django_capture_on_commit_callbacks):
    from studies.services import create_study_from_bundle

    with django_capture_on_commit_callbacks(execute=True):
        study = create_study_from_bundle(bundle_dir=bundle_dir, slug="fresh", owner=owner)
    assert [args for args, _ in sent] == [[study.pk]]


def test_a_refused_import_queues_nothing(owner, bundle_dir, sent, django_capture_on_commit_callbacks):
    from studies.services import StudyError, create_study_from_bundle

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(StudyError):
            create_study_from_bundle(bundle_dir=bundle_dir, slug="fresh", owner=owner, votes_per_pair=0)
    assert sent == [] and callbacks == []
