"""Repeated-pair attention checks (annotate.attention): issuing, scoring, exclusion, settings."""
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from annotate import attention, services
from annotate.models import Annotator, Assignment, Vote
from studies.errors import StudyError
from studies.export import votes_dataframe
from studies.models import Study, WorkItem
from studies.services import create_study_from_bundle

pytestmark = pytest.mark.django_db


class ScriptedRng:
    """Stands in for ``annotate.attention._rng``: ``random()`` returns the scripted draws in turn."""

    def __init__(self, draws):
        self.draws = list(draws)
        self.used = 0

    def random(self) -> float:
        value = self.draws[self.used % len(self.draws)]
        self.used += 1
        return value

    def choice(self, seq):
        return seq[0]


@pytest.fixture
def rng(monkeypatch):
    def install(draws):
        scripted = ScriptedRng(draws)
        monkeypatch.setattr(attention, "_rng", scripted)
        return scripted
    return install


def _annotator(study, name="P1") -> Annotator:
    return services.start_session(study=study, external_id=name)[0]


def _vote(annotator, assignment, choice="left"):
    return services.record_vote(annotator=annotator, assignment_public_id=assignment.public_id,
                                choice=choice, response_ms=900)


def _original(check: Assignment) -> Vote:
    return check.repeat_of


def _consistent_choice(check: Assignment) -> str:
    """The side of the check that shows the system the repeated vote chose (or tie)."""
    winner = _original(check).winner_id
    if winner is None:
        return "tie"
    return "left" if check.left_image.system_id == winner else "right"


def _inconsistent_choice(check: Assignment) -> str:
    return {"left": "right", "right": "left", "tie": "left"}[_consistent_choice(check)]


def _run(annotator, answer_check=_consistent_choice, limit=200) -> list[Assignment]:
    """Ask for tasks and vote until 204; return the assignments in the order they came."""
    seen = []
    for _ in range(limit):
        task = services.next_assignment(annotator=annotator)
        if task is None:
            return seen
        seen.append(task)
        _vote(annotator, task, answer_check(task) if task.attention_check else "left")
    raise AssertionError("the annotator never ran out of tasks")


def test_no_check_comes_before_the_minimum_number_of_votes(make_live_study, rng):
    study = make_live_study(attention_check_rate=0.5, attention_min_votes_before_check=3)
    rng([0.0])  # every draw would give a check
    annotator = _annotator(study)
    kinds = [task.attention_check for task in _run(annotator)[:4]]
    assert kinds == [False, False, False, True]


def test_checks_follow_the_draws_at_the_configured_rate(make_live_study, rng):
    study = make_live_study(n_prompts=4, attention_check_rate=0.25, attention_min_votes_before_check=1)
    scripted = rng([0.1, 0.9, 0.3, 0.2, 0.6, 0.24, 0.25, 0.7])
    tasks = _run(_annotator(study))
    # A draw below the rate gives a check; request 1 draws nothing (no vote yet).
    assert [t.attention_check for t in tasks[:9]] == [False, True, False, False, True, False, True, False, False]
    # One draw per request after the first (request 1 has no vote yet), the last one (204) included.
    assert scripted.used == len(tasks)
    assert len(tasks) - sum(t.attention_check for t in tasks) == 12


def test_rate_zero_gives_no_checks(make_live_study, rng):
    study = make_live_study(attention_check_rate=0.0, attention_min_votes_before_check=1)
    scripted = rng([0.0])
    tasks = _run(_annotator(study))
    assert len(tasks) == 6 and not any(t.attention_check for t in tasks)  # 3 system pairs x 2 prompts
    assert scripted.used == 0
    assert not Vote.objects.filter(attention_check=True).exists()


def test_a_check_repeats_an_earlier_pair_with_the_sides_swapped(make_live_study, rng):
    study = make_live_study(attention_check_rate=0.5, attention_min_votes_before_check=2)
    rng([0.0])
    annotator = _annotator(study)
    tasks = _run(annotator)
    check = next(t for t in tasks if t.attention_check)
    original = check.repeat_of
    assert original.annotator == annotator and not original.attention_check
    assert check.work_item_id == original.assignment.work_item_id
    assert (check.left_image_id, check.right_image_id) == (original.assignment.right_image_id,
                                                           original.assignment.left_image_id)
    # The first chance comes at request 3; the vote just given (request 2's) is not repeated at once.
    assert tasks.index(check) == 2 and original.assignment == tasks[0]


