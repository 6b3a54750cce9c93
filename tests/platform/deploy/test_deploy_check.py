"""`manage.py check --deploy` is clean with the documented production environment (scripts/production.env.example).

The check runs in a subprocess with exactly the file's values (plus a random SECRET_KEY and writable
folders), and any warning fails the test.
"""
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ENV_FILE = ROOT / "scripts" / "production.env.example"


def documented_environment() -> dict[str, str]:
    """The KEY=VALUE lines of the example file (comments and blank lines skipped)."""
    env = {}
    for line in ENV_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def check_deploy(tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**env, "SECRET_KEY": secrets.token_urlsafe(50), "QSCHED_REQUIRE_SECRET_KEY": "1",
           # the documented folders (/srv/...) are replaced by writable ones; nothing else changes
           "MEDIA_ROOT": str(tmp_path / "media"), "STATIC_ROOT": str(tmp_path / "static"),
           "QSCHED_VAR_DIR": str(tmp_path / "var"),
           "PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
           "DJANGO_SETTINGS_MODULE": "qsched_platform.settings"}
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_documented_production_environment_passes_check_deploy_without_a_warning(tmp_path):
    env = documented_environment()
    assert env["SECRET_KEY"] == "", "the example must not ship a secret"
    result = check_deploy(tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_without_the_tls_settings_check_deploy_fails(tmp_path):
    env = {k: v for k, v in documented_environment().items() if not k.startswith(("QSCHED_HTTPS", "SECURE_HSTS"))}
    result = check_deploy(tmp_path, env)
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, check
