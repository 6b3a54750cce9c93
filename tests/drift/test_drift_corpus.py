"""The drift corpus through every reader of its format: two readers that disagree fail here.

Bundles go through generation (``validate_bundle`` and ``python -m generation validate``), the
platform (the real import, the upload of the bundle as a zip, and ``import_bundle --dry-run``) and the analysis (``read_bundle_metrics``,
manifest rules only: a case decided by the image files must pass there). Vote files go through
the analysis' CSV, JSON Lines and Parquet readers. ``cases.json`` holds each case's verdict;
``make_corpus.py`` wrote it.
"""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from analysis.io import VotesError, read_bundle_metrics, read_votes
from formats.bundle import BundleError
from formats.votes import csv_unescape
from generation.cli import main as generation_main
from generation.manifest import validate_bundle
from tests.drift.make_corpus import write_corpus

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CASES = json.loads((HERE / "cases.json").read_text(encoding="utf-8"))
BUNDLES = [c for c in CASES if c["kind"] == "bundle"]
VOTES = [c for c in CASES if c["kind"] == "votes"]


def _ids(cases):
    return [c["name"] for c in cases]


def _assert_refused_as_indexed(error: BundleError, case: dict) -> None:
    assert (error.entry, error.field) == (case["entry"], case["field"]), str(error)
    assert case["words"] in str(error)
    where = f"{case['entry']}.{case['field']}" if case["field"] else case["entry"]
    assert str(error).startswith(f"{where}: ")


def test_the_corpus_on_disk_is_what_make_corpus_writes(tmp_path):
    index = write_corpus(tmp_path)
    assert index == CASES
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    stored = sorted(str(p.relative_to(HERE)) for p in HERE.rglob("*") if p.is_file()
                    and p.parts[len(HERE.parts)] in ("bundles", "votes", "cases.json"))
    assert written == stored


def test_the_corpus_holds_the_six_cases_of_issue_11():
    issue = {c["name"] for c in BUNDLES if c["what"].startswith("issue 11")}
    assert issue == {"seed-negative", "pair-given-twice", "png-not-an-image", "name-not-a-string", "metric-a-string",
                     "valid-uppercase-sha256"}


# -- bundles ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", BUNDLES, ids=_ids(BUNDLES))
def test_generation_gives_each_bundle_its_verdict(case):
    path = HERE / case["path"]
    if case["valid"]:
        assert validate_bundle(path)["format"] == "qsched-bundle/1"
        return
    with pytest.raises(BundleError) as info:
        validate_bundle(path)
    _assert_refused_as_indexed(info.value, case)


@pytest.mark.parametrize("case", BUNDLES, ids=_ids(BUNDLES))
def test_the_generation_validate_command_prints_the_verdict_and_writes_nothing(case, capsys):
    path = HERE / case["path"]
    before = sorted((p, p.stat().st_mtime_ns) for p in path.rglob("*"))
    status = generation_main(["validate", str(path)])
    out, err = capsys.readouterr()
    if case["valid"]:
        assert status == 0 and out.startswith("ok") and err == ""
    else:
        where = f"{case['entry']}.{case['field']}" if case["field"] else case["entry"]
        assert status == 2 and out == "" and err.startswith(f"error: {where}: ") and case["words"] in err
    assert sorted((p, p.stat().st_mtime_ns) for p in path.rglob("*")) == before


@pytest.mark.parametrize("case", BUNDLES, ids=_ids(BUNDLES))
def test_the_platform_import_gives_each_bundle_its_verdict(case, db, settings, tmp_path):
    from studies.models import Study
    from studies.services import create_study_from_bundle

    settings.MEDIA_ROOT = tmp_path / "media"
    owner = get_user_model().objects.create(username="drift-owner")
    path = HERE / case["path"]
    if case["valid"]:
        study = create_study_from_bundle(bundle_dir=path, slug="drift", owner=owner)
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        assert study.images.count() == len(manifest["images"])
        return
    with pytest.raises(BundleError) as info:
        create_study_from_bundle(bundle_dir=path, slug="drift", owner=owner)
    _assert_refused_as_indexed(info.value, case)
    assert not Study.objects.exists()
    assert not any(p.is_file() for p in settings.MEDIA_ROOT.rglob("*"))


def _zip_of(folder: Path) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


