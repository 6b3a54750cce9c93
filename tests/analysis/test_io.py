import json

import pandas as pd
import pytest

from analysis.io import (
    REQUIRED_COLUMNS,
    VotesError,
    read_bundle_metrics,
    read_votes,
    validate_votes,
)
from tests.analysis.conftest import votes_from_counts


def _small():
    return votes_from_counts([("x", "y", "left", 3), ("y", "x", "tie", 1), ("x", "y", "right", 2)])


def test_it_reads_csv_jsonl_and_parquet_the_same(tmp_path):
    df = _small()
    df.to_csv(tmp_path / "v.csv", index=False)
    df.to_json(tmp_path / "v.jsonl", orient="records", lines=True)
    df.to_parquet(tmp_path / "v.parquet")
    frames = [read_votes(tmp_path / f"v.{ext}") for ext in ("csv", "jsonl", "parquet")]
    for f in frames:
        assert len(f) == 6
        assert list(f["winner"].astype(str)) == list(df["winner"])
        assert f["attention_check"].dtype == bool and not f["attention_check"].any()
        assert f["seed"].tolist() == list(range(6))


def test_it_names_missing_columns(tmp_path):
    df = _small().drop(columns=["winner", "seed"])
    df.to_csv(tmp_path / "v.csv", index=False)
    with pytest.raises(VotesError, match="missing column.*seed.*winner"):
        read_votes(tmp_path / "v.csv")
    with pytest.raises(VotesError, match="missing column"):
        validate_votes(df)


def test_it_rejects_unknown_choice_values_with_the_row():
    df = _small()
    df.loc[4, "choice"] = "both"
    with pytest.raises(VotesError, match=r"unknown choice value\(s\) 'both' at row\(s\) 6"):
        validate_votes(df)


