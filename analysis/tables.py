"""The CSV tables written beside a summary: one row builder and one column list per table.

Rules: a table has one row per entry of its summary section, every criterion
in turn, with a ``criterion`` column first; interval pairs are split into
``_low`` / ``_high`` columns (``ci95_<kind>_low`` for each bootstrap kind);
an empty cell means "none" (a missing value in the summary). Columns a row
lacks are left empty, entries a table does not list are left out.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .bootstrap import KINDS

__all__ = ["TABLES", "write_tables"]

#: ``ci95_<kind>_low``, ``ci95_<kind>_high`` for each bootstrap kind.
_KIND_COLUMNS = [f"ci95_{k}_{e}" for k in KINDS for e in ("low", "high")]


def _by_kind(row: dict, by_kind: dict) -> dict:
    """``row`` with each bootstrap kind's interval split into its two columns."""
    for kind, (lo, hi) in by_kind.items():
        row[f"ci95_{kind}_low"], row[f"ci95_{kind}_high"] = lo, hi
    return row


def _win_rate_rows(crit: str, res: dict) -> list[dict]:
    return [_by_kind({"criterion": crit, **r, "ci95_low": r["ci95"][0], "ci95_high": r["ci95"][1]},
                     r.get("ci95_by_bootstrap", {})) for r in res["win_rates"]]


def _bradley_terry_rows(crit: str, res: dict) -> list[dict]:
    rows = []
    for r in res["bradley_terry"]:
        row = {"criterion": crit, **r}
        row["ci95_low"], row["ci95_high"] = (r["ci95"] or [None, None])
        rows.append(_by_kind(row, r["ci95_by_bootstrap"]))
    return rows


def _agreement_rows(crit: str, res: dict) -> list[dict]:
    pb = res["position_bias"]
    return [{"criterion": crit, **res["agreement"], "left_rate": pb["left_rate"], "position_p_value": pb["p_value"],
             "tie_rate": res["tie_rate"]}]


def _annotator_rows(crit: str, res: dict) -> list[dict]:
    return [{"criterion": crit, **r} for r in res["annotator_agreement"]]


def _equivalence_rows(crit: str, res: dict) -> list[dict]:
    return [{"criterion": crit, **r, "ci90_low": r["ci90"][0], "ci90_high": r["ci90"][1]} for r in res["equivalence"]]


def _difference_rows(crit: str, res: dict) -> list[dict]:
    return [{"criterion": crit, **r, "ci95_low": r["ci95"][0], "ci95_high": r["ci95"][1],
             "elo_diff_ci95_low": r["elo_diff_ci95"][0], "elo_diff_ci95_high": r["elo_diff_ci95"][1]}
            for r in res.get("differences", [])]


def _drilldown_rows(crit: str, res: dict) -> list[dict]:
    """Each system against all others, then each pair: the prompts it wins and loses most."""
    drilldown = res.get("prompt_drilldown") or {}
    against = [(r["system"], "all", r) for r in drilldown.get("by_system", [])]
    against += [(r["a"], r["b"], r) for r in drilldown.get("by_pair", [])]
    return [{"criterion": crit, "system": system, "against": other, "direction": direction, **row}
            for system, other, r in against for direction in ("wins_most", "loses_most") for row in r[direction]]


def _correlation_rows(crit: str, res: dict) -> list[dict]:
    return [{"criterion": crit, **r} for r in res["correlation"]]


#: File name -> (row builder of one criterion, columns), in the order the files are written.
TABLES = {
    "win_rates.csv": (_win_rate_rows, ["criterion", "a", "b", "wins", "losses", "ties", "n", "win_rate", "ci95_low",
                                       "ci95_high", "p_value", "ci95_method", "se", "design_effect", "n_effective",
                                       "p_value_sign_test"] + _KIND_COLUMNS),
    "bradley_terry.csv": (_bradley_terry_rows, ["criterion", "system", "score", "ci95_low", "ci95_high",
                                                "ci95_method", "elo", "component", "regularized"] + _KIND_COLUMNS),
    "agreement.csv": (_agreement_rows, ["criterion", "krippendorff_alpha", "fleiss_kappa", "percent_agreement",
                                        "chance_agreement", "chance_agreement_with_majority", "coding", "n_items",
                                        "n_votes", "annotator_agreement_median", "n_annotators_with_one_vote",
                                        "left_rate", "position_p_value", "tie_rate", "note"]),
    "annotators.csv": (_annotator_rows, ["criterion", "annotator", "n_votes", "n_evaluable",
                                         "agreement_with_majority", "left_rate", "excluded"]),
    "equivalence.csv": (_equivalence_rows, ["criterion", "a", "b", "margin", "win_rate", "se", "se_method",
                                            "non_inferiority_p", "equivalence_p", "ci90_low", "ci90_high",
                                            "non_inferior", "equivalent"]),
    "differences.csv": (_difference_rows, ["criterion", "a", "b", "score_diff", "ci95_low", "ci95_high",
                                           "ci95_method", "se", "p_value", "elo_diff", "elo_diff_ci95_low",
                                           "elo_diff_ci95_high", "model_win_rate", "observed_win_rate"]),
    "prompt_drilldown.csv": (_drilldown_rows, ["criterion", "system", "against", "direction", "prompt", "wins",
                                               "losses", "ties", "n", "win_rate"]),
    "correlation.csv": (_correlation_rows, ["criterion", "metric", "level", "n", "spearman", "kendall", "pearson",
                                            "higher_wins_rate", "p_value", "n_equal", "lower_is_better", "note"]),
}


def _write_csv(path: Path, rows: list[dict], fields: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in fields})


def write_tables(summary: dict, out_dir: Path) -> list[Path]:
    """Write the CSV tables of :data:`TABLES` for a summary into ``out_dir``; returns their paths."""
    paths = []
    for name, (rows_of, fields) in TABLES.items():
        rows = [row for crit, res in summary["by_criterion"].items() for row in rows_of(crit, res)]
        _write_csv(out_dir / name, rows, fields)
        paths.append(out_dir / name)
    return paths
