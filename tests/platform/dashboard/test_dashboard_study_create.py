"""Creating a study from a bundle zip uploaded in the browser."""
import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from studies.models import Image, Study, WorkItem

from tests.platform.bundles import edit_manifest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def zipped(bundle: Path, name: str = "bundle.zip") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(bundle.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(bundle).as_posix())
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def form_data(bundle_dir: Path, **changes) -> dict:
    data = {
        "bundle": zipped(bundle_dir), "slug": "new-study", "name": "My study",
        "use_overall": "on", "question_overall": "Which one do you like more?",
        "use_quality": "on", "question_quality": "Which one is sharper?",
        "custom_criteria": "", "votes_per_pair": "2", "allow_ties": "on", "quota_per_annotator": "20",
        "assignment_timeout_s": "300", "instructions": "Look closely.", "consent_text": "I agree.",
        "completion_code": "C0DE", "redirect_url": "https://example.org/done",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def media_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_the_form_offers_the_three_criteria_with_their_default_questions(client, owner):
    client.force_login(owner)
    content = client.get(reverse("dashboard:study_create")).content.decode()
    for key in ("overall", "alignment", "quality"):
        assert f'name="use_{key}"' in content
        assert f'name="question_{key}"' in content
    assert "Which image matches the text better?" in content
    assert 'enctype="multipart/form-data"' in content


def test_uploading_a_bundle_zip_creates_the_study_with_every_option(client, owner, bundle_dir):
    client.force_login(owner)
    response = client.post(reverse("dashboard:study_create"), form_data(bundle_dir, launch="on"))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:study_detail", args=["new-study"])
    study = Study.objects.get(slug="new-study")
    assert (study.name, study.owner, study.status) == ("My study", owner, "live")
    assert (study.votes_per_pair, study.allow_ties, study.quota_per_annotator, study.assignment_timeout_s) == (2, True, 20, 300)
    assert (study.instructions, study.consent_text) == ("Look closely.", "I agree.")
    assert (study.completion_code, study.redirect_url) == ("C0DE", "https://example.org/done")
    assert [(c.key, c.question) for c in study.criteria.all()] == [
        ("overall", "Which one do you like more?"), ("quality", "Which one is sharper?")]
    assert Image.objects.filter(study=study).count() == 9  # 3 systems x 3 prompts x 1 seed
    assert WorkItem.objects.filter(study=study).count() == 18  # 9 comparisons x 2 criteria
    assert b"created" in client.get(response["Location"]).content


def test_without_launch_the_new_study_stays_a_draft(client, owner, bundle_dir):
    client.force_login(owner)
    client.post(reverse("dashboard:study_create"), form_data(bundle_dir))
    assert Study.objects.get(slug="new-study").status == "draft"


def test_custom_criteria_are_added_after_the_chosen_ones(client, owner, bundle_dir):
    client.force_login(owner)
    data = form_data(bundle_dir, use_quality=None, custom_criteria="realism: Which looks real?\n\nfun: Which is funnier?")
    assert client.post(reverse("dashboard:study_create"), data).status_code == 302
    keys = list(Study.objects.get(slug="new-study").criteria.values_list("key", "question"))
    assert keys == [("overall", "Which one do you like more?"), ("realism", "Which looks real?"), ("fun", "Which is funnier?")]


def test_a_bundle_with_a_wrong_sha256_shows_entry_and_field_and_creates_nothing(client, owner, bundle_dir, settings):
    edit_manifest(bundle_dir, lambda m: m["images"][1].update(sha256="0" * 64))
    client.force_login(owner)
    response = client.post(reverse("dashboard:study_create"), form_data(bundle_dir))
    assert response.status_code == 400
    assert "images[1].sha256" in response.content.decode()
    assert not Study.objects.exists()
    assert not Image.objects.exists()
    assert media_files(settings) == []


def test_a_bundle_naming_an_unknown_system_is_refused_with_its_entry(client, owner, bundle_dir):
    edit_manifest(bundle_dir, lambda m: m["images"][0].update(system="nope"))
    client.force_login(owner)
    response = client.post(reverse("dashboard:study_create"), form_data(bundle_dir))
    assert response.status_code == 400
    assert "images[0].system" in response.content.decode()
    assert not Study.objects.exists()


def test_a_file_that_is_not_a_zip_is_refused_on_the_form(client, owner, bundle_dir):
    client.force_login(owner)
    data = form_data(bundle_dir, bundle=SimpleUploadedFile("bundle.tar", b"not a zip"))
    response = client.post(reverse("dashboard:study_create"), data)
    assert response.status_code == 400
    assert "is not a .zip file" in response.content.decode()


def test_an_upload_over_the_size_limit_is_refused(client, owner, bundle_dir, settings):
    settings.QSCHED_MAX_BUNDLE_BYTES = 100
    client.force_login(owner)
    response = client.post(reverse("dashboard:study_create"), form_data(bundle_dir))
    assert response.status_code == 400
    assert "the limit is 100 bytes" in response.content.decode()
    assert not Study.objects.exists()


def test_a_taken_slug_is_refused_on_the_form(client, owner, bundle_dir):
    client.force_login(owner)
    client.post(reverse("dashboard:study_create"), form_data(bundle_dir))
    response = client.post(reverse("dashboard:study_create"), form_data(bundle_dir))
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Study.objects.count() == 1


def test_at_least_one_criterion_is_needed(client, owner, bundle_dir):
    client.force_login(owner)
    response = client.post(reverse("dashboard:study_create"), form_data(bundle_dir, use_overall=None, use_quality=None))
    assert response.status_code == 400
    assert "Choose at least one criterion." in response.content.decode()


@pytest.mark.parametrize("line, message", [("no question here", "write it as key: question"),
                                           ("bad key!: Why?", "is not a valid key"),
                                           ("overall: Again?", "is listed twice")])
def test_bad_custom_criteria_lines_are_explained(client, owner, bundle_dir, line, message):
    client.force_login(owner)
    response = client.post(reverse("dashboard:study_create"), form_data(bundle_dir, custom_criteria=line))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Study.objects.exists()


def test_the_upload_needs_a_csrf_token(owner, bundle_dir):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(reverse("dashboard:study_create"), form_data(bundle_dir)).status_code == 403
    assert not Study.objects.exists()


def test_the_power_calculator_partial_is_included_when_present(client, owner, settings, tmp_path):
    (tmp_path / "tpl" / "results").mkdir(parents=True)
    (tmp_path / "tpl" / "results" / "_power.html").write_text('<div id="power-marker">power</div>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path / "tpl", *settings.TEMPLATES[0]["DIRS"]]}]
    client.force_login(owner)
    assert b'id="power-marker"' in client.get(reverse("dashboard:study_create")).content