def test_checks_leave_work_items_with_exactly_k_regular_votes_from_k_annotators(make_live_study, rng):
    study = make_live_study(k=2, n_prompts=3, attention_check_rate=0.5, attention_min_votes_before_check=1)
    rng([0.0, 0.7])
    for name in ("P1", "P2", "P3"):
        _run(_annotator(study, name))
    checks = Vote.objects.filter(attention_check=True)
    assert checks.count() > 0
    assert all(v.assignment.attention_check and v.assignment.repeat_of_id for v in checks)
    for item in WorkItem.objects.filter(study=study):
        regular = Vote.objects.filter(assignment__work_item=item, attention_check=False)
        assert (item.votes, item.reserved, regular.count()) == (2, 2, 2)
        assert regular.values("annotator").distinct().count() == 2
    frame = votes_dataframe(study)
    assert frame["attention_check"].sum() == checks.count()
    assert len(frame) == 2 * WorkItem.objects.filter(study=study).count() + checks.count()


def test_failing_the_threshold_excludes_the_annotator_and_the_export_shows_it(make_live_study, rng):
    study = make_live_study(n_prompts=4, attention_check_rate=0.5, attention_min_votes_before_check=1,
                            exclude_after_failed_checks=2)
    rng([0.0, 0.9])
    annotator = _annotator(study, "careless")
    honest = _annotator(study, "careful")
    tasks = _run(annotator, answer_check=_inconsistent_choice)
    _run(honest)
    annotator.refresh_from_db()
    assert (annotator.checks_failed, annotator.excluded) == (2, True)
    assert sum(t.attention_check for t in tasks) == 2  # excluded at the 2nd failure: no new tasks after it
    assert services.next_assignment(annotator=annotator) is None
    assert services.finish(annotator=annotator)["done"] == len(tasks)
    frame = votes_dataframe(study)
    assert set(frame.loc[frame["annotator_excluded"], "annotator"]) == {annotator.pseudonym}
    assert list(Vote.objects.filter(annotator=annotator, attention_check=True)
                .values_list("check_passed", flat=True)) == [False, False]


def test_passing_checks_keeps_the_annotator(make_live_study, rng):
    study = make_live_study(n_prompts=4, attention_check_rate=0.5, attention_min_votes_before_check=1)
    rng([0.0, 0.9])
    annotator = _annotator(study)
    tasks = _run(annotator)
    annotator.refresh_from_db()
    n_checks = sum(t.attention_check for t in tasks)
    assert n_checks >= 3
    assert (annotator.checks_passed, annotator.checks_failed, annotator.excluded) == (n_checks, 0, False)
    assert attention.check_summary(study) == {"issued": n_checks, "answered": n_checks, "passed": n_checks,
                                              "failed": 0, "annotators_excluded": 0,
                                              "annotators_with_extra_sessions": 0}


def test_exclusion_zero_never_excludes(make_live_study, rng):
    study = make_live_study(n_prompts=4, attention_check_rate=0.5, attention_min_votes_before_check=1,
                            exclude_after_failed_checks=0)
    rng([0.0, 0.9])
    annotator = _annotator(study)
    tasks = _run(annotator, answer_check=_inconsistent_choice)
    annotator.refresh_from_db()
    assert annotator.checks_failed == sum(t.attention_check for t in tasks) >= 3 and not annotator.excluded


@pytest.mark.parametrize("first, second, passed", [("tie", "tie", True), ("tie", "left", False),
                                                   ("left", "tie", False)])
def test_a_tie_is_consistent_only_with_a_tie(make_live_study, rng, first, second, passed):
    study = make_live_study(attention_check_rate=0.5, attention_min_votes_before_check=1)
    rng([0.9, 0.0])  # request 2 draws 0.9 (regular), request 3 draws 0.0 (a check)
    annotator = _annotator(study)
    for choice in (first, first):
        _vote(annotator, services.next_assignment(annotator=annotator), choice)
    check = services.next_assignment(annotator=annotator)
    assert check.attention_check
    vote, _ = _vote(annotator, check, second)
    vote.refresh_from_db()
    assert vote.check_passed is passed


