"""Intervals for differences between systems, the per-prompt drill-down, and what the plots mark."""
import json

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.report import build_summary, write_report
from analysis.synthetic import simulate_votes
from tests.analysis.conftest import votes_from_counts


def test_every_pair_of_scored_systems_gets_a_difference_with_its_interval(known_votes):
    res = build_summary(known_votes, n_bootstrap=200)["by_criterion"]["overall"]
    scores = {r["system"]: r["score"] for r in res["bradley_terry"]}
    rows = res["differences"]
    assert len(rows) == 6
    for r in rows:
        assert scores[r["a"]] >= scores[r["b"]]
        assert r["score_diff"] == pytest.approx(scores[r["a"]] - scores[r["b"]])
        assert r["ci95"][0] <= r["score_diff"] <= r["ci95"][1]
        assert r["elo_diff"] == pytest.approx(400 / np.log(10) * r["score_diff"])
        assert "annotator bootstrap" in r["ci95_method"] or "prompt bootstrap" in r["ci95_method"]
        assert r["observed_win_rate"] is not None  # all pairs were compared
    zeta_alpha = next(r for r in rows if (r["a"], r["b"]) == ("zeta", "alpha"))
    assert zeta_alpha["ci95"][0] < 2.0 < zeta_alpha["ci95"][1]
    assert zeta_alpha["p_value"] < 1e-6


def test_systems_in_different_groups_get_no_difference():
    votes = votes_from_counts([("a", "b", "left", 5), ("a", "b", "right", 3), ("c", "d", "left", 4),
                               ("c", "d", "right", 4)], annotator_cycle=4)
    res = build_summary(votes, n_bootstrap=50)["by_criterion"]["overall"]
    assert {(r["a"], r["b"]) for r in res["differences"]} == {("a", "b"), ("c", "d")} or \
        {frozenset((r["a"], r["b"])) for r in res["differences"]} == {frozenset("ab"), frozenset("cd")}


def test_the_drilldown_names_the_prompts_a_system_wins_and_loses_most():
    rows = ([("new", "old", "left", 6)] + [("new", "old", "right", 1)])
    votes = pd.concat([votes_from_counts(rows, prompt="sunset", annotator_cycle=3),
                       votes_from_counts([("new", "old", "right", 5)], prompt="fox", start=100, annotator_cycle=3),
                       votes_from_counts([("new", "old", "tie", 4)], prompt="calm", start=200, annotator_cycle=3)],
                      ignore_index=True)
    res = build_summary(votes, n_bootstrap=0, comparisons=[("new", "old")])["by_criterion"]["overall"]
    drill = res["prompt_drilldown"]
    new = next(r for r in drill["by_system"] if r["system"] == "new")
    assert [p["prompt"] for p in new["wins_most"]] == ["sunset"] and new["wins_most"][0]["wins"] == 6
    assert [p["prompt"] for p in new["loses_most"]] == ["fox"] and new["loses_most"][0]["losses"] == 5
    old = next(r for r in drill["by_system"] if r["system"] == "old")
    assert [p["prompt"] for p in old["wins_most"]] == ["fox"]
    (pair,) = drill["by_pair"]
    assert (pair["a"], pair["b"]) == ("new", "old") and pair["wins_most"][0]["prompt"] == "sunset"


def test_the_summary_states_the_elo_anchor_and_the_report_writes_the_new_tables(tmp_path):
    votes = simulate_votes({"a": 0.4, "b": 0.0, "c": -0.3}, 900, n_annotators=20, seed=2)
    out = write_report(votes, tmp_path / "r", n_bootstrap=50, plots=False)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["elo_anchor"]["formula"] == "elo = 1000 + 400 * score / ln(10)"
    assert "average system" in summary["elo_anchor"]["anchor"]
    header = (out / "differences.csv").read_text().splitlines()[0]
    assert header.startswith("criterion,a,b,score_diff,ci95_low,ci95_high,ci95_method")
    drill = (out / "prompt_drilldown.csv").read_text().splitlines()
    assert drill[0] == "criterion,system,against,direction,prompt,wins,losses,ties,n,win_rate" and len(drill) > 3


def test_the_ranking_plot_draws_groups_apart_marks_regularized_scores_and_states_the_anchor(tmp_path):
    one = votes_from_counts([("a", "b", "left", 6), ("a", "b", "right", 4), ("b", "c", "left", 5),
                             ("b", "c", "right", 5)], annotator_cycle=5)
    sweep = votes_from_counts([("x", "y", "left", 8)], start=100, annotator_cycle=4)  # x wins everything
    votes = pd.concat([one, sweep], ignore_index=True)
    out = write_report(votes, tmp_path / "r", n_bootstrap=30)
    svg = (out / "bt_overall.svg").read_text()
    assert "group 1: scores comparable only within the group" in svg.replace("&#39;", "'") or "group 1" in svg
    assert "group 2" in svg and "x (regularized)" in svg
    assert "Elo = 1000 + 400 score / ln 10" in svg


def test_the_annotator_histogram_leaves_excluded_annotators_out_and_draws_the_chance_line(tmp_path):
    votes = simulate_votes({"a": 0.4, "b": 0.0}, 600, n_annotators=12, n_prompts=10, excluded_share=0.3, seed=5)
    out = write_report(votes, tmp_path / "r", n_bootstrap=0)
    summary = json.loads((out / "summary.json").read_text())
    res = summary["by_criterion"]["overall"]
    kept = [r for r in res["annotator_agreement"] if not r["excluded"] and r["agreement_with_majority"] is not None]
    svg = (out / "agreement_annotators_overall.svg").read_text()
    assert f"(n={len(kept)})" in svg and "chance" in svg
    assert any(r["excluded"] for r in res["annotator_agreement"])


def test_the_cli_answers_a_question_and_the_power_command_reads_a_design_effect(tmp_path, capsys):
    votes = simulate_votes({"new": 0.05, "old": 0.0}, 2000, n_annotators=30, annotator_sd=0.5, seed=9)
    votes.to_csv(tmp_path / "v.csv", index=False)
    (tmp_path / "q.json").write_text(json.dumps({"kind": "non-inferiority", "a": "new", "b": "old", "margin": 0.05,
                                                 "planned_votes": 2000}))
    assert main(["report", str(tmp_path / "v.csv"), "--out", str(tmp_path / "o"), "--question",
                 str(tmp_path / "q.json"), "--no-plots", "--quiet", "--n-bootstrap", "50"]) == 0
    text = capsys.readouterr().out
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["question"]["line"] in text and summary["question"]["answer"] in ("yes", "no", "not yet")
    deff = summary["by_criterion"]["overall"]["design_effect"]["annotator_x_prompt"]
    assert main(["power", "--win-rate", "0.5", "--test", "non-inferiority", "--margin", "0.05",
                 "--summary", str(tmp_path / "o" / "summary.json")]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["design_effect"] == pytest.approx(deff)
    from analysis.power import votes_needed
    assert plan["votes_needed"] == votes_needed(0.5, test="non-inferiority", margin=0.05, design_effect=deff)
    assert plan["votes_needed"] > 615 * 0.99 * deff
