"""Fixtures of the annotator tests."""
import pytest

from tests.platform.browser import launch_browser


@pytest.fixture
def browser(monkeypatch):
    """A headless Debian Chromium driven by Playwright (fails, never skips, when Chromium is missing)."""
    yield from launch_browser(monkeypatch)
