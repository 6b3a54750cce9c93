"""results.services.refresh_report: builds the report files from a study's votes (called directly)."""
import json

import pytest
from django.conf import settings
from results.models import StudyReport
from results.services import ReportBusy, refresh_report, report_dir, report_file
from results.tasks import refresh_report as refresh_task

from tests.platform.annotate_study import make_study

pytestmark = pytest.mark.django_db


def _vote_all(study, add_vote, pattern=("left", "right", "left", "tie")):
    for n, comparison in enumerate(study.comparisons.all()):
        for j, annot in enumerate(("ann-a", "ann-b", "ann-c")):
            add_vote(comparison, "overall", annot, pattern[(n + j) % len(pattern)], swap=bool(j % 2))


@pytest.fixture
def voted(owner, add_vote):
    study = make_study(owner, slug="rep", n_prompts=3, seeds=(0, 1))
    study.systems.filter(key="fp16").update(metrics={"jaq": 0.5, "fid": 20.0})
    study.systems.filter(key="w4a8").update(metrics={"jaq": 0.3, "fid": 30.0})
    study.systems.filter(key="w4a8-qsched").update(metrics={"jaq": 0.45, "fid": 22.0})
    _vote_all(study, add_vote)
    return study


def test_it_writes_the_summary_tables_and_plots(voted):
    report = refresh_report(study=voted, n_bootstrap=50)
    assert report.status == StudyReport.Status.OK and report.refreshed_at is not None
    assert report.n_votes == 3 * 6 * 3
    for name in ("summary.json", "win_rates.csv", "agreement.csv", "bt_overall.png", "bt_overall.svg"):
        assert name in report.files and report_file(voted, name) is not None
    summary = json.loads((report_dir(voted) / "summary.json").read_text())
    assert summary["format"] == "qsched-analysis/1" and summary["n_votes"] == 54
    assert {r["metric"] for r in summary["by_criterion"]["overall"]["correlation"]} >= {"jaq", "fid"}
    assert report.headline["overall"]["bradley_terry"][0]["system"] in {"fp16", "w4a8", "w4a8-qsched"}
    assert StudyReport.objects.get(study=voted).building_since is None


def test_a_study_without_votes_is_reported_as_empty(owner):
    study = make_study(owner, slug="novotes")
    report = refresh_report(study=study, n_bootstrap=10)
    assert report.status == StudyReport.Status.EMPTY and report.message == "no votes yet"
    assert report_file(study, "summary.json") is None


def test_a_refresh_replaces_the_previous_files(voted, add_vote):
    first = refresh_report(study=voted, n_bootstrap=20, plots=False)
    comparison = voted.comparisons.first()
    add_vote(comparison, "overall", "ann-late", "left")
    second = refresh_report(study=voted, n_bootstrap=20, plots=False)
    assert second.n_votes == first.n_votes + 1
    assert json.loads((report_dir(voted) / "summary.json").read_text())["n_votes"] == second.n_votes
    leftovers = [p.name for p in report_dir(voted).parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_report_being_built_elsewhere_is_not_built_twice(voted):
    from django.utils import timezone

    report = StudyReport.objects.create(study=voted, building_since=timezone.now(), building_by="task-a")
    with pytest.raises(ReportBusy, match="being built by task-a") as busy:
        refresh_report(study=voted, n_bootstrap=10)
    assert busy.value.retry_after == settings.QSCHED_REPORT_LEASE_S
    assert report_file(voted, "summary.json") is None
    report.refresh_from_db()
    assert report.building_since is not None and report.building_by == "task-a"
    assert report.status == StudyReport.Status.NONE


def test_a_lease_not_renewed_for_its_length_is_taken_over(voted):
    from datetime import timedelta

    from django.utils import timezone

    lapsed = timezone.now() - timedelta(seconds=settings.QSCHED_REPORT_LEASE_S + 1)
    StudyReport.objects.create(study=voted, building_since=lapsed, building_by="a-killed-worker")
    assert refresh_report(study=voted, n_bootstrap=10, plots=False, holder="task-b").status == StudyReport.Status.OK
    report = StudyReport.objects.get(study=voted)
    assert (report.building_since, report.building_by) == (None, "")


def test_a_redelivered_task_takes_over_its_own_live_lease_at_once(voted):
    from django.utils import timezone

    StudyReport.objects.create(study=voted, building_since=timezone.now(), building_by="task-c")
    assert refresh_report(study=voted, n_bootstrap=10, plots=False, holder="task-c").status == StudyReport.Status.OK


def test_unsafe_file_names_are_never_resolved(voted):
    refresh_report(study=voted, n_bootstrap=10, plots=False)
    for name in ("../rep/summary.json", "..", ".hidden.json", "summary.exe", "a/b.csv"):
        assert report_file(voted, name) is None


def test_the_task_is_a_thin_wrapper(voted):
    from django.test import override_settings

    with override_settings(QSCHED_REPORT_BOOTSTRAP=10, QSCHED_REPORT_PLOTS=False):
        assert refresh_task(voted.pk) == "ok"
    assert refresh_task(999999) is None


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_a_build_runs(owner, add_vote, monkeypatch, settings):
    """A build longer than its lease keeps it: a thread moves building_since forward meanwhile."""
    import time

    import analysis.report

    settings.QSCHED_REPORT_LEASE_S = 3
    study = make_study(owner, slug="slow", n_prompts=1)
    _vote_all(study, add_vote)
    real_write = analysis.report.write_report
    seen = {}

    def slow_write(*args, **kwargs):
        seen["claimed"] = StudyReport.objects.get(study=study).building_since
        time.sleep(4)  # longer than the lease
        seen["later"] = StudyReport.objects.get(study=study).building_since
        return real_write(*args, **kwargs)

    monkeypatch.setattr(analysis.report, "write_report", slow_write)
    assert refresh_report(study=study, n_bootstrap=10, plots=False).status == StudyReport.Status.OK
    assert (seen["later"] - seen["claimed"]).total_seconds() >= 0.9
    assert StudyReport.objects.get(study=study).building_since is None
