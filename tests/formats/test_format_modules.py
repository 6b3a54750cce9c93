"""formats/: each module stands alone (no torch, no Django) and states its rules in code."""
import subprocess
import sys
from pathlib import Path

import pytest

from formats import ids, report, votes
from formats.bundle import BundleError, check_manifest, check_pairs

ROOT = Path(__file__).resolve().parents[2]


def test_the_format_modules_import_neither_torch_nor_django():
    code = ("import sys, formats.bundle, formats.ids, formats.votes, formats.report; "
            "print(sorted(m for m in ('torch', 'django', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("value, ok", [("w4a8-qsched", True), ("a" * 64, True), ("a" * 65, False), ("", False),
                                       ("p 1", False), ("p1\n", False), ("é", False), (7, False), (None, False)])
def test_the_id_rule(value, ok):
    assert ids.is_id(value) is ok


def test_a_tie_is_half_a_win_and_no_votes_is_no_rate():
    assert votes.win_rate(5, 0, 1) == pytest.approx(5.5 / 6)
    assert votes.win_rate(0, 0, 4) == 0.5
    assert votes.win_rate(0, 0, 0) is None


@pytest.mark.parametrize("attention_check, excluded, counted", [(False, False, True), (True, False, False),
                                                                 (False, True, False), (True, True, False)])
def test_only_regular_votes_of_annotators_not_excluded_count(attention_check, excluded, counted):
    assert votes.is_counted({"attention_check": attention_check, "annotator_excluded": excluded}) is counted


def test_the_winner_is_the_chosen_side_or_tie():
    assert [votes.winner_of(c, "x", "y") for c in votes.CHOICES] == ["x", "y", votes.TIE]
    with pytest.raises(ValueError, match="choice must be one of left, right, tie"):
        votes.winner_of("maybe", "x", "y")


def test_duplicate_vote_ids_are_named_once_each():
    assert votes.duplicate_ids(["a", "b", "a", "c", "a", "b"]) == ["a", "b"]
    assert votes.duplicate_ids(["a", "b"]) == []


def test_plot_names_are_kind_and_criterion_slug():
    assert report.plot_file("bt", "overall") == "bt_overall.png"
    assert report.plot_file("score_vs_clip_score", "over all", "svg") == "score_vs_clip_score_over-all.svg"
    with pytest.raises(ValueError, match="png, svg"):
        report.plot_file("bt", "overall", "pdf")


def test_the_headline_keeps_what_the_study_page_shows():
    res = {"bradley_terry": [{"system": "a", "score": 0.1, "ci95": [0, 0.2], "elo": 1017.4}],
           "interval_method": "annotator bootstrap", "n_votes": 12,
           "agreement": {"krippendorff_alpha": 0.4, "fleiss_kappa": 0.39, "n_items": 3, "percent_agreement": 0.7,
                         "chance_agreement": 0.5},
           "design_effect": {"annotator_x_prompt": 1.3, "annotator": 1.2},
           "differences": [{"a": "a", "b": str(i)} for i in range(12)], "notes": ["n is small"], "win_rates": []}
    shown = report.headline({"format": report.REPORT_FORMAT, "by_criterion": {"overall": res}})
    assert shown == {"overall": {"bradley_terry": res["bradley_terry"], "interval_method": "annotator bootstrap",
                                 "n_votes": 12, "notes": ["n is small"], "ranking_plot": "bt_overall.png",
                                 "design_effect": 1.3, "differences": res["differences"][:10],
                                 "agreement": {"krippendorff_alpha": 0.4, "fleiss_kappa": 0.39, "n_items": 3,
                                               "chance_agreement": 0.5}}}


def _manifest(**changes):
    manifest = {"format": "qsched-bundle/1", "systems": [{"id": "a"}, {"id": "b"}],
                "prompts": [{"id": "p1", "text": "t"}],
                "images": [{"system": s, "prompt": "p1", "seed": 0, "path": f"{s}.png"} for s in "ab"]}
    manifest.update(changes)
    return manifest


def test_the_manifest_check_needs_no_files_and_gives_the_metrics_and_pairs():
    spec = check_manifest(_manifest(systems=[{"id": "a", "metrics": {"jaq": 0.5, "fid": None}}, {"id": "b"}]))
    assert spec.system_metrics() == {"a": {"jaq": 0.5}, "b": {}}
    assert spec.pairs == [("a", "b")] and spec.listed_pairs is None
    assert check_manifest(_manifest(comparisons=[{"a": "b", "b": "a"}])).listed_pairs == [("b", "a")]


@pytest.mark.parametrize("entries, where, words", [
    ([{"a": "a", "b": "b"}, {"a": "b", "b": "a"}], "comparisons[1].b", "duplicate pair"),
    ([{"a": "a", "b": "a"}], "comparisons[0].b", "itself"),
    ([{"a": "a", "b": "z"}], "comparisons[0].b", "unknown system 'z'; the systems are a, b"),
    (["a:b"], "comparisons[0]", "JSON object"),
])
def test_pairs_are_refused_by_one_rule(entries, where, words):
    with pytest.raises(BundleError) as info:
        check_pairs(entries, ["a", "b"])
    assert str(info.value).startswith(f"{where}: ") and words in str(info.value)


def test_a_bundle_error_survives_pickling_with_entry_and_field():
    import pickle

    error = pickle.loads(pickle.dumps(BundleError("images[3]", "sha256", "does not match")))
    assert (error.entry, error.field, str(error)) == ("images[3]", "sha256", "images[3].sha256: does not match")


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1", "-fp16", "@SUM(A1)", "\tTAB", "\r=1", "'quoted",
                                   "''", "plain", "a-1f2e", ""])
def test_a_csv_cell_reads_back_as_written_and_never_starts_like_a_formula(value):
    cell = votes.csv_safe(value)
    assert votes.csv_unescape(cell) == value
    assert not cell.startswith(votes.FORMULA_STARTS)


def test_numbers_and_flags_are_not_escaped():
    assert [votes.csv_safe(v) for v in (5, True, None)] == [5, True, None]
