"""The pages in a real headless Chromium read the API's refusals as {"detail", "code"}: the voting page
(vote.js) tells them apart by ``code``, not by HTTP status (two 409s with different codes lead to
different pages); the power calculator shows ``detail``."""
import json

import pytest

from annotate.models import Vote

from .test_e2e_browser import _shown_assignment, browser  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _refuse(status: int, code: str, detail: str):
    def fulfill(route):
        route.fulfill(status=status, content_type="application/json", body=json.dumps({"detail": detail, "code": code}))
    return fulfill


def test_a_vote_refused_409_already_voted_moves_on_to_the_next_pair(make_live_study, live_server, browser):  # noqa: F811
    make_live_study(n_prompts=2)
    page = browser.new_page()
    page.route("**/api/assignments/*/vote", _refuse(409, "already_voted", "this task already has a different vote"))
    page.goto(f"{live_server.url}/a/demo/")
    page.wait_for_selector("#consent:not([hidden])")
    page.click("#start")
    page.wait_for_selector("body[data-ready='true']")
    first = _shown_assignment(page)
    page.keyboard.press("1")
    page.wait_for_selector("body[data-ready='true']")
    assert _shown_assignment(page).id != first.id
    assert page.locator("#message:not([hidden])").count() == 0
    assert Vote.objects.count() == 0  # the refusal came from the route: nothing reached the server


def test_a_join_refused_409_quota_exhausted_says_the_quota_is_used_up(make_live_study, live_server, browser):  # noqa: F811
    make_live_study(n_prompts=2)
    page = browser.new_page()
    page.route("**/api/studies/*/sessions", _refuse(409, "quota_exhausted", "you gave this study's quota of votes"))
    page.goto(f"{live_server.url}/a/demo/")
    page.wait_for_selector("#consent:not([hidden])")
    page.click("#start")
    page.wait_for_selector("#message:not([hidden])")
    assert "already answered all the tasks this study allows" in page.inner_text("#message-text")
    assert page.is_hidden("#retry")


def test_a_409_with_another_code_shows_the_servers_words(make_live_study, live_server, browser):  # noqa: F811
    make_live_study(n_prompts=2)
    page = browser.new_page()
    page.route("**/api/session/next*", _refuse(409, "too_many_open_tasks", "2 tasks are open already"))
    page.goto(f"{live_server.url}/a/demo/")
    page.wait_for_selector("#consent:not([hidden])")
    page.click("#start")
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message-text") == "2 tasks are open already"


def test_the_power_calculator_shows_the_apis_refusal(owner, client, live_server, browser):  # noqa: F811
    client.force_login(owner)  # the browser carries this session
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/studies/new")
    result = page.locator("#power-calculator .power-result")
    result.filter(has_text="votes per system pair").wait_for()  # the page asked once with its defaults
    page.fill("[name=power_win_rate]", "1.5")
    page.dispatch_event("[name=power_win_rate]", "change")
    result.filter(has_text="between 0 and 1").wait_for()
    assert "undefined" not in result.inner_text()
