"""End to end in a real headless Chromium: join, pass consent, vote by keyboard, check the database."""
import pytest

from annotate.models import Annotator, Vote
from tests.platform.browser import SCREENSHOT_DIR, shown_assignment, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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

    first = shown_assignment(page)
    page.keyboard.press("1")  # left
    vote = wait_for(lambda: Vote.objects.filter(assignment=first).first(), "the first vote")
    assert (vote.choice, vote.winner_id) == ("left", first.left_image.system_id)
    assert vote.system_left_id == first.left_image.system_id

    page.wait_for_selector("body[data-ready='true']")
    shown_before_reload = shown_assignment(page)
    page.reload()  # a reload resumes: no second consent, same annotator, the task that was on screen
    page.wait_for_selector("body[data-ready='true']")
    assert page.is_hidden("#consent")
    second = shown_assignment(page)
    assert second.id == shown_before_reload.id != first.id and second.annotator_id == annotator.id
    assert Annotator.objects.count() == 1
    page.keyboard.press("Tab")  # keyboard alone reaches the vote buttons
    assert page.evaluate("document.activeElement.dataset.choice") == "left"
    if SCREENSHOT_DIR:
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SCREENSHOT_DIR}/vote-phone.png", full_page=True)
    page.keyboard.press("ArrowRight")
    vote = wait_for(lambda: Vote.objects.filter(assignment=second).first(), "the second vote")
    assert (vote.choice, vote.winner_id) == ("right", second.right_image.system_id)

    page.wait_for_selector("#done:not([hidden])")
    assert page.inner_text("#code") == "DONE-123"
    assert Vote.objects.count() == 2
    if SCREENSHOT_DIR:
        page.screenshot(path=f"{SCREENSHOT_DIR}/vote-done.png", full_page=True)
