"""Settings for the qsched-eval platform, read from the environment.

Defaults run on one machine with no servers: a SQLite file, an embedded
(filesystem) Celery broker under ``var/`` and a per-process memory cache.
``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``REDIS_URL`` switch to PostgreSQL
and Redis for production; ``QSCHED_HTTPS=1`` turns on the TLS settings
(HSTS, SSL redirect, secure cookies, the proxy's ``X-Forwarded-Proto``) that
``manage.py check --deploy`` asks for (README, "Deployment").

Reading this module has no side effect: the folders it names and the secret key file are made
when the platform starts (``qsched_platform.local_files``, run by the app's ``ready()``). The test
suite's own settings (where the test database lives) are in ``settings_test``.
"""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from formats.bundle import MAX_IMAGE_PIXELS, MAX_MANIFEST_BYTES

from .env import env_bool, env_int, env_list, env_rate

BASE_DIR = Path(__file__).resolve().parents[2]  # the repository root
VAR_DIR = Path(os.environ.get("QSCHED_VAR_DIR", BASE_DIR / "var"))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# One machine, no SECRET_KEY given: a random key made once for this install on its first start and
# kept in this file (never a fixed, publicly known key); read into SECRET_KEY at start
# (local_files.prepare_local_files). None when SECRET_KEY is given.
SECRET_KEY_FILE = None if SECRET_KEY else VAR_DIR / "secret_key"
if not SECRET_KEY and not DEBUG and os.environ.get("QSCHED_REQUIRE_SECRET_KEY") == "1":
    raise ImproperlyConfigured("SECRET_KEY is not set")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# TLS, ended by a proxy in front (nginx). QSCHED_HTTPS=1 is the one switch; each setting
# can still be overridden on its own. SECURE_PROXY_SSL_HEADER makes request.is_secure()
# (and so every absolute link, e.g. the annotator link on the study page) follow the proxy's
# X-Forwarded-Proto: only safe when the proxy always sets or strips that header.
HTTPS = env_bool("QSCHED_HTTPS", False)
if env_bool("QSCHED_TRUST_X_FORWARDED_PROTO", HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

INSTALLED_APPS = [
    "qsched_platform",  # first: its ready() makes the folders and the key file the others use
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "studies",
    "annotate",
    "dashboard",
    "results",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "qsched_platform.api_errors.BodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "qsched_platform.middleware.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "qsched_platform.urls"
WSGI_APPLICATION = "qsched_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several writers (web server, Celery worker) share one file: wait for locks.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Take the write lock when a transaction starts, so read-then-write transactions
    # (claiming an assignment, recording a vote) wait for each other instead of failing.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # Write-ahead log: readers never block the writer (with the default journal, 32 annotators
    # at once made writers time out with "database is locked"; benchmarks/bench_annotate.py).
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL;"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache (rate limits and other short-lived shared state). REDIS_URL (or CACHE_URL) makes it
# shared by every web process; without one each process keeps its own memory cache.
_cache_url = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL") or ""
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url,
                          "KEY_PREFIX": "qsched"}}
elif _cache_url:
    raise ImproperlyConfigured(f"REDIS_URL/CACHE_URL={_cache_url!r} is not a redis:// URL")
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:study_list"
LOGOUT_REDIRECT_URL = "login"

