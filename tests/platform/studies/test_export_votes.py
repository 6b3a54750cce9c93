"""studies.export: contract section 2 columns and meanings in CSV, JSON Lines and Parquet."""
import csv
import io
import json
from datetime import datetime

import pandas as pd
import pytest

from studies.errors import StudyError
from studies.export import EXPORT_FORMATS, VOTE_COLUMNS, stream_votes, votes_dataframe, write_votes
from studies.services import create_study_from_bundle

from tests.platform.bundles import write_bundle

pytestmark = pytest.mark.django_db


@pytest.fixture
def voted_study(tmp_path, owner, add_vote):
    study = create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b", n_prompts=2, seeds=(3,)),
                                     slug="exp", owner=owner, criteria=["overall", "quality"])
    first, second = study.comparisons.select_related("image_a__system", "image_b__system")[:2]
    add_vote(first, "overall", "anon-a", "left", external_id="PROLIFIC-123")
    add_vote(first, "overall", "anon-b", "right", swap=True, excluded=True)
    add_vote(second, "quality", "anon-a", "tie", attention_check=True, response_ms=777)
    return study, first, second


def test_the_dataframe_has_exactly_the_contract_columns_in_order(voted_study):
    frame = votes_dataframe(voted_study[0])
    assert tuple(frame.columns) == VOTE_COLUMNS == (
        "vote_id", "study", "criterion", "annotator", "prompt", "seed", "system_left", "system_right",
        "choice", "winner", "response_ms", "created_at", "attention_check", "annotator_excluded")
    assert len(frame) == 3


def test_rows_carry_the_contract_meanings(voted_study):
    study, first, second = voted_study
    rows = votes_dataframe(study).to_dict("records")
    a, b = first.image_a.system.key, first.image_b.system.key
    assert rows[0] | {"vote_id": None, "created_at": None} == {
        "vote_id": None, "study": "exp", "criterion": "overall", "annotator": "anon-a", "prompt": first.prompt.key,
        "seed": 3, "system_left": a, "system_right": b, "choice": "left", "winner": a, "response_ms": 1234,
        "created_at": None, "attention_check": False, "annotator_excluded": False}
    # swapped on screen, chose right: the winner is the system shown on the right
    assert (rows[1]["system_left"], rows[1]["system_right"], rows[1]["winner"]) == (b, a, a)
    assert rows[1]["annotator_excluded"] is True
    assert (rows[2]["choice"], rows[2]["winner"], rows[2]["attention_check"], rows[2]["response_ms"]) == (
        "tie", "tie", True, 777)
    for row in rows:
        assert datetime.fromisoformat(row["created_at"]).utcoffset() is not None
    assert len({row["vote_id"] for row in rows}) == 3


def test_the_raw_crowd_id_appears_only_when_asked(voted_study):
    study = voted_study[0]
    assert "PROLIFIC-123" not in votes_dataframe(study)["annotator"].tolist()
    revealed = votes_dataframe(study, reveal_external_ids=True)["annotator"].tolist()
    assert revealed == ["PROLIFIC-123", "anon-b", "PROLIFIC-123"]


def test_csv_has_a_header_and_lowercase_booleans(voted_study, tmp_path):
    path = tmp_path / "votes.csv"
    assert write_votes(voted_study[0], "csv", path) == 3
    rows = list(csv.DictReader(path.open(newline="")))
    assert tuple(rows[0]) == VOTE_COLUMNS
    assert [r["attention_check"] for r in rows] == ["false", "false", "true"]
    assert [r["annotator_excluded"] for r in rows] == ["false", "true", "false"]


def test_the_three_formats_hold_the_same_rows(voted_study, tmp_path):
    study = voted_study[0]
    expected = votes_dataframe(study)
    for fmt in EXPORT_FORMATS:
        path = tmp_path / f"votes{EXPORT_FORMATS[fmt]['extension']}"
        write_votes(study, fmt, path)
        if fmt == "csv":
            got = pd.read_csv(path, dtype=str, keep_default_na=False)
            got["attention_check"] = got["attention_check"] == "true"
            got["annotator_excluded"] = got["annotator_excluded"] == "true"
        elif fmt == "jsonl":
            got = pd.DataFrame([json.loads(line) for line in path.read_text().splitlines()])
        else:
            got = pd.read_parquet(path)
        assert tuple(got.columns) == VOTE_COLUMNS, fmt
        pd.testing.assert_frame_equal(got.astype(expected.dtypes.to_dict()), expected, check_dtype=False)


def test_the_analysis_reader_accepts_every_format(voted_study, tmp_path):
    from analysis.io import read_votes

    for fmt, info in EXPORT_FORMATS.items():
        path = tmp_path / f"votes{info['extension']}"
        write_votes(voted_study[0], fmt, path)
        assert len(read_votes(path)) == 3, fmt


def test_an_empty_study_exports_headers_only(imported_study, tmp_path):
    assert write_votes(imported_study, "csv", tmp_path / "v.csv") == 0
    assert (tmp_path / "v.csv").read_text().strip() == ",".join(VOTE_COLUMNS)
    assert write_votes(imported_study, "parquet", tmp_path / "v.parquet") == 0
    assert tuple(pd.read_parquet(tmp_path / "v.parquet").columns) == VOTE_COLUMNS
    assert list(votes_dataframe(imported_study).columns) == list(VOTE_COLUMNS)


def test_streaming_yields_the_same_bytes_as_writing(voted_study):
    study = voted_study[0]
    for fmt in ("csv", "jsonl"):
        buffer = io.BytesIO()
        write_votes(study, fmt, buffer)
        assert b"".join(stream_votes(study, fmt)) == buffer.getvalue()


def test_it_refuses_an_unknown_format(voted_study, tmp_path):
    with pytest.raises(StudyError, match="'xlsx' is not one of csv, jsonl, parquet"):
        write_votes(voted_study[0], "xlsx", tmp_path / "v.xlsx")
    assert not (tmp_path / "v.xlsx").exists()


def test_every_format_reads_back_in_the_analysis_as_written_formula_like_cells_included(tmp_path, owner, add_vote):
    """The CSV export marks cells a spreadsheet would run (formats.votes.csv_safe); the analysis takes the mark off,
    so a system id starting with '-' (a valid id) and a crowd id like '=1+1' read back as in JSON Lines and Parquet."""
    from analysis.io import read_votes

    bundle = write_bundle(tmp_path / "b", systems=("-fp16", "w4a8", "-w4a8-qsched"), n_prompts=1)
    study = create_study_from_bundle(bundle_dir=bundle, slug="esc", owner=owner)
    for i, comparison in enumerate(study.comparisons.all()):
        add_vote(comparison, "overall", f"anon-{i}", ("left", "right", "tie")[i % 3],
                 external_id=("=1+1", "'quoted", "plain")[i % 3])
    frames = {}
    for fmt, info in EXPORT_FORMATS.items():
        path = tmp_path / f"votes{info['extension']}"
        write_votes(study, fmt, path, reveal_external_ids=True)
        frame = read_votes(path)
        frames[fmt] = frame.astype({c: object for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
                                    and not pd.api.types.is_bool_dtype(frame[c])})
    assert set(frames["csv"]["system_left"]) | set(frames["csv"]["system_right"]) == {"-fp16", "w4a8", "-w4a8-qsched"}
    assert set(frames["csv"]["annotator"]) == {"=1+1", "'quoted", "plain"}
    for fmt in ("jsonl", "parquet"):
        pd.testing.assert_frame_equal(frames["csv"], frames[fmt], check_dtype=False, check_categorical=False)
