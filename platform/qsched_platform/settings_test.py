"""Settings of the test suite (pytest's ``DJANGO_SETTINGS_MODULE``): the production settings, plus
where the SQLite test database lives.

Tests use a file, not pytest-django's default in-memory database, so that a real Celery worker or
gunicorn started by a test (a separate process, given the file's URL) sees the same data. One file
per test process, so parallel runs on one machine do not collide; ``QSCHED_TEST_SQLITE_NAME``
names it instead. PostgreSQL (``DATABASE_URL``) keeps Django's own ``test_<name>`` database.
"""
import os
import tempfile

from .settings import *  # noqa: F403 (the production settings, unchanged)
from .settings import DATABASES


def sqlite_test_name() -> str:
    """The SQLite test database file of this process."""
    return (os.environ.get("QSCHED_TEST_SQLITE_NAME")
            or os.path.join(tempfile.gettempdir(), f"qsched-test-{os.getpid()}.sqlite3"))


if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": sqlite_test_name()}