def test_a_retried_check_vote_is_counted_once(make_live_study, rng):
    study = make_live_study(attention_check_rate=0.5, attention_min_votes_before_check=1)
    rng([0.0])
    annotator = _annotator(study)
    _vote(annotator, services.next_assignment(annotator=annotator), "left")
    check = services.next_assignment(annotator=annotator)
    assert check.attention_check
    item_counts = (check.work_item.votes, check.work_item.reserved)
    first, created = _vote(annotator, check, "left")  # sides swapped: "left" again is inconsistent
    again, created_again = _vote(annotator, check, "left")
    assert (created, created_again, again.pk) == (True, False, first.pk)
    annotator.refresh_from_db()
    check.work_item.refresh_from_db()
    assert annotator.checks_failed == 1 and Vote.objects.filter(assignment=check).count() == 1
    assert (check.work_item.votes, check.work_item.reserved) == item_counts == (1, 1)


def test_checks_do_not_use_up_the_quota(make_live_study, rng):
    study = make_live_study(n_prompts=4, quota_per_annotator=5, attention_check_rate=0.5,
                            attention_min_votes_before_check=1)
    rng([0.0, 0.9])
    annotator = _annotator(study)
    tasks = _run(annotator)
    regular = [t for t in tasks if not t.attention_check]
    assert len(regular) == 5 and len(tasks) > 5
    assert services.progress(annotator) == {"done": len(tasks), "total": len(tasks)}


