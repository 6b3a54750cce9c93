"""The annotator path costs a fixed, small number of queries per call, whatever the study size.

GET /api/session/next and POST /api/assignments/<id>/vote are what a crowd calls thousands of
times a minute; a query that counts or scans the study would show up here as a higher count on
the larger study. (Inside a test transaction each claim or vote also shows its SAVEPOINT and
RELEASE, which production runs as BEGIN/COMMIT.)
"""
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotate import attention
from annotate.models import Assignment
from studies.models import StudyCounters, WorkItem

from tests.platform.annotate_study import make_bulk_study

pytestmark = pytest.mark.django_db

#: Queries of one call, savepoints included (see the module docstring).
NEXT_NEW_TASK_MAX = 11
NEXT_RESUME_MAX = 6
NEXT_CHECK_MAX = 18
VOTE_MAX = 8
#: A vote on a check also scores it (reads the repeated vote, updates the check and the annotator).
CHECK_VOTE_MAX = 14


@pytest.fixture
def researcher(db):
    return get_user_model().objects.create(username="researcher")


def _join(client, slug, external_id="P1"):
    token = client.post(f"/api/studies/{slug}/sessions", {"external_id": external_id},
                        content_type="application/json").json()["token"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _vote(client, auth, assignment, choice="left"):
    return client.post(f"/api/assignments/{assignment}/vote", {"choice": choice, "response_ms": 700},
                       content_type="application/json", **auth)


def test_asking_for_a_new_task_takes_a_fixed_small_number_of_queries(researcher, client,
                                                                     django_assert_max_num_queries):
    make_bulk_study(researcher, slug="s", n_prompts=20)
    auth = _join(client, "s")
    for _ in range(3):
        with django_assert_max_num_queries(NEXT_NEW_TASK_MAX):
            task = client.get("/api/session/next", **auth)
        assert task.status_code == 200
        assert _vote(client, auth, task.json()["assignment"]).status_code == 201


def test_resuming_an_open_task_takes_fewer_queries(researcher, client, django_assert_max_num_queries):
    make_bulk_study(researcher, slug="s", n_prompts=20)
    auth = _join(client, "s")
    first = client.get("/api/session/next", **auth).json()["assignment"]
    with django_assert_max_num_queries(NEXT_RESUME_MAX):
        again = client.get("/api/session/next", **auth)
    assert again.json()["assignment"] == first


def test_a_vote_takes_a_fixed_small_number_of_queries(researcher, client, django_assert_max_num_queries):
    make_bulk_study(researcher, slug="s", n_prompts=20, k=1)  # k=1: every vote's item is full
    auth = _join(client, "s")
    for _ in range(3):
        assignment = client.get("/api/session/next", **auth).json()["assignment"]
        with django_assert_max_num_queries(VOTE_MAX):
            assert _vote(client, auth, assignment).status_code == 201
        with django_assert_max_num_queries(VOTE_MAX):
            assert _vote(client, auth, assignment).status_code == 200  # a retry


class _AlwaysCheck:
    def random(self):
        return 0.0

    def choice(self, seq):
        return seq[0]


def test_an_attention_check_takes_a_bounded_number_of_queries(researcher, client, monkeypatch,
                                                              django_assert_max_num_queries):
    make_bulk_study(researcher, slug="s", n_prompts=20, attention_check_rate=0.5,
                    attention_min_votes_before_check=2)
    monkeypatch.setattr(attention, "_rng", _AlwaysCheck())
    auth = _join(client, "s")
    for _ in range(2):
        assert _vote(client, auth, client.get("/api/session/next", **auth).json()["assignment"]).status_code == 201
    with django_assert_max_num_queries(NEXT_CHECK_MAX):
        check = client.get("/api/session/next", **auth)
    assert Assignment.objects.get(public_id=check.json()["assignment"]).attention_check
    with django_assert_max_num_queries(CHECK_VOTE_MAX):
        assert _vote(client, auth, check.json()["assignment"]).status_code == 201


def _queries_per_call(client, slug, cycles=4) -> list[tuple[str, int]]:
    """(call, number of queries) for a new annotator's first ``cycles`` next+vote cycles, one repeat."""
    auth = _join(client, slug)
    counts = []
    for _ in range(cycles):
        with CaptureQueriesContext(connection) as next_queries:
            assignment = client.get("/api/session/next", **auth).json()["assignment"]
        with CaptureQueriesContext(connection) as resume_queries:
            client.get(f"/api/session/next?exclude={assignment}", **auth)  # a preload: a second claim
        with CaptureQueriesContext(connection) as vote_queries:
            _vote(client, auth, assignment)
        counts += [("next", len(next_queries)), ("preload", len(resume_queries)), ("vote", len(vote_queries))]
    return counts


def test_queries_per_call_are_the_same_on_a_small_and_a_300_times_larger_study(researcher, client):
    make_bulk_study(researcher, slug="small", n_prompts=10)  # 30 work items
    make_bulk_study(researcher, slug="large", n_prompts=3000)  # 9,000 work items
    small, large = _queries_per_call(client, "small"), _queries_per_call(client, "large")
    assert small == large
    assert max(n for _, n in small) <= NEXT_NEW_TASK_MAX


def test_the_deal_order_is_random_over_the_whole_study_not_the_bundle_order(researcher, client):
    study = make_bulk_study(researcher, slug="s", n_prompts=200)  # ids follow pairs A-B, A-C, B-C per prompt
    pairs, item_ids = set(), []
    for i in range(30):  # thirty annotators' first tasks
        auth = _join(client, "s", f"P{i}")
        assignment = Assignment.objects.select_related("work_item__comparison__image_a__system",
                                                       "work_item__comparison__image_b__system").get(
            public_id=client.get("/api/session/next", **auth).json()["assignment"])
        comparison = assignment.work_item.comparison
        pairs.add((comparison.image_a.system.key, comparison.image_b.system.key))
        item_ids.append(assignment.work_item_id)
    assert len(pairs) == 3  # all three system pairs, not only the first one listed
    assert item_ids != sorted(item_ids)
    # Chance that this fails with a random order: 3 * (2/3)**30 + 1/30! ~ 1.5e-5.
    assert max(item_ids) - min(item_ids) > 100  # spread over the study, not its first items
    assert StudyCounters.objects.get(study=study).work_items == WorkItem.objects.filter(study=study).count()
