"""Correlation of human preference with automatic metrics (JAQ, FID, CLIPScore).

* System level: Bradley-Terry score against each system metric, with
  Spearman, Kendall and Pearson coefficients and the number of systems ``n``.
  Lower-is-better metrics (FID) correlate negatively when humans agree.
* Comparison level: over decisive votes where both images carry the metric
  and it differs, how often the image with the higher value won.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .numeric import kendall_tau_b, pearson, spearman
from .winrates import sign_test_p, wilson_interval

__all__ = ["LOWER_IS_BETTER", "comparison_correlation", "system_correlation"]

LOWER_IS_BETTER = frozenset({"fid", "kid", "lpips"})


def system_correlation(scores: dict[str, float], metrics: dict[str, dict[str, float]]) -> list[dict]:
    """Per metric: Spearman, Kendall, Pearson of BT score vs metric over systems with both.

    Parameters
    ----------
    scores : dict
        ``{system: bt_score}`` (systems without a score left out).
    metrics : dict
        ``{system: {metric: value}}``.

    Returns
    -------
    list of dict
        One entry per metric: ``metric``, ``level`` ("system"), ``spearman``,
        ``kendall``, ``pearson`` (None when undefined, with a ``note``), ``n``,
        ``systems``, ``lower_is_better``.
    """
    names = sorted({m for per in metrics.values() for m in per})
    out = []
    for name in names:
        systems = [s for s in sorted(scores) if name in metrics.get(s, {}) and np.isfinite(metrics[s][name])]
        x = np.array([scores[s] for s in systems], dtype=float)
        y = np.array([metrics[s][name] for s in systems], dtype=float)
        row = {"metric": name, "level": "system", "spearman": None, "kendall": None, "pearson": None,
               "n": len(systems), "systems": systems, "lower_is_better": name in LOWER_IS_BETTER}
        if len(systems) < 3:
            row["note"] = f"{len(systems)} system(s) have both a score and {name}: a correlation needs at least 3"
        elif np.ptp(x) == 0 or np.ptp(y) == 0:
            row["note"] = f"{'scores' if np.ptp(x) == 0 else name} are all equal: correlation is undefined"
        else:
            row["spearman"] = spearman(x, y)
            row["kendall"] = kendall_tau_b(x, y)
            row["pearson"] = pearson(x, y)
        out.append(row)
    return out


def comparison_correlation(votes_frame: pd.DataFrame, image_metrics: dict) -> list[dict]:
    """Does the image with the higher metric win the vote, and how often?

    Parameters
    ----------
    votes_frame : pandas.DataFrame
        Decisive votes with columns ``winner_system``, ``loser_system``
        (system ids), ``prompt`` and ``seed``.
    image_metrics : dict
        ``{(system, prompt, seed): {metric: value}}``.

    Returns
    -------
    list of dict
        Per metric: ``higher_wins_rate`` (share of votes won by the image with
        the higher value), its Wilson ``ci95``, a sign-test ``p_value`` against
        0.5, ``n`` (votes used), ``n_equal`` (left out: equal values).
    """
    if not image_metrics or len(votes_frame) == 0:
        return []
    keys = list(image_metrics)
    table = pd.DataFrame.from_records([image_metrics[k] for k in keys])
    index = pd.MultiIndex.from_tuples([(str(s), str(p), int(sd)) for s, p, sd in keys],
                                      names=["system", "prompt", "seed"])
    table.index = index
    prompt = votes_frame["prompt"].astype(str).to_numpy()
    seed = votes_frame["seed"].to_numpy(np.int64)
    win_idx = index.get_indexer(pd.MultiIndex.from_arrays(
        [votes_frame["winner_system"].astype(str).to_numpy(), prompt, seed]))
    lose_idx = index.get_indexer(pd.MultiIndex.from_arrays(
        [votes_frame["loser_system"].astype(str).to_numpy(), prompt, seed]))
    both = (win_idx >= 0) & (lose_idx >= 0)
    out = []
    for name in table.columns:
        values = table[name].to_numpy(dtype=float)
        vw = np.where(both, values[np.where(both, win_idx, 0)], np.nan)
        vl = np.where(both, values[np.where(both, lose_idx, 0)], np.nan)
        ok = np.isfinite(vw) & np.isfinite(vl)
        equal = ok & (vw == vl)
        higher_won = int((ok & (vw > vl)).sum())
        lower_won = int((ok & (vw < vl)).sum())
        n = higher_won + lower_won
        rate = higher_won / n if n else None
        row = {"metric": str(name), "level": "comparison", "higher_wins_rate": rate, "ci95": None,
               "ci95_method": "wilson; assumes independent votes (a descriptive check of the metric)",
               "p_value": float(sign_test_p(higher_won, lower_won)), "n": n, "n_equal": int(equal.sum()),
               "lower_is_better": str(name) in LOWER_IS_BETTER}
        if n:
            lo, hi = wilson_interval(rate, n)
            row["ci95"] = [float(lo), float(hi)]
        else:
            row["note"] = f"no decisive vote has {name} for both images"
        out.append(row)
    return out
