"""Finding 11: bad input gets a clear refusal (JSON 400/404/413) and writes nothing."""
import csv
import io
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image as PILImage

from annotate.models import Annotator, AnnotatorSession
from studies.bundle import BundleError, load_bundle
from studies.export import write_votes
from studies.services import create_study_from_zip

from tests.platform.bundles import write_bundle

pytestmark = pytest.mark.django_db


def _json_refusal(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "code"} and body["detail"]
    return body


# -- the annotator API --

@pytest.mark.parametrize("field", ["external_id", "study_id", "session_id"])
def test_a_nul_in_a_crowd_id_is_a_json_400_and_writes_nothing(make_live_study, client, field):
    make_live_study()
    response = client.post("/api/studies/demo/sessions", {field: "P\x001"}, content_type="application/json")
    assert _json_refusal(response, 400)["code"] == "invalid"
    assert not Annotator.objects.exists() and not AnnotatorSession.objects.exists()


def test_deeply_nested_json_is_a_json_400(make_live_study, client):
    make_live_study()
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/studies/demo/sessions", body, content_type="application/json")
    assert _json_refusal(response, 400)["code"] == "parse_error"
    assert not Annotator.objects.exists()


def test_a_body_over_the_limit_is_a_json_413(make_live_study, client, settings):
    make_live_study()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"external_id": "P1", "padding": "x" * 2000})
    response = client.post("/api/studies/demo/sessions", body, content_type="application/json")
    assert _json_refusal(response, 413)["code"] == "too_large"
    assert not Annotator.objects.exists()