@pytest.mark.parametrize("case", BUNDLES, ids=_ids(BUNDLES))
def test_the_upload_of_each_bundle_as_a_zip_gives_its_verdict(case, db, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from studies.models import Study
    from studies.services import create_study_from_zip

    settings.MEDIA_ROOT = tmp_path / "media"
    owner = get_user_model().objects.create(username="drift-owner")
    upload = SimpleUploadedFile("bundle.zip", _zip_of(HERE / case["path"]), "application/zip")
    if case["valid"]:
        assert create_study_from_zip(upload=upload, slug="drift", owner=owner).images.exists()
        return
    with pytest.raises(BundleError) as info:
        create_study_from_zip(upload=upload, slug="drift", owner=owner)
    _assert_refused_as_indexed(info.value, case)
    assert not Study.objects.exists()


@pytest.mark.parametrize("case", BUNDLES, ids=_ids(BUNDLES))
def test_the_import_commands_dry_run_gives_each_bundle_its_verdict_and_writes_nothing(case, db, settings, tmp_path,
                                                                                     capsys):
    from studies.models import Study

    settings.MEDIA_ROOT = tmp_path / "media"
    get_user_model().objects.create_superuser("root", password="root-pass-123")
    path = HERE / case["path"]
    if case["valid"]:
        call_command("import_bundle", str(path), "--study", "drift", "--dry-run")
        assert capsys.readouterr().out.startswith("ok")
    else:
        with pytest.raises(CommandError) as info:
            call_command("import_bundle", str(path), "--study", "drift", "--dry-run")
        assert info.value.returncode == 2
        _assert_refused_as_indexed(info.value.__cause__, case)
    assert not Study.objects.exists()
    assert not (tmp_path / "media").exists() or not any(p.is_file() for p in (tmp_path / "media").rglob("*"))


@pytest.mark.parametrize("case", BUNDLES, ids=_ids(BUNDLES))
def test_the_analysis_gives_each_bundle_its_verdict_on_the_manifest(case):
    path = HERE / case["path"]
    if case["valid"] or case["level"] == "files":
        systems, _ = read_bundle_metrics(path)
        assert set(systems) == {s["id"] for s in json.loads((path / "manifest.json").read_text())["systems"]}
        return
    with pytest.raises(BundleError) as info:
        read_bundle_metrics(path)
    _assert_refused_as_indexed(info.value, case)


def test_the_real_commands_exit_0_and_2(tmp_path):
    """``python -m generation validate`` and ``manage.py import_bundle --dry-run`` as processes."""
    env_db = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    import os

    env = {**os.environ, **env_db, "OMP_NUM_THREADS": "1"}
    for name, status in (("valid", 0), ("seed-negative", 2)):
        done = subprocess.run([sys.executable, "-m", "generation", "validate", str(HERE / "bundles" / name)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == status, done.stderr
        assert (done.stdout.startswith("ok") if status == 0 else "images[0].seed: " in done.stderr)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    for name, status in (("valid", 0), ("pair-given-twice", 2)):
        done = subprocess.run([sys.executable, "manage.py", "import_bundle", str(HERE / "bundles" / name),
                               "--study", "drift", "--dry-run"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == status, done.stderr
        assert (done.stdout.startswith("ok") if status == 0 else "comparisons[1].b: " in done.stderr)


# -- votes ------------------------------------------------------------------------------------

def _csv_rows(csv_path: Path) -> pd.DataFrame:
    """The CSV's cells as text, read by the csv module and formats.votes' rule for escaped cells (not by the
    analysis' reader under test)."""
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return pd.DataFrame([{k: csv_unescape(v) for k, v in row.items()} for row in rows])


def _as_jsonl(csv_path: Path, out: Path) -> Path:
    """The CSV's rows as JSON Lines, numbers and true/false as JSON values (as the export writes them)."""
    rows = _csv_rows(csv_path).to_dict("records")

    def typed(key, value):
        if key in ("seed", "response_ms") and value.isdigit():
            return int(value)
        return {"true": True, "false": False}.get(value, value) if key in ("attention_check",
                                                                           "annotator_excluded") else value

    out.write_text("".join(json.dumps({k: typed(k, v) for k, v in row.items()}) + "\n" for row in rows),
                   encoding="utf-8")
    return out


def _as_parquet(csv_path: Path, out: Path) -> Path:
    """The CSV as Parquet: a column whose every value is a number (or true/false) gets that type, as the export's."""
    frame = _csv_rows(csv_path)
    for column in ("seed", "response_ms"):
        if column in frame and frame[column].str.isdigit().all():
            frame[column] = frame[column].astype("int64")
    for column in ("attention_check", "annotator_excluded"):
        if column in frame and frame[column].isin(["true", "false"]).all():
            frame[column] = frame[column] == "true"
    frame.to_parquet(out)
    return out


@pytest.mark.parametrize("case", VOTES, ids=_ids(VOTES))
@pytest.mark.parametrize("reader", ["csv", "jsonl", "parquet"])
def test_the_analysis_readers_give_each_votes_file_its_verdict(case, reader, tmp_path):
    path = HERE / case["path"]
    if reader == "jsonl":
        path = _as_jsonl(path, tmp_path / "votes.jsonl")
    elif reader == "parquet":
        path = _as_parquet(path, tmp_path / "votes.parquet")
    if case["valid"]:
        votes = read_votes(path)
        assert len(votes) == 6 and set(votes["choice"]) == {"left", "right", "tie"}
        as_read = {c: [str(v) for v in votes[c]] for c in ("vote_id", "annotator", "system_left", "system_right",
                                                          "winner", "seed")}
        expected = _csv_rows(HERE / case["path"])
        expected = {c: [str(v).strip() for v in expected[c]] for c in as_read}
        assert as_read == expected  # every reader gives the values the file holds
        return
    with pytest.raises(VotesError) as info:
        read_votes(path)
    assert case["words"] in str(info.value)