# Uploads: bundles arrive as zip files; refuse anything larger than this.
QSCHED_MAX_BUNDLE_BYTES = env_int("QSCHED_MAX_BUNDLE_BYTES", 512 * 1024 * 1024, minimum=1)
# Bundle limits checked before reading: pixels per image (from the header, before decoding)
# and the manifest's size.
QSCHED_MAX_IMAGE_PIXELS = env_int("QSCHED_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS, minimum=1)
QSCHED_MAX_MANIFEST_BYTES = env_int("QSCHED_MAX_MANIFEST_BYTES", MAX_MANIFEST_BYTES, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
    # JSON bodies nested too deeply are a 400, not a 500; every refusal is {"detail", "code"}.
    "DEFAULT_PARSER_CLASSES": [
        "qsched_platform.api_errors.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "qsched_platform.api_errors.exception_handler",
}

# Abuse limits on the annotator API (annotate.throttles; contract section 5). DRF throttling
# keeps its counters in Django's cache: use a shared cache (Redis) when several processes serve.
QSCHED_RATE_LIMITS = env_bool("QSCHED_RATE_LIMITS", True)
QSCHED_TRUSTED_PROXIES = env_list("QSCHED_TRUSTED_PROXIES", [])
QSCHED_RATES = {
    "session_ip": env_rate("QSCHED_RATE_SESSIONS_PER_IP", "30/hour"),
    "session_crowd_id": env_rate("QSCHED_RATE_SESSIONS_PER_CROWD_ID", "10/hour"),
    "call_ip": env_rate("QSCHED_RATE_CALLS_PER_IP", "1200/min"),
    "call_session": env_rate("QSCHED_RATE_CALLS_PER_SESSION", "120/min"),
}
# With the limits on, a vote sooner than this after its task was handed out is refused (server clock).
QSCHED_MIN_RESPONSE_MS = env_int("QSCHED_MIN_RESPONSE_MS", 250, minimum=0)
# An image link keeps working this long after its task was voted on or expired or the study closed.
QSCHED_IMAGE_LINK_GRACE_S = env_int("QSCHED_IMAGE_LINK_GRACE_S", 60, minimum=0)

# Celery: the embedded default broker is kombu's filesystem transport (no server).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
# The embedded broker's folder (made at start, like the folders above); None with a broker server.
QSCHED_BROKER_DIR = (Path(os.environ.get("QSCHED_BROKER_DIR", VAR_DIR / "celery-broker"))
                     if CELERY_BROKER_URL.startswith("filesystem://") else None)
if QSCHED_BROKER_DIR is not None:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(QSCHED_BROKER_DIR),
        "data_folder_out": str(QSCHED_BROKER_DIR),
        # Exchange tables (fanout, remote control) too, not a "control/" in the cwd.
        "control_folder": str(QSCHED_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# No lost work: a task is acknowledged only once it has run, and one whose worker died mid-run
# goes back to the queue (so every task must be safe to run twice). One task fetched at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged task to another worker this long after delivery (a worker that
    # vanished, e.g. SIGKILL or a lost node). Longer than any task: a task still running when it
    # passes is delivered twice (the report lease then turns the second one away).
    _visibility_s = env_int("CELERY_VISIBILITY_TIMEOUT_S", 3600, minimum=1)
    # Workers look for such tasks every unacked_restore_interval seconds (kombu's default sweep is ~100 s).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_s, "unacked_restore_throttle": 1,
                                       "unacked_restore_interval": max(1, min(10, _visibility_s // 4))}
# Periodic tasks run by `celery beat` (scripts/serve.sh starts it): none by default.
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_image_links": {"()": "qsched_platform.log_redaction.RedactImageLinks"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_image_links"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Analysis report builds (results.services.refresh_report).
# Bootstrap samples per kind (confidence intervals of win rates, scores and agreement).
QSCHED_REPORT_BOOTSTRAP = env_int("QSCHED_REPORT_BOOTSTRAP", 1000, minimum=1)
# Draw the figures (plots/*.png, *.svg) beside summary.json and the CSV tables.
QSCHED_REPORT_PLOTS = env_bool("QSCHED_REPORT_PLOTS", True)
# Seconds of the lease a build holds on its report, renewed every third of it: a build whose worker
# died is taken over once it lapses.
QSCHED_REPORT_LEASE_S = env_int("QSCHED_REPORT_LEASE_S", 60, minimum=3)

# Files under MEDIA_ROOT (annotator images, report downloads) are sent by the web server in front when
# this is set: the response carries "X-Accel-Redirect: <prefix><path under MEDIA_ROOT>" and no body,
# and nginx serves that file from an `internal` location (README, "Deployment").
QSCHED_X_ACCEL_REDIRECT = os.environ.get("QSCHED_X_ACCEL_REDIRECT", "")
if QSCHED_X_ACCEL_REDIRECT and not (QSCHED_X_ACCEL_REDIRECT.startswith("/") and QSCHED_X_ACCEL_REDIRECT.endswith("/")):
    raise ImproperlyConfigured(f"QSCHED_X_ACCEL_REDIRECT={QSCHED_X_ACCEL_REDIRECT!r} must start and end with '/' "
                               "(e.g. /protected-media/)")

# A progress refresh is queued at most once per this many seconds per study, and runs that much later.
QSCHED_PROGRESS_DEBOUNCE_S = env_int("QSCHED_PROGRESS_DEBOUNCE_S", 5, minimum=0)
