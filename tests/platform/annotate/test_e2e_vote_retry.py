"""The voting page (vote.js) in a real headless Chromium resends a vote answered 503 after its Retry-After,
with the very same body, so the vote is recorded once."""
import json
import time

import pytest

from annotate.models import Vote

from tests.platform.browser import shown_assignment

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_vote_answered_503_is_resent_after_retry_after_with_the_same_body(make_live_study, live_server, browser):  # noqa: F811
    make_live_study(n_prompts=2)
    page = browser.new_page()
    sent = []  # (monotonic time, body) of every vote request that left the page

    def busy_once(route):
        sent.append((time.monotonic(), route.request.post_data))
        if len(sent) == 1:  # what the server answers when its database is busy
            route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/json",
                          body=json.dumps({"detail": "the database is busy", "code": "busy"}))
        else:
            route.continue_()

    page.route("**/api/assignments/*/vote", busy_once)
    page.goto(f"{live_server.url}/a/demo/")
    page.wait_for_selector("#consent:not([hidden])")
    page.click("#start")
    page.wait_for_selector("body[data-ready='true']")
    shown = shown_assignment(page)
    page.keyboard.press("1")
    # Playwright's sync API answers routed requests only while the test calls into it: wait in the page.
    deadline = time.monotonic() + 30
    while not Vote.objects.filter(assignment=shown).exists() and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    vote = Vote.objects.filter(assignment=shown).first()
    assert vote is not None, f"the vote was not resent; requests: {sent}"
    page.wait_for_selector("body[data-ready='true']")  # and the page moved on to the next pair
    assert len(sent) == 2
    assert sent[0][1] == sent[1][1] and json.loads(sent[0][1])["choice"] == "left"
    assert sent[1][0] - sent[0][0] >= 0.9  # waited for Retry-After
    assert vote.choice == "left" and Vote.objects.count() == 1
    assert page.locator("#message:not([hidden])").count() == 0  # no error shown to the annotator
