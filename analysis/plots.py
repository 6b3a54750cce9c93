"""Figures of a summary, as PNG and SVG (matplotlib, no display needed).

Rules: a disconnected comparison graph is drawn as separate, labelled groups
(their scores cannot be compared); regularized scores (no maximum-likelihood
estimate, e.g. a system that wins everything) are drawn hollow and marked;
the Elo anchor is written on the ranking plot; agreement plots carry their
chance line and leave excluded annotators out.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from formats.report import PLOT_EXTENSIONS, plot_file, slug

__all__ = ["write_plots"]


def _save(fig, out: Path, kind: str, criterion: str) -> list[Path]:
    """Save ``fig`` under the report format's plot names (:func:`formats.report.plot_file`), PNG and SVG."""
    paths = []
    for ext in PLOT_EXTENSIONS:
        path = out / plot_file(kind, criterion, ext)
        fig.savefig(path, dpi=120, bbox_inches="tight")
        paths.append(path)
    return paths


def write_plots(summary: dict, out: Path, metrics: dict | None = None) -> list[Path]:
    """Draw, per criterion: BT scores with intervals, the win-rate matrix,
    score against each system metric, and agreement per annotator.

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    paths: list[Path] = []
    for crit, res in summary["by_criterion"].items():
        if res["bradley_terry"]:
            paths += _ranking_plot(plt, res["bradley_terry"], res, summary, crit, out)
        if len(res["win_rate_matrix"]["systems"]) > 1:
            paths += _win_rate_matrix_plot(plt, res["win_rate_matrix"], crit, out)
        score = {r["system"]: r["score"] for r in res["bradley_terry"]}
        for row in res["correlation"]:
            if row["level"] == "system" and metrics and row["n"] >= 2:
                paths += _score_vs_metric_plot(plt, row, score, metrics, crit, out)
        rates = [r["agreement_with_majority"] for r in res["annotator_agreement"]
                 if r["agreement_with_majority"] is not None and not r["excluded"]]
        if rates:
            paths += _agreement_plot(plt, rates, res["agreement"].get("chance_agreement_with_majority"), crit, out)
    return paths


def _win_rate_matrix_plot(plt, matrix: dict, crit: str, out: Path) -> list[Path]:
    """Win rate of each row system against each column system, values written in cells up to 12 systems."""
    systems = matrix["systems"]
    vals = np.array([[np.nan if v is None else v for v in row] for row in matrix["values"]], dtype=float)
    fig, ax = plt.subplots(figsize=(1 + 0.5 * len(systems), 0.8 + 0.5 * len(systems)))
    im = ax.imshow(vals, vmin=0, vmax=1, cmap="RdBu")
    ax.set_xticks(range(len(systems)), systems, rotation=60, ha="right")
    ax.set_yticks(range(len(systems)), systems)
    if len(systems) <= 12:
        for i in range(len(systems)):
            for j in range(len(systems)):
                if np.isfinite(vals[i, j]):
                    ax.text(j, i, f"{vals[i, j]:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, label="win rate of row against column")
    ax.set_title(f"{crit}: win rates")
    paths = _save(fig, out, "win_rate_matrix", crit)
    plt.close(fig)
    return paths


def _score_vs_metric_plot(plt, row: dict, score: dict, metrics: dict, crit: str, out: Path) -> list[Path]:
    """Bradley-Terry score against one system metric (a system-level correlation row), systems labelled."""
    name = row["metric"]
    fig, ax = plt.subplots(figsize=(5, 4))
    xs = [metrics[s][name] for s in row["systems"]]
    ys = [score[s] for s in row["systems"]]
    ax.scatter(xs, ys)
    for s, x, y in zip(row["systems"], xs, ys):
        ax.annotate(s, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    rho = "n/a" if row["spearman"] is None else f"{row['spearman']:.2f}"
    ax.set_xlabel(name + (" (lower is better)" if row["lower_is_better"] else ""))
    ax.set_ylabel("Bradley-Terry score")
    ax.set_title(f"{crit}: score vs {name} (Spearman {rho}, n={row['n']})")
    paths = _save(fig, out, f"score_vs_{slug(name)}", crit)
    plt.close(fig)
    return paths


def _agreement_plot(plt, rates: list[float], chance: float | None, crit: str, out: Path) -> list[Path]:
    """Histogram of each (not excluded) annotator's agreement with the majority, with the chance line."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.hist(rates, bins=np.linspace(0, 1, 21), color="C2")
    if chance is not None:
        ax.axvline(chance, color="k", ls="--", lw=1)
        ax.annotate(f"chance {chance:.2f}", (chance, ax.get_ylim()[1] * 0.95), fontsize=7,
                    xytext=(3, 0), textcoords="offset points", va="top")
    ax.set_xlabel("agreement with the majority of other votes")
    ax.set_ylabel("annotators (excluded ones left out)")
    ax.set_title(f"{crit}: agreement per annotator (n={len(rates)})")
    paths = _save(fig, out, "agreement_annotators", crit)
    plt.close(fig)
    return paths


def _ranking_plot(plt, bt, res, summary, crit, out) -> list[Path]:
    """Scores with intervals, one labelled block per connected group, regularized scores hollow."""
    groups = sorted({r["component"] for r in bt})
    rows = []  # (y, row), a gap between groups
    y = 0.0
    label_at = {}
    for g in groups:
        label_at[g] = y - 0.35
        for r in (r for r in bt if r["component"] == g):
            y -= 1.0
            rows.append((y, r))
        y -= 0.8
    fig, ax = plt.subplots(figsize=(6.5, 0.4 * len(bt) + 0.5 * len(groups) + 1.4))
    for y_row, r in rows:
        reg = r.get("regularized")
        colour = "C3" if reg else "C0"
        ax.scatter([r["score"]], [y_row], zorder=3, edgecolors=colour, facecolors="none" if reg else colour)
        if r["ci95"] and r["ci95"][0] is not None:
            ax.plot(r["ci95"], [y_row, y_row], color=colour, ls=":" if reg else "-")
    ax.set_yticks([y_row for y_row, _ in rows],
                  [r["system"] + (" (regularized)" if r.get("regularized") else "") for _, r in rows])
    if len(groups) > 1:
        for g in groups:
            ax.text(0.01, label_at[g], f"group {g + 1}: scores comparable only within the group", fontsize=7,
                    transform=ax.get_yaxis_transform(), va="center", color="dimgrey")
        for g in groups[1:]:
            ax.axhline(label_at[g] + 0.5, color="grey", lw=0.8, ls="--")
    ax.set_ylim(min(y_row for y_row, _ in rows) - 0.7, 0.2 if len(groups) > 1 else -0.3)
    ax.axvline(0, color="grey", lw=0.5)
    method = res.get("interval_method") or summary["settings"]["bootstrap"]
    ax.set_xlabel(f"Bradley-Terry score (log scale); 95% CI: {method.split(',')[0]}")
    secondary = ax.secondary_xaxis("top", functions=(lambda s: 1000 + 400 * s / np.log(10),
                                                     lambda e: (e - 1000) * np.log(10) / 400))
    secondary.set_xlabel("Elo = 1000 + 400 score / ln 10 (1000 = the group's average system)", fontsize=8)
    title = f"{crit}: ranking"
    if any(r.get("regularized") for r in bt):
        title += "\nhollow, dotted: regularized (no maximum-likelihood estimate; interval too narrow)"
    ax.set_title(title, fontsize=9)
    paths = _save(fig, out, "bt", crit)
    plt.close(fig)
    return paths
