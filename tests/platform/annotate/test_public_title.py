"""Finding 4: annotators see a public title, neutral by default; the internal name never reaches them."""
import re

import pytest

from studies.models import DEFAULT_PUBLIC_TITLE, Study

pytestmark = pytest.mark.django_db

INTERNAL = "FP32 vs W4A8 vs W4A8 + Q-Sched (internal)"


def _annotator_responses(client):
    """Every annotator-facing answer of one full cycle: page, join, next, both images, vote, finish."""
    page = client.get("/a/demo/")
    join = client.post("/api/studies/demo/sessions", {}, content_type="application/json")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {join.json()['token']}"}
    task = client.get("/api/session/next", **auth)
    images = [client.get(task.json()[side]["url"], **auth) for side in ("left", "right")]
    vote = client.post(f"/api/assignments/{task.json()['assignment']}/vote", {"choice": "left", "response_ms": 900},
                       content_type="application/json", **auth)
    finish = client.get("/api/session/finish", **auth)
    return page, [join, task, vote, finish], images


def _title_and_heading(html: str) -> tuple[str, str]:
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()
    heading = re.search(r'<h1 class="study-name">(.*?)</h1>', html, re.S).group(1).strip()
    return title, heading


def test_the_internal_name_appears_on_no_annotator_page_or_api_answer(make_live_study, client):
    study = make_live_study(n_prompts=1, quota_per_annotator=1)
    Study.objects.filter(id=study.id).update(name=INTERNAL)
    page, answers, images = _annotator_responses(client)
    assert all(r.status_code in (200, 201) for r in [page, *answers, *images])
    for response in [page, *answers]:
        body = response.content.decode()
        assert INTERNAL not in body and "W4A8" not in body and "Q-Sched" not in body
    assert _title_and_heading(page.content.decode()) == (DEFAULT_PUBLIC_TITLE, DEFAULT_PUBLIC_TITLE)


def test_the_public_title_is_the_pages_title_and_heading(make_live_study, client):
    make_live_study(public_title="Which picture do you like? <b>")
    html = client.get("/a/demo/").content.decode()
    assert _title_and_heading(html) == ("Which picture do you like? &lt;b&gt;",) * 2
    body = client.post("/api/studies/demo/sessions", {}, content_type="application/json").json()
    assert body["title"] == "Which picture do you like? <b>"