def test_it_rejects_empty_input(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(VotesError, match="empty"):
        read_votes(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text(",".join(REQUIRED_COLUMNS) + "\n")
    with pytest.raises(VotesError, match="empty input"):
        read_votes(tmp_path / "header.csv")
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(VotesError, match="empty input"):
        read_votes(tmp_path / "e.jsonl")


def test_it_rejects_a_winner_that_contradicts_the_choice():
    df = _small()
    df.loc[0, "winner"] = "y"  # choice left, left is x
    with pytest.raises(VotesError, match="winner contradicts choice at row\\(s\\) 2"):
        validate_votes(df)


def test_it_rejects_a_system_compared_with_itself():
    df = _small()
    df.loc[1, "system_right"] = "x"
    with pytest.raises(VotesError, match="system_left equals system_right"):
        validate_votes(df)


def test_it_rejects_unparsable_booleans():
    df = _small()
    df["attention_check"] = df["attention_check"].astype(object)
    df.loc[2, "attention_check"] = "maybe"
    with pytest.raises(VotesError, match="attention_check must be true/false, got 'maybe'"):
        validate_votes(df)


def test_it_reports_bad_json_lines(tmp_path):
    (tmp_path / "v.jsonl").write_text('{"a": 1}\n{oops\n')
    with pytest.raises(VotesError, match="line 2"):
        read_votes(tmp_path / "v.jsonl")


def test_it_rejects_an_unknown_file_type(tmp_path):
    (tmp_path / "v.xlsx").write_text("x")
    with pytest.raises(VotesError, match="unknown votes file type"):
        read_votes(tmp_path / "v.xlsx")


def test_it_reads_metrics_from_a_bundle(tmp_path):
    manifest = {"format": "qsched-bundle/1", "name": "b",
                "systems": [{"id": "x", "metrics": {"jaq": 0.5, "fid": 20}}, {"id": "y"}],
                "prompts": [{"id": "p1", "text": "a prompt"}],  # a manifest the importer accepts too
                "images": [{"system": "x", "prompt": "p1", "seed": 0, "path": "i.png", "metrics": {"jaq": 0.7}},
                           {"system": "y", "prompt": "p1", "seed": 0, "path": "j.png"}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    systems, images = read_bundle_metrics(tmp_path)
    assert systems == {"x": {"jaq": 0.5, "fid": 20.0}, "y": {}}
    assert images == {("x", "p1", 0): {"jaq": 0.7}}


def test_validated_frames_keep_categories_without_unused_values():
    df = _small()
    df["system_left"] = pd.Categorical(df["system_left"], categories=["x", "y", "unused"])
    out = validate_votes(df)
    assert list(out["system_left"].cat.categories) == ["x", "y"]


def test_the_same_votes_in_another_row_order_give_the_same_seeded_cluster_bootstrap(tmp_path):
    from analysis.io import read_votes
    from analysis.report import build_summary
    from analysis.synthetic import simulate_votes

    votes = simulate_votes({"x": 0.3, "y": 0.0, "z": -0.2}, 600, n_annotators=15, n_prompts=20, seed=4)
    votes.to_csv(tmp_path / "a.csv", index=False)
    votes.iloc[::-1].to_csv(tmp_path / "b.csv", index=False)  # categories appear in another order
    kw = {"n_bootstrap": 50, "seed": 3}
    for kind in ("annotator", "prompt"):
        first = build_summary(read_votes(tmp_path / "a.csv"), bootstrap=kind, **kw)
        second = build_summary(read_votes(tmp_path / "b.csv"), bootstrap=kind, **kw)
        assert first["by_criterion"]["overall"]["bradley_terry"] == second["by_criterion"]["overall"]["bradley_terry"]


def test_duplicated_vote_ids_are_refused_and_named(tmp_path):
    df = pd.concat([_small(), _small().iloc[:2]], ignore_index=True)
    with pytest.raises(VotesError, match=r"duplicated vote_id 'v0', 'v1'.*must be unique"):
        validate_votes(df)
    df.to_csv(tmp_path / "v.csv", index=False)
    with pytest.raises(VotesError, match="duplicated vote_id 'v0', 'v1'"):
        read_votes(tmp_path / "v.csv")


def test_vote_ids_that_differ_only_by_spaces_are_duplicates():
    df = _small()
    df.loc[1, "vote_id"] = " v0 "
    with pytest.raises(VotesError, match="duplicated vote_id 'v0'"):
        validate_votes(df)


def test_a_csv_with_a_utf8_byte_order_mark_reads_like_one_without(tmp_path):
    df = _small()
    df.to_csv(tmp_path / "plain.csv", index=False)
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "plain.csv").read_bytes())
    plain, bom = read_votes(tmp_path / "plain.csv"), read_votes(tmp_path / "bom.csv")
    assert list(bom.columns) == list(plain.columns)
    assert list(bom["vote_id"]) == list(plain["vote_id"])


def test_stray_spaces_around_ids_are_stripped_so_one_system_stays_one(tmp_path):
    df = _small()
    df["system_left"] = df["system_left"].map(lambda s: s + " " if s == "x" else s)
    df["winner"] = df["winner"].map(lambda s: " x" if s == "x" else s)
    df.to_csv(tmp_path / "v.csv", index=False)
    for frame in (validate_votes(df), read_votes(tmp_path / "v.csv")):
        assert sorted(set(frame["system_left"]) | set(frame["system_right"])) == ["x", "y"]
    from analysis.report import build_summary
    assert build_summary(df, n_bootstrap=0)["systems"] == ["x", "y"]


@pytest.mark.parametrize("column,value", [("system_left", "NaN"), ("prompt", "null"), ("annotator", "None"),
                                          ("criterion", "nan")])
def test_a_literal_missing_value_is_not_an_id(column, value):
    df = _small()
    df[column] = df[column].astype(object)
    df.loc[2, column] = value
    if column == "system_left":
        df.loc[2, "winner"] = {"left": value, "right": df.loc[2, "system_right"], "tie": "tie"}[df.loc[2, "choice"]]
    with pytest.raises(VotesError, match=f"column {column} has an empty or missing value.*row\\(s\\) 4"):
        validate_votes(df)


def test_a_missing_value_in_jsonl_is_refused(tmp_path):
    df = _small()
    df.to_json(tmp_path / "v.jsonl", orient="records", lines=True)
    lines = (tmp_path / "v.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"prompt":"p1"', '"prompt":null')
    (tmp_path / "v.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(VotesError, match="column prompt has empty values at row\\(s\\) 3"):
        read_votes(tmp_path / "v.jsonl")


@pytest.mark.parametrize("bad", ["a b", "x" * 65, "sys/1", "é"])
def test_system_ids_follow_the_contract_id_rule(bad):
    df = _small()
    for col in ("system_left", "winner"):
        df[col] = df[col].replace("x", bad)
    df["system_right"] = df["system_right"].replace("x", bad)
    with pytest.raises(VotesError, match="ids are 1-64 characters of A-Z a-z 0-9"):
        validate_votes(df)


def test_a_bundle_system_without_votes_is_listed_among_pairs_without_votes():
    from analysis.report import build_summary
    res = build_summary(_small(), n_bootstrap=0, systems=["x", "y", "z"])["by_criterion"]["overall"]
    assert res["pairs_without_votes"] == [["x", "z"], ["y", "z"]]
    assert any("never compared" in note and "z" in note for note in res["notes"])
    res = build_summary(_small(), n_bootstrap=0, systems=["x", "y", "z"],
                        comparisons=[("z", "x"), ("x", "y")])["by_criterion"]["overall"]
    assert res["pairs_without_votes"] == [["z", "x"]]
