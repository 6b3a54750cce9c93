"""qsched_platform.settings: the environment picks database, broker and secrets; bad values fail loudly."""
import importlib.util
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

import qsched_platform

SETTINGS_FILE = Path(qsched_platform.__file__).with_name("settings.py")
ENV_NAMES = ["DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "MEDIA_ROOT",
             "QSCHED_BROKER_DIR", "QSCHED_MAX_BUNDLE_BYTES", "QSCHED_REQUIRE_SECRET_KEY", "CELERY_RESULT_BACKEND"]


@pytest.fixture
def load_settings(monkeypatch, tmp_path):
    """Execute settings.py afresh under the given environment; Django's own settings stay untouched."""
    def load(**env):
        for name in ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("QSCHED_VAR_DIR", str(tmp_path / "var"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        spec = importlib.util.spec_from_file_location("qsched_platform._settings_probe", SETTINGS_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


def test_the_defaults_need_no_server(load_settings, tmp_path):
    s = load_settings()
    assert s.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s.DATABASES["default"]["NAME"] == str(tmp_path / "var" / "db.sqlite3")
    assert s.CELERY_BROKER_URL == "filesystem://"
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"] == str(tmp_path / "var" / "celery-broker")
    assert (tmp_path / "var" / "celery-broker").is_dir()
    assert s.DEBUG is False


def test_sqlite_tests_use_a_file_database_that_a_worker_process_can_open(load_settings):
    test_name = load_settings().DATABASES["default"]["TEST"]["NAME"]
    assert test_name.endswith(".sqlite3") and ":memory:" not in test_name and "mode=memory" not in test_name


def test_database_url_switches_to_postgresql(load_settings):
    db = load_settings(DATABASE_URL="postgres://alice:pw@db.example:6543/qsched").DATABASES["default"]
    assert (db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "django.db.backends.postgresql", "qsched", "alice", "pw", "db.example", 6543)
    assert "TEST" not in db or "NAME" not in db.get("TEST", {})


def test_celery_broker_url_switches_to_redis(load_settings):
    s = load_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/3")
    assert s.CELERY_BROKER_URL == "redis://127.0.0.1:6379/3"
    assert not hasattr(s, "CELERY_BROKER_TRANSPORT_OPTIONS")


def test_other_variables_are_read(load_settings, tmp_path):
    s = load_settings(SECRET_KEY="s3cret", DEBUG="true", ALLOWED_HOSTS="a.example, b.example",
                      MEDIA_ROOT=str(tmp_path / "m"), QSCHED_MAX_BUNDLE_BYTES="1000",
                      QSCHED_BROKER_DIR=str(tmp_path / "broker"))
    assert (s.SECRET_KEY, s.DEBUG, s.ALLOWED_HOSTS) == ("s3cret", True, ["a.example", "b.example"])
    assert s.MEDIA_ROOT == tmp_path / "m" and s.QSCHED_MAX_BUNDLE_BYTES == 1000
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"] == str(tmp_path / "broker")


@pytest.mark.parametrize("env, words", [
    ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
    ({"QSCHED_MAX_BUNDLE_BYTES": "lots"}, "QSCHED_MAX_BUNDLE_BYTES='lots' is not an integer"),
    ({"QSCHED_MAX_BUNDLE_BYTES": "0"}, "below the minimum 1"),
    ({"QSCHED_REQUIRE_SECRET_KEY": "1"}, "SECRET_KEY is not set"),
])
def test_bad_values_fail_loudly(load_settings, env, words):
    with pytest.raises(ImproperlyConfigured, match=words):
        load_settings(**env)


def test_without_secret_key_a_random_key_is_made_once_and_kept(load_settings, tmp_path):
    first = load_settings().SECRET_KEY
    assert len(first) >= 50 and "insecure" not in first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
    assert load_settings().SECRET_KEY == first
