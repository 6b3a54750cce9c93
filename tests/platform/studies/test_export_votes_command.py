"""manage.py export_votes: the same files as studies.export.write_votes."""
import json

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from studies.export import VOTE_COLUMNS

pytestmark = pytest.mark.django_db


@pytest.fixture
def voted(imported_study, add_vote):
    first, second = imported_study.comparisons.all()[:2]
    add_vote(first, "overall", "ann1", "left")
    add_vote(second, "overall", "ann1", "tie")
    return imported_study


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_it_writes_each_format(voted, tmp_path, fmt):
    out = tmp_path / f"votes.{fmt}"
    call_command("export_votes", voted.slug, "--format", fmt, "--out", str(out))
    if fmt == "csv":
        frame = pd.read_csv(out)
    elif fmt == "jsonl":
        frame = pd.DataFrame([json.loads(line) for line in out.read_text().splitlines()])
    else:
        frame = pd.read_parquet(out)
    assert tuple(frame.columns) == VOTE_COLUMNS and frame["choice"].tolist() == ["left", "tie"]


def test_it_takes_the_format_from_the_file_name(voted, tmp_path):
    call_command("export_votes", voted.slug, "--out", str(tmp_path / "v.jsonl"))
    assert len((tmp_path / "v.jsonl").read_text().splitlines()) == 2


def test_it_refuses_an_unknown_study_and_a_missing_folder(voted, tmp_path):
    with pytest.raises(CommandError, match="no study 'nope'"):
        call_command("export_votes", "nope", "--out", str(tmp_path / "v.csv"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_votes", voted.slug, "--out", str(tmp_path / "missing" / "v.csv"))
    with pytest.raises(CommandError, match="cannot tell"):
        call_command("export_votes", voted.slug, "--out", str(tmp_path / "v.txt"))
