"""`manage.py load_demo`: researcher account plus a live demo study; running it again changes nothing."""
import io
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from dashboard.management.commands import load_demo as load_demo_command
from studies.models import Image, Study, WorkItem


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The bundle as load_demo generates it (the reference model on the CPU, once per module)."""
    return load_demo_command.build_demo_bundle(tmp_path_factory.mktemp("generated") / "bundle", progress=False)


@pytest.fixture
def generated_once(generated, monkeypatch):
    """Hand out copies of that one bundle instead of generating it again."""
    monkeypatch.setattr(load_demo_command, "build_demo_bundle",
                        lambda out: shutil.copytree(generated, out, dirs_exist_ok=True))


def load_demo(tmp_path: Path) -> str:
    out = io.StringIO()
    call_command("load_demo", bundle_dir=tmp_path / "demo-bundle", credentials_file=tmp_path / "creds.txt",
                 stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_it_creates_the_researcher_and_a_live_demo_study(tmp_path, generated_once):
    output = load_demo(tmp_path)
    username, password = (tmp_path / "creds.txt").read_text().split()
    assert username == "researcher" and len(password) >= 12
    assert f"researcher login: researcher / {password}" in output
    assert authenticate(username="researcher", password=password) is not None
    study = Study.objects.get(slug="demo")
    assert (study.owner.username, study.status) == ("researcher", "live")
    assert sorted(study.systems.values_list("key", flat=True)) == ["fp32", "fp32-qsched", "w4a8", "w4a8-qsched"]
    assert study.prompts.count() == 12
    assert Image.objects.filter(study=study).count() == 12 * 4 * 2
    # all 6 pairs of the 4 systems x 12 prompts x 2 seeds comparisons, 2 criteria each
    assert WorkItem.objects.filter(study=study).count() == 6 * 12 * 2 * 2
    assert study.bundle_name == "reference-shapes-w4a8"
    assert all("jaq" in s.metrics and "fid" in s.metrics for s in study.systems.all())


@pytest.mark.django_db
def test_running_it_again_keeps_the_user_the_password_and_the_study(tmp_path, generated_once):
    load_demo(tmp_path)
    first = (Study.objects.get(slug="demo").pk, (tmp_path / "creds.txt").read_text())
    output = load_demo(tmp_path)
    assert (Study.objects.get(slug="demo").pk, (tmp_path / "creds.txt").read_text()) == first
    assert Study.objects.count() == 1 and get_user_model().objects.count() == 1
    assert Image.objects.count() == 96
    assert "already exists" in output


@pytest.mark.django_db
def test_a_researcher_whose_password_drifted_gets_the_saved_one_back(tmp_path, generated_once):
    load_demo(tmp_path)
    user = get_user_model().objects.get(username="researcher")
    user.set_password("something-else")
    user.save()
    load_demo(tmp_path)
    password = (tmp_path / "creds.txt").read_text().split()[1]
    assert authenticate(username="researcher", password=password) is not None


def test_the_generated_bundle_passes_the_platform_checks_and_its_systems_differ(generated):
    import json

    from studies.bundle import load_bundle

    spec = load_bundle(generated)
    assert len(spec.images) == 12 * 4 * 2
    shas: dict[tuple, set] = {}
    for image in json.loads((generated / "manifest.json").read_text())["images"]:
        shas.setdefault((image["prompt"], image["seed"]), set()).add(image["sha256"])
    assert len(shas) == 24 and all(len(found) == 4 for found in shas.values())
