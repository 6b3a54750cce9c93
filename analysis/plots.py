"""Figures of a summary, as PNG and SVG (matplotlib, no display needed)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["write_plots"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def _save(fig, out: Path, stem: str) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        path = out / f"{stem}.{ext}"
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
        c = _slug(crit)
        bt = res["bradley_terry"]
        if bt:
            fig, ax = plt.subplots(figsize=(6, 0.4 * len(bt) + 1.2))
            ys = np.arange(len(bt))[::-1]
            scores = [r["score"] for r in bt]
            ax.scatter(scores, ys, color="C0", zorder=3)
            for y, r in zip(ys, bt):
                if r["ci95"] and r["ci95"][0] is not None:
                    ax.plot(r["ci95"], [y, y], color="C0")
            ax.set_yticks(ys, [r["system"] for r in bt])
            ax.axvline(0, color="grey", lw=0.5)
            ax.set_xlabel(f"Bradley-Terry score (log scale; 95% CI: {summary['settings']['bootstrap']} bootstrap)")
            ax.set_title(f"{crit}: ranking")
            paths += _save(fig, out, f"bt_{c}")
            plt.close(fig)
        matrix = res["win_rate_matrix"]
        systems = matrix["systems"]
        if len(systems) > 1:
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
            paths += _save(fig, out, f"win_rate_matrix_{c}")
            plt.close(fig)
        score = {r["system"]: r["score"] for r in bt}
        for row in res["correlation"]:
            if row["level"] != "system" or not metrics or row["n"] < 2:
                continue
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
            paths += _save(fig, out, f"score_vs_{_slug(name)}_{c}")
            plt.close(fig)
        rates = [r["agreement_with_majority"] for r in res["annotator_agreement"]
                 if r["agreement_with_majority"] is not None]
        if rates:
            fig, ax = plt.subplots(figsize=(5, 3.5))
            ax.hist(rates, bins=np.linspace(0, 1, 21), color="C2")
            ax.set_xlabel("agreement with the majority of other votes")
            ax.set_ylabel("annotators")
            ax.set_title(f"{crit}: agreement per annotator (n={len(rates)})")
            paths += _save(fig, out, f"agreement_annotators_{c}")
            plt.close(fig)
    return paths
