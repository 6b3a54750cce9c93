import json
from pathlib import Path

import numpy as np
import pytest

from analysis.__main__ import main
from analysis.io import read_bundle_metrics, read_votes
from analysis.report import build_summary, write_report

DATA = Path(__file__).parent / "data"
CASE = json.loads((DATA / "small_case.json").read_text())


@pytest.fixture(scope="module")
def small_summary():
    votes = read_votes(DATA / CASE["votes"])
    metrics, images = read_bundle_metrics(DATA / CASE["bundle"])
    comps = [(c["a"], c["b"]) for c in json.loads((DATA / CASE["bundle"]).read_text())["comparisons"]]
    return build_summary(votes, metrics=metrics, image_metrics=images, comparisons=comps, n_bootstrap=200)


def test_the_summary_has_the_contract_shape(small_summary):
    s = small_summary
    assert s["format"] == "qsched-analysis/1"
    assert s["n_votes"] == CASE["n_votes"] and s["n_votes_counted"] == CASE["n_votes_counted"]
    res = s["by_criterion"]["overall"]
    assert set(res["systems"]) == {"fp16", "w4a8", "w4a8-qsched"}
    for key in ("win_rates", "bradley_terry", "agreement", "position_bias", "correlation"):
        assert key in res
    for r in res["win_rates"]:
        assert {"a", "b", "wins", "losses", "ties", "win_rate", "ci95", "p_value"} <= set(r)
    for r in res["bradley_terry"]:
        assert {"system", "score", "ci95", "elo"} <= set(r)
    assert {"krippendorff_alpha", "fleiss_kappa", "percent_agreement", "n_items"} <= set(res["agreement"])
    json.dumps(s, allow_nan=False)  # strict JSON: no NaN anywhere


def test_the_small_case_matches_hand_counts_and_choix(small_summary):
    res = small_summary["by_criterion"]["overall"]
    got = {(r["a"], r["b"]): r for r in res["win_rates"]}
    for exp in CASE["win_rates"]:
        r = got[(exp["a"], exp["b"])]  # oriented as the bundle's comparisons
        assert (r["wins"], r["losses"], r["ties"]) == (exp["wins"], exp["losses"], exp["ties"])
        assert r["win_rate"] == pytest.approx(exp["win_rate"], abs=1e-12)
    for r in res["bradley_terry"]:
        assert r["score"] == pytest.approx(CASE["bradley_terry"][r["system"]], abs=1e-6)


def test_metric_correlation_at_system_and_comparison_level(small_summary):
    rows = {(r["metric"], r["level"]): r for r in small_summary["by_criterion"]["overall"]["correlation"]}
    jaq = rows[("jaq", "system")]
    assert jaq["n"] == 3 and jaq["spearman"] is not None
    bt = {r["system"]: r["score"] for r in small_summary["by_criterion"]["overall"]["bradley_terry"]}
    from scipy.stats import spearmanr
    metrics, _ = read_bundle_metrics(DATA / CASE["bundle"])
    systems = sorted(bt)
    assert jaq["spearman"] == pytest.approx(spearmanr([bt[s] for s in systems],
                                                      [metrics[s]["jaq"] for s in systems]).statistic)
    assert rows[("fid", "system")]["lower_is_better"] is True
    comp = rows[("jaq", "comparison")]
    assert comp["n"] > 0 and 0 <= comp["higher_wins_rate"] <= 1


def test_comparison_level_counts_by_hand():
    import pandas as pd

    from analysis.correlation import comparison_correlation
    frame = pd.DataFrame({"winner_system": ["x", "x", "y", "x"], "loser_system": ["y", "y", "x", "y"],
                          "prompt": ["p", "q", "p", "r"], "seed": [0, 0, 0, 0]})
    images = {("x", "p", 0): {"jaq": 0.9}, ("y", "p", 0): {"jaq": 0.1}, ("x", "q", 0): {"jaq": 0.2},
              ("y", "q", 0): {"jaq": 0.2}}
    (row,) = comparison_correlation(frame, images)
    # vote 1: higher won; vote 2: equal values; vote 3: lower won; vote 4: no metrics
    assert (row["n"], row["n_equal"], row["higher_wins_rate"]) == (2, 1, 0.5)


