"""The pages in a real headless Chromium read the API's refusals as {"detail", "code"}: the voting page
(vote.js) tells them apart by ``code``, not by HTTP status (two 409s with different codes lead to
different pages); the power calculator shows ``detail``."""
import json

import pytest

from annotate.models import Vote

from tests.platform.browser import shown_assignment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _consented_with_refusal(make_live_study, browser, base_url: str, routed: str, code: str, detail: str):
    """The demo study's voting page, consent given, with requests to ``routed`` refused 409 ``code``."""
    def refuse(route):
        route.fulfill(status=409, content_type="application/json", body=json.dumps({"detail": detail, "code": code}))

    make_live_study(n_prompts=2)
    page = browser.new_page()
    page.route(routed, refuse)
    page.goto(f"{base_url}/a/demo/")
    page.wait_for_selector("#consent:not([hidden])")
    page.click("#start")
    return page


def test_a_vote_refused_409_already_voted_moves_on_to_the_next_pair(make_live_study, live_server, browser):  # noqa: F811
    page = _consented_with_refusal(make_live_study, browser, live_server.url, "**/api/assignments/*/vote",
                                   "already_voted", "this task already has a different vote")
    page.wait_for_selector("body[data-ready='true']")
    first = shown_assignment(page)
    page.keyboard.press("1")
    page.wait_for_selector("body[data-ready='true']")
    assert shown_assignment(page).id != first.id
    assert page.locator("#message:not([hidden])").count() == 0
    assert Vote.objects.count() == 0  # the refusal came from the route: nothing reached the server


@pytest.mark.parametrize("routed, code, detail, message", [
    ("**/api/studies/*/sessions", "quota_exhausted", "you gave this study's quota of votes",
     "You have already answered all the tasks this study allows. Thank you!"),
    ("**/api/session/next*", "too_many_open_tasks", "2 tasks are open already", "2 tasks are open already"),
])
def test_other_409s_end_with_the_message_of_their_code(make_live_study, live_server, browser,  # noqa: F811
                                                       routed, code, detail, message):
    page = _consented_with_refusal(make_live_study, browser, live_server.url, routed, code, detail)
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message-text") == message
    assert page.is_hidden("#retry")


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