def test_the_page_of_a_draft_study_is_404_and_reveals_nothing(make_live_study, client):
    make_live_study(status="draft", consent_text="SECRET CONSENT", instructions="SECRET INSTRUCTIONS")
    response = client.get("/a/demo/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "SECRET" not in body and "Study demo" not in body
    unknown = client.get("/a/no-such-study/")
    assert unknown.status_code == 404


def test_joining_a_draft_study_is_the_same_404_as_an_unknown_one(make_live_study, client):
    make_live_study(status="draft")
    draft = client.post("/api/studies/demo/sessions", {}, content_type="application/json")
    unknown = client.post("/api/studies/nope/sessions", {}, content_type="application/json")
    assert _json_refusal(draft, 404) == _json_refusal(unknown, 404)
    assert not Annotator.objects.exists()


# -- exports --

def test_csv_export_cells_that_a_spreadsheet_would_run_are_neutralised(make_live_study, add_vote, tmp_path):
    study = make_live_study()
    comparison = study.comparisons.first()
    dangerous = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB"]
    for i, external_id in enumerate(dangerous):
        add_vote(comparison, "overall", f"a-{i}", "left", external_id=external_id)
    out = tmp_path / "votes.csv"
    write_votes(study, "csv", out, reveal_external_ids=True)
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(row["annotator"] for row in rows) == sorted("'" + value for value in dangerous)
    jsonl = tmp_path / "votes.jsonl"
    write_votes(study, "jsonl", jsonl, reveal_external_ids=True)
    assert sorted(json.loads(line)["annotator"] for line in jsonl.read_text().splitlines()) == sorted(dangerous)


def test_a_cell_starting_with_a_carriage_return_is_neutralised_too_and_others_are_kept():
    from studies.export import csv_safe

    assert csv_safe("\r=1") == "'\r=1"
    assert [csv_safe(v) for v in ("a-1f2e", "p0001", "PROLIFIC123", 5, True)] == ["a-1f2e", "p0001", "PROLIFIC123", 5, True]


# -- bundles --

def test_an_image_over_the_pixel_limit_is_refused_before_it_is_decoded(tmp_path, settings, monkeypatch):
    bundle = write_bundle(tmp_path / "bundle")
    PILImage.new("RGB", (3000, 3000), (1, 2, 3)).save(bundle / "images/fp16/p0000_s0.png")
    from tests.platform.bundles import edit_manifest

    edit_manifest(bundle, lambda m: [e.pop("sha256", None) for e in m["images"]])
    settings.QSCHED_MAX_IMAGE_PIXELS = 2000 * 2000

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("decoded an image over the limit")

    monkeypatch.setattr(PILImage.Image, "load", no_decoding)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    with pytest.raises(BundleError, match=r"3000x3000, over the limit of 4000000 pixels"):
        load_bundle(bundle)


def test_the_default_pixel_limit_refuses_the_64_megapixel_zip_bomb(tmp_path, owner):
    bundle = write_bundle(tmp_path / "bundle")
    big = io.BytesIO()
    PILImage.new("L", (8000, 8000), 0).save(big, "PNG", optimize=True)  # 64 Mpx in a few KB
    upload = io.BytesIO()
    with zipfile.ZipFile(upload, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in bundle.rglob("*"):
            if path.is_file():
                data = big.getvalue() if path.name == "p0000_s0.png" else path.read_bytes()
                archive.writestr(str(path.relative_to(bundle)), data)
    manifest = json.loads((bundle / "manifest.json").read_text())
    for entry in manifest["images"]:
        entry.pop("sha256")
    with zipfile.ZipFile(upload, "a") as archive:
        pass
    upload2 = io.BytesIO()
    with zipfile.ZipFile(upload, "r") as src, zipfile.ZipFile(upload2, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = json.dumps(manifest).encode() if info.filename == "manifest.json" else src.read(info)
            dst.writestr(info.filename, data)
    assert len(upload2.getvalue()) < 200_000
    with pytest.raises(BundleError, match="over the limit of .* pixels"):
        create_study_from_zip(upload=upload2, slug="bomb", owner=owner)


def test_a_manifest_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path, settings, monkeypatch):
    bundle = write_bundle(tmp_path / "bundle")
    settings.QSCHED_MAX_MANIFEST_BYTES = 100

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed a manifest over the limit")

    monkeypatch.setattr("formats.bundle.json.loads", no_parsing)  # the validator is formats.bundle's
    with pytest.raises(BundleError, match=r"manifest.json: is \d+ bytes, over the limit of 100 bytes"):
        load_bundle(bundle)


def test_a_zip_member_packed_like_a_decompression_bomb_is_refused(tmp_path, owner):
    upload = io.BytesIO()
    with zipfile.ZipFile(upload, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b"{}")
        archive.writestr("images/zeros.png", b"\0" * 50_000_000)
    assert len(upload.getvalue()) < 100_000
    with pytest.raises(BundleError, match="decompression bomb"):
        create_study_from_zip(upload=upload, slug="bomb", owner=owner)
    assert not list(Path(tmp_path).glob("qsched-bundle-*"))


# -- secrets on disk --

@pytest.fixture
def chmod_fails(monkeypatch):
    """A crash right after writing: a chmod of a secrets file raises, as if the process died there."""
    real_os_chmod, real_path_chmod = os.chmod, Path.chmod

    def secret(path) -> bool:
        return Path(path).name in ("secret_key", "demo-credentials.txt")

    def os_chmod(path, *args, **kwargs):
        if secret(path):
            raise RuntimeError("process died before chmod")
        return real_os_chmod(path, *args, **kwargs)

    def path_chmod(self, *args, **kwargs):
        if secret(self):
            raise RuntimeError("process died before chmod")
        return real_path_chmod(self, *args, **kwargs)

    monkeypatch.setattr(os, "chmod", os_chmod)
    monkeypatch.setattr(Path, "chmod", path_chmod)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_secret_key_file_is_created_with_mode_0600_and_never_chmod_ed(tmp_path, chmod_fails):
    from qsched_platform.env import read_or_create_secret_key

    path = tmp_path / "var" / "secret_key"
    key = read_or_create_secret_key(path)
    assert _mode(path) == 0o600 and path.read_text() == key
    assert read_or_create_secret_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no temporary file left


def test_the_demo_credentials_file_is_created_with_mode_0600_and_never_chmod_ed(tmp_path, chmod_fails,
                                                                                make_live_study):
    make_live_study(slug="demo")  # the demo study exists already: only the credentials are made
    credentials = tmp_path / "demo-credentials.txt"
    old_umask = os.umask(0o022)
    try:
        call_command("load_demo", credentials_file=credentials, stdout=io.StringIO())
    finally:
        os.umask(old_umask)
    assert _mode(credentials) == 0o600
    username, password = credentials.read_text().split()
    assert username == "researcher" and len(password) >= 12
