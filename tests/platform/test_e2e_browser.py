"""End to end in a real headless Chromium: join, pass consent, vote by keyboard, check the database."""
import os
import time
from pathlib import Path

import pytest
from django.db import connections

from annotate.image_links import read_image_link
from annotate.models import Annotator, Assignment, Vote

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Set QSCHED_SCREENSHOT_DIR to keep PNGs of the voting page (desktop and phone width).
SCREENSHOT_DIR = os.environ.get("QSCHED_SCREENSHOT_DIR")

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, what, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _shown_assignment(page) -> tuple[Assignment, str]:
    """The assignment on screen, read back from the link its left image was fetched from."""
    public_id, side = read_image_link(page.get_attribute("#left-frame img", "data-link").rsplit("/", 1)[1])
    assert side == "left"
    return Assignment.objects.select_related("left_image__system", "right_image__system").get(public_id=public_id)


@pytest.fixture
def browser(monkeypatch):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # ORM calls made while Playwright runs may hold their own connection: close it, or
        # PostgreSQL refuses to drop the test database at the end.
        connections.close_all()


def test_an_annotator_joins_and_votes_by_keyboard(make_live_study, live_server, browser):
    make_live_study(n_prompts=2, consent_text="I agree to take part.", instructions="Pick the better image.",
                    completion_code="DONE-123", quota_per_annotator=2)
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(f"{live_server.url}/a/demo/?PROLIFIC_PID=pid-1&STUDY_ID=st-1&SESSION_ID=se-1")
    page.wait_for_selector("#consent:not([hidden])")
    assert "I agree to take part." in page.inner_text("#consent")
    if SCREENSHOT_DIR:
        page.screenshot(path=f"{SCREENSHOT_DIR}/vote-consent.png", full_page=True)
    page.keyboard.press("Enter")  # the start button has the focus: consent by keyboard too
    page.wait_for_selector("body[data-ready='true']")
    annotator = Annotator.objects.get()
    assert (annotator.external_id, annotator.crowd_study_id, annotator.crowd_session_id) == ("pid-1", "st-1", "se-1")
    assert page.inner_text("#prompt").startswith("prompt ")  # the prompt's markup shown as text
    assert page.locator("#prompt b").count() == 0
    if SCREENSHOT_DIR:
        page.screenshot(path=f"{SCREENSHOT_DIR}/vote-desktop.png", full_page=True)

    first = _shown_assignment(page)
    page.keyboard.press("1")  # left
    vote = _wait_for(lambda: Vote.objects.filter(assignment=first).first(), "the first vote")
    assert (vote.choice, vote.winner_id) == ("left", first.left_image.system_id)
    assert vote.system_left_id == first.left_image.system_id

    page.wait_for_selector("body[data-ready='true']")
    shown_before_reload = _shown_assignment(page)
    page.reload()  # a reload resumes: no second consent, same annotator, the task that was on screen
    page.wait_for_selector("body[data-ready='true']")
    assert page.is_hidden("#consent")
    second = _shown_assignment(page)
    assert second.id == shown_before_reload.id != first.id and second.annotator_id == annotator.id
    assert Annotator.objects.count() == 1
    page.keyboard.press("Tab")  # keyboard alone reaches the vote buttons
    assert page.evaluate("document.activeElement.dataset.choice") == "left"
    if SCREENSHOT_DIR:
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SCREENSHOT_DIR}/vote-phone.png", full_page=True)
    page.keyboard.press("ArrowRight")
    vote = _wait_for(lambda: Vote.objects.filter(assignment=second).first(), "the second vote")
    assert (vote.choice, vote.winner_id) == ("right", second.right_image.system_id)

    page.wait_for_selector("#done:not([hidden])")
    assert page.inner_text("#code") == "DONE-123"
    assert Vote.objects.count() == 2
    if SCREENSHOT_DIR:
        page.screenshot(path=f"{SCREENSHOT_DIR}/vote-done.png", full_page=True)
