"""Shared fixtures of the platform tests: users, bundles on disk, live studies, votes, settings loaded afresh."""
import importlib.util
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

import qsched_platform

from .bundles import write_bundle

SETTINGS_FILE = Path(qsched_platform.__file__).with_name("settings.py")
ENV_NAMES = ["DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "MEDIA_ROOT",
             "QSCHED_BROKER_DIR", "QSCHED_MAX_BUNDLE_BYTES", "QSCHED_REQUIRE_SECRET_KEY", "CELERY_RESULT_BACKEND",
             "REDIS_URL", "CACHE_URL", "QSCHED_HTTPS", "QSCHED_TRUST_X_FORWARDED_PROTO", "SECURE_SSL_REDIRECT",
             "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
             "SECURE_HSTS_PRELOAD", "QSCHED_X_ACCEL_REDIRECT", "CELERY_VISIBILITY_TIMEOUT_S"]


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


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user("owner", password="owner-pass-123")


@pytest.fixture
def collaborator(db):
    return get_user_model().objects.create_user("collaborator", password="collab-pass-123")


@pytest.fixture
def outsider(db):
    return get_user_model().objects.create_user("outsider", password="outsider-pass-123")


@pytest.fixture
def bundle_dir(tmp_path):
    return write_bundle(tmp_path / "bundle")


@pytest.fixture
def make_live_study(db):
    """Factory for a live study built through the ORM (annotate tests): make_live_study(k=2, n_prompts=3)."""
    from .annotate_study import make_study

    study_owner = get_user_model().objects.create(username="study-owner")  # no password: no slow hashing

    def make(**options):
        return make_study(study_owner, **options)

    return make


# -- added by P1 (studies): votes written straight into the models, for export/progress tests --

@pytest.fixture
def add_vote(db):
    """``add_vote(comparison, criterion_key, annotator_name, choice, swap=False, ...)`` -> Vote.

    Writes Annotator (created on first use), Assignment and Vote rows directly, as the
    annotate app would after a vote; ``swap`` shows image_b on the left.
    """
    from datetime import timedelta

    from django.utils import timezone

    from annotate.models import Annotator, Assignment, Vote

    def _add(comparison, criterion_key, annotator_name, choice, *, swap=False, attention_check=False,
             excluded=False, external_id="", response_ms=1234):
        study = comparison.study
        annotator, _ = Annotator.objects.get_or_create(
            study=study, pseudonym=annotator_name, defaults={"external_id": external_id, "excluded": excluded})
        criterion = study.criteria.get(key=criterion_key)
        work_item = comparison.work_items.get(criterion=criterion)
        left, right = (comparison.image_b, comparison.image_a) if swap else (comparison.image_a, comparison.image_b)
        assignment = Assignment.objects.create(
            annotator=annotator, work_item=work_item, left_image=left, right_image=right, status="voted",
            attention_check=attention_check, expires_at=timezone.now() + timedelta(minutes=10))
        winner = {"left": left.system, "right": right.system, "tie": None}[choice]
        return Vote.objects.create(
            assignment=assignment, study=study, annotator=annotator, comparison=comparison, criterion=criterion,
            system_left=left.system, system_right=right.system, choice=choice, winner=winner,
            response_ms=response_ms, attention_check=attention_check)

    return _add


@pytest.fixture
def imported_study(owner, bundle_dir):
    """A draft study imported from the default bundle (3 systems, 3 prompts, seed 0, all pairs)."""
    from studies.services import create_study_from_bundle

    return create_study_from_bundle(bundle_dir=bundle_dir, slug="demo-study", owner=owner)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Added by P1: PBKDF2 costs ~0.7 s per user on this CPU; tests don't need slow hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# -- added for quality control (annotate.attention) --

class _NeverCheckRng:
    """Draws 1.0, so no attention check is ever handed out (every rate is at most 0.5)."""

    def random(self) -> float:
        return 1.0

    def choice(self, seq):
        return seq[0]


@pytest.fixture(autouse=True)
def _no_attention_checks_unless_asked(monkeypatch):
    """Attention checks are drawn at random; tests written without them in mind must stay
    deterministic, so the draw never fires unless a test installs its own ``annotate.attention._rng``
    (see test_attention_checks.py)."""
    monkeypatch.setattr("annotate.attention._rng", _NeverCheckRng())


# -- added for abuse limits (annotate.throttles) --

@pytest.fixture(autouse=True)
def _rate_limits_off_unless_asked(settings):
    """Abuse limits are on by default (settings); tests that are not about them open many
    sessions from one address, so they run without. Tests of the limits turn them on
    (test_abuse_limits.py) and start from an empty cache."""
    from django.core.cache import cache

    settings.QSCHED_RATE_LIMITS = False
    cache.clear()
