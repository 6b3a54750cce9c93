"""qsched_platform.settings: the environment picks database, broker and secrets; bad values fail loudly.

Reading the settings writes nothing; the folders and the key file they name are made at start
(qsched_platform.local_files).
"""
import pytest
from django.core.exceptions import ImproperlyConfigured

from qsched_platform.local_files import prepare_local_files
from qsched_platform.settings_test import sqlite_test_name


def test_the_defaults_need_no_server(load_settings, tmp_path):
    s = load_settings()
    assert s.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s.DATABASES["default"]["NAME"] == str(tmp_path / "var" / "db.sqlite3")
    assert s.CELERY_BROKER_URL == "filesystem://"
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"] == str(tmp_path / "var" / "celery-broker")
    prepare_local_files(s)
    assert (tmp_path / "var" / "celery-broker").is_dir()
    assert s.DEBUG is False
    assert s.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert not hasattr(s, "SECURE_PROXY_SSL_HEADER") and not s.SECURE_SSL_REDIRECT and not s.SESSION_COOKIE_SECURE
    assert s.QSCHED_X_ACCEL_REDIRECT == "" and s.CELERY_BEAT_SCHEDULE == {}


def test_tasks_are_acknowledged_after_they_ran_and_requeued_when_their_worker_dies(load_settings):
    s = load_settings()
    assert s.CELERY_TASK_ACKS_LATE is True and s.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert s.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_redis_url_makes_the_cache_shared(load_settings):
    s = load_settings(REDIS_URL="redis://127.0.0.1:6379/4")
    assert s.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert s.CACHES["default"]["LOCATION"] == "redis://127.0.0.1:6379/4"


def test_qsched_https_turns_on_every_tls_setting(load_settings):
    s = load_settings(QSCHED_HTTPS="1", SECURE_HSTS_SECONDS="600")
    assert s.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert s.SECURE_SSL_REDIRECT and s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE
    assert s.SECURE_HSTS_SECONDS == 600
    assert not load_settings(QSCHED_HTTPS="1", SECURE_SSL_REDIRECT="0").SECURE_SSL_REDIRECT


def test_reading_the_settings_writes_nothing(load_settings, tmp_path):
    s = load_settings()
    assert not (tmp_path / "var").exists() and s.SECRET_KEY == ""
    prepare_local_files(s)
    for folder in (tmp_path / "var", s.MEDIA_ROOT, s.STATIC_ROOT, s.QSCHED_BROKER_DIR):
        assert folder.is_dir()


def test_sqlite_tests_use_a_file_database_that_a_worker_process_can_open(load_settings, settings):
    test_name = sqlite_test_name()
    assert test_name.endswith(".sqlite3") and ":memory:" not in test_name and "mode=memory" not in test_name
    assert "TEST" not in load_settings().DATABASES["default"]  # the production settings know no test database
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # this run's settings (settings_test) use it
        assert settings.DATABASES["default"]["TEST"]["NAME"] == test_name


def test_database_url_switches_to_postgresql(load_settings):
    db = load_settings(DATABASE_URL="postgres://alice:pw@db.example:6543/qsched").DATABASES["default"]
    assert (db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "django.db.backends.postgresql", "qsched", "alice", "pw", "db.example", 6543)
    assert "TEST" not in db or "NAME" not in db.get("TEST", {})


def test_celery_broker_url_switches_to_redis(load_settings):
    s = load_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/3", CELERY_VISIBILITY_TIMEOUT_S="90")
    assert s.CELERY_BROKER_URL == "redis://127.0.0.1:6379/3"
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] == 90
    assert s.CELERY_BROKER_TRANSPORT_OPTIONS["unacked_restore_interval"] <= 90 / 4


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
    ({"REDIS_URL": "memcached://x"}, "is not a redis:// URL"),
    ({"QSCHED_X_ACCEL_REDIRECT": "protected"}, "must start and end with '/'"),
    ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS='a year' is not an integer"),
])
def test_bad_values_fail_loudly(load_settings, env, words):
    with pytest.raises(ImproperlyConfigured, match=words):
        load_settings(**env)


def _started(settings_module):
    prepare_local_files(settings_module)  # what the platform app's ready() does at start
    return settings_module


def test_without_secret_key_a_random_key_is_made_once_and_kept(load_settings, tmp_path):
    first = _started(load_settings()).SECRET_KEY
    assert len(first) >= 50 and "insecure" not in first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
    assert _started(load_settings()).SECRET_KEY == first


def test_a_given_secret_key_needs_no_file(load_settings, tmp_path):
    s = _started(load_settings(SECRET_KEY="s3cret"))
    assert s.SECRET_KEY == "s3cret" and s.SECRET_KEY_FILE is None
    assert not (tmp_path / "var" / "secret_key").exists()