def test_too_few_systems_for_a_correlation_is_said():
    from analysis.correlation import system_correlation
    (row,) = system_correlation({"a": 0.1, "b": -0.1}, {"a": {"jaq": 1.0}, "b": {"jaq": 0.5}})
    assert row["spearman"] is None and "at least 3" in row["note"]


def test_attention_checks_and_the_exclusion_rule(small_summary):
    att = small_summary["attention_checks"]
    assert att["n_checks"] == 2 and att["n_evaluable"] == 2 and att["pass_rate"] == 0.5
    assert att["n_annotators_excluded"] == 1
    eff = small_summary["by_criterion"]["overall"]["exclusion_effect"]
    assert eff["n_votes_excluded"] == CASE["n_votes"] - 2 - CASE["n_votes_counted"]
    assert "max_abs_score_change" in eff


def test_write_report_writes_tables_and_plots(tmp_path):
    votes = read_votes(DATA / CASE["votes"])
    metrics, _ = read_bundle_metrics(DATA / CASE["bundle"])
    out = write_report(votes, tmp_path / "rep", n_bootstrap=50, metrics=metrics)
    names = {p.name for p in out.iterdir()}
    for f in ("summary.json", "win_rates.csv", "agreement.csv", "bradley_terry.csv", "annotators.csv",
              "equivalence.csv", "correlation.csv", "bt_overall.png", "bt_overall.svg",
              "win_rate_matrix_overall.png", "score_vs_jaq_overall.svg", "agreement_annotators_overall.png"):
        assert f in names, f
    summary = json.loads((out / "summary.json").read_text())
    assert "bt_overall.png" in summary["plots"]
    header = (out / "win_rates.csv").read_text().splitlines()[0]
    assert header.startswith("criterion,a,b,wins,losses,ties,n,win_rate,ci95_low,ci95_high,p_value")


def test_the_cli_writes_a_report_and_prints_the_ranking(tmp_path, capsys):
    rc = main(["report", str(DATA / CASE["votes"]), "--out", str(tmp_path / "o"), "--bundle", str(DATA),
               "--n-bootstrap", "30", "--no-plots", "--quiet", "--bootstrap", "prompt"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "w4a8-qsched" in text and "prompt bootstrap" in text
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["settings"]["bootstrap"] == "prompt"
    assert any(r["metric"] == "fid" for r in summary["by_criterion"]["overall"]["correlation"])


def test_the_cli_reports_bad_input_without_a_traceback(tmp_path, capsys):
    bad = tmp_path / "v.csv"
    bad.write_text("vote_id,study\n1,s\n")
    assert main(["report", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "missing column" in capsys.readouterr().err


def test_the_power_command(capsys):
    assert main(["power", "--win-rate", "0.55"]) == 0
    assert json.loads(capsys.readouterr().out)["votes_needed"] == 783


def test_build_summary_rejects_bad_settings():
    votes = read_votes(DATA / CASE["votes"])
    with pytest.raises(ValueError, match="bootstrap must be one of"):
        build_summary(votes, bootstrap="pairs")
    with pytest.raises(ValueError, match="n_bootstrap must be a non-negative integer"):
        build_summary(votes, n_bootstrap=-1)


def test_include_excluded_counts_the_excluded_annotator():
    votes = read_votes(DATA / CASE["votes"])
    s = build_summary(votes, n_bootstrap=0, include_excluded=True)
    assert s["n_votes_counted"] == CASE["n_votes"] - 2
    assert np.isfinite(s["by_criterion"]["overall"]["bradley_terry"][0]["score"])