def test_an_expired_check_gives_no_slot_back(make_live_study, rng):
    study = make_live_study(attention_check_rate=0.5, attention_min_votes_before_check=1)
    rng([0.0])
    annotator = _annotator(study)
    _vote(annotator, services.next_assignment(annotator=annotator))
    check = services.next_assignment(annotator=annotator)
    Assignment.objects.filter(id=check.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    reserved_before = sum(WorkItem.objects.values_list("reserved", flat=True))
    nxt = services.next_assignment(annotator=annotator)
    check.refresh_from_db()
    check.work_item.refresh_from_db()
    assert check.status == Assignment.Status.EXPIRED
    assert not nxt.attention_check  # the only checkable vote already had its check
    assert (check.work_item.reserved, check.work_item.votes) == (1, 1)
    assert sum(WorkItem.objects.values_list("reserved", flat=True)) == reserved_before + 1  # just the new claim


def test_the_api_shows_a_check_like_any_other_task(make_live_study, rng, client):
    make_live_study(attention_check_rate=0.5, attention_min_votes_before_check=1)
    rng([0.0])
    token = client.post("/api/studies/demo/sessions", {"external_id": "P9"},
                        content_type="application/json").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    first = client.get("/api/session/next", **auth).json()
    client.post(f"/api/assignments/{first['assignment']}/vote", {"choice": "left", "response_ms": 500},
                content_type="application/json", **auth)
    check = client.get("/api/session/next", **auth).json()
    assert Assignment.objects.get(public_id=check["assignment"]).attention_check
    assert set(check) == set(first)
    assert check["prompt"] == first["prompt"] and check["left"]["url"] != first["right"]["url"]
    text = str({key: value for key, value in check.items() if key not in ("left", "right")})
    assert not any(key in text for key in ("fp16", "w4a8", "attention", "repeat", "check"))
    assert (check["done"], check["total"]) == (1, first["total"] + 1)
    answer = client.post(f"/api/assignments/{check['assignment']}/vote", {"choice": "right", "response_ms": 500},
                         content_type="application/json", **auth)
    assert answer.status_code == 201 and set(answer.json()) == {"vote", "assignment", "choice", "response_ms",
                                                                 "created_at"}


def test_study_settings_come_through_the_import_and_bad_ones_are_refused(owner, bundle_dir):
    study = create_study_from_bundle(bundle_dir=bundle_dir, slug="qc", owner=owner, attention_check_rate=0.2,
                                     attention_min_votes_before_check=5, exclude_after_failed_checks=0)
    assert (study.attention_check_rate, study.attention_min_votes_before_check,
            study.exclude_after_failed_checks) == (0.2, 5, 0)
    with pytest.raises(StudyError, match="attention_check_rate"):
        create_study_from_bundle(bundle_dir=bundle_dir, slug="qc2", owner=owner, attention_check_rate=0.7)
    with pytest.raises(StudyError, match="exclude_after_failed_checks"):
        create_study_from_bundle(bundle_dir=bundle_dir, slug="qc2", owner=owner, exclude_after_failed_checks=-1)
    assert not Study.objects.filter(slug="qc2").exists()
    call_command("import_bundle", str(bundle_dir), "--study", "qc3", "--owner", owner.username,
                 "--attention-check-rate", "0", "--exclude-after-failed-checks", "4", verbosity=0)
    imported = Study.objects.get(slug="qc3")
    assert (imported.attention_check_rate, imported.exclude_after_failed_checks) == (0.0, 4)


def test_the_study_page_and_the_api_detail_show_check_counts(make_live_study, rng, owner):
    study = make_live_study(n_prompts=4, attention_check_rate=0.5, attention_min_votes_before_check=1)
    study.owner = owner
    study.save(update_fields=["owner"])
    rng([0.0, 0.9])
    _run(_annotator(study, "bad"), answer_check=_inconsistent_choice)
    client = Client()
    client.force_login(owner)
    detail = client.get(f"/api/studies/{study.slug}").json()
    assert detail["attention_check_rate"] == 0.5
    assert detail["attention_checks"] == {"issued": 2, "answered": 2, "passed": 0, "failed": 2,
                                          "annotators_excluded": 1, "annotators_with_extra_sessions": 0}
    page = client.get(f"/studies/{study.slug}/").content.decode()
    assert '<strong class="checks-issued">2</strong>' in page
    assert '<strong class="annotators-excluded">1</strong>' in page


def test_an_excluded_annotators_votes_stay_out_of_the_result_table(make_live_study, rng):
    from studies.progress import compute_progress

    study = make_live_study(n_prompts=4, attention_check_rate=0.5, attention_min_votes_before_check=1)
    rng([0.0, 0.9])
    _run(_annotator(study, "bad"), answer_check=_inconsistent_choice)
    counted = Counter()
    for row in compute_progress(study)["pair_table"]:
        counted[row["criterion"]] += row["a_wins"] + row["b_wins"] + row["ties"]
    assert sum(counted.values()) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_annotators_at_once_with_checks_on_still_give_each_item_exactly_k_regular_votes(make_live_study, rng):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.fail(f"this test needs PostgreSQL (DATABASE_URL=postgres://...), not {connection.vendor}")
    study = make_live_study(n_prompts=4, k=3, attention_check_rate=0.5, attention_min_votes_before_check=1)
    rng([0.0, 0.9, 0.3])
    barrier, errors = threading.Barrier(10), []

    def work(i):
        try:
            annotator = _annotator(study, f"P{i}")
            barrier.wait(timeout=60)
            _run(annotator, answer_check=_consistent_choice if i % 2 else _inconsistent_choice)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    items = WorkItem.objects.filter(study=study)
    assert set(items.values_list("votes", "reserved")) == {(3, 3)}
    # Exactly k valid votes per item: excluded annotators' slots were re-opened and filled again
    # (annotate.recollect); their votes stay, marked by the exclusion.
    valid = Vote.objects.filter(attention_check=False, annotator__excluded=False)
    assert Counter(valid.values_list("comparison_id", "criterion_id")) == Counter(
        {(c, k): 3 for c, k in items.values_list("comparison_id", "criterion_id")})
    regular = Vote.objects.filter(attention_check=False)
    assert max(Counter(regular.values_list("annotator_id", "comparison_id", "criterion_id")).values()) == 1
    checks = Vote.objects.filter(attention_check=True)
    assert checks.filter(check_passed__isnull=True).count() == 0
    assert checks.values("assignment__repeat_of").distinct().count() == checks.count()
    assert not Assignment.objects.filter(status=Assignment.Status.ISSUED).exists()
