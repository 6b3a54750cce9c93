"""A real headless Chromium for the browser tests (the ``browser`` fixture lives in annotate/conftest.py)."""
import os
import time
from pathlib import Path

import pytest
from django.db import connections

from annotate.image_links import read_image_link
from annotate.models import Assignment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Set QSCHED_SCREENSHOT_DIR to keep PNGs of the voting page (desktop and phone width).
SCREENSHOT_DIR = os.environ.get("QSCHED_SCREENSHOT_DIR")


def wait_for(predicate, what, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def shown_assignment(page) -> tuple[Assignment, str]:
    """The assignment on screen, read back from the link its left image was fetched from."""
    public_id, side = read_image_link(page.get_attribute("#left-frame img", "data-link").rsplit("/", 1)[1])
    assert side == "left"
    return Assignment.objects.select_related("left_image__system", "right_image__system").get(public_id=public_id)


def launch_browser(monkeypatch):
    """Yield a launched Chromium; close it and the ORM's connections afterwards."""
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
