"""Everything the summary reports for one criterion (contract section 3)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import agreement as agr
from .bootstrap import KINDS, cluster_bootstrap, percentile_interval, vote_bootstrap
from .bradley_terry import (
    comparison_components,
    fit_bradley_terry,
    fit_davidson,
    mle_exists,
    to_elo,
    wins_matrix,
)
from .correlation import comparison_correlation, system_correlation
from .encode import (
    TIE,
    EncodedVotes,
    cluster_pair_counts,
    dense_codes,
    n_distinct,
    pair_counts,
)
from .equivalence import analytic_se, equivalence_test
from .numeric import spearman
from .ranking import rank_systems
from .winrates import win_rate, win_rate_table

__all__ = ["analyse_criterion"]


def _num(x, digits: int | None = None):
    """JSON-safe float: None for NaN/inf."""
    if x is None:
        return None
    x = float(x)
    if not np.isfinite(x):
        return None
    return round(x, digits) if digits is not None else x


def _observed_pairs(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = counts.sum(-1)
    i, j = np.nonzero(np.triu(total > 0, 1))
    pairs = np.stack([i, j], axis=1)
    return pairs, counts[i, j]


def analyse_criterion(ev: EncodedVotes, crit: int, item: np.ndarray, *, n_bootstrap: int, seed: int,
                      bootstrap: str, include_excluded: bool, metrics: dict | None,
                      image_metrics: dict | None, comparisons: list | None, margin: float,
                      prior: float) -> dict:
    """Analyse the votes of criterion index ``crit``; see :func:`analysis.report.build_summary`."""
    k = ev.n_systems
    systems = list(ev.systems)
    in_crit = ev.criterion == crit
    counted = in_crit & ev.counted(include_excluded)
    notes: list[str] = []
    a, b, outcome = ev.a[counted], ev.b[counted], ev.outcome[counted]
    counts3 = pair_counts(a, b, outcome, k)
    pairs, pc = _observed_pairs(counts3)
    seen = np.zeros(k, bool)
    seen[pairs.ravel()] = True
    out: dict = {"systems": systems, "n_votes": int(counted.sum()),
                 "n_annotators": n_distinct(ev.annotator[counted], len(ev.annotators)),
                 "n_prompts": n_distinct(ev.prompt[counted], len(ev.prompts))}
    if counted.sum() == 0:
        notes.append("no counted votes for this criterion (all are attention checks or from excluded annotators)")
    never = [systems[i] for i in range(k) if not seen[i]]
    if never:
        notes.append(f"never compared (no score): {', '.join(never)}")
    if k < 2:
        notes.append("only one system: there is nothing to rank")
    if len(pc) and pc[:, 2].sum() == pc.sum():
        notes.append("all votes are ties: every score is 0 and every win rate 0.5")

    # 1. bootstrap samples of the pair counts, one set per kind
    boot = {}
    if n_bootstrap > 0 and len(pairs):
        for kind_i, kind in enumerate(KINDS):
            rng = np.random.default_rng([seed, crit, kind_i])
            if kind == "vote":
                boot[kind] = vote_bootstrap(pc, n_bootstrap, rng)
            else:
                codes = ev.annotator if kind == "annotator" else ev.prompt
                n_clusters = len(ev.annotators) if kind == "annotator" else len(ev.prompts)
                cl, n_used = dense_codes(codes[counted], n_clusters)
                cc = cluster_pair_counts(cl, n_used, a, b, outcome, k, pairs)
                boot[kind] = cluster_bootstrap(cc, n_bootstrap, rng)
    # 2. Bradley-Terry
    rank = rank_systems(pc, pairs, k, boot, prior=prior) if len(pairs) else None
    out["bradley_terry"] = _bt_rows(rank, systems, bootstrap, notes)
    out["interval_method"] = (f"{bootstrap} bootstrap, {n_bootstrap} samples, percentile 95%"
                              if n_bootstrap > 0 else "none (n_bootstrap=0)")
    scores = {} if rank is None else {systems[i]: float(rank["scores"][i]) for i in range(k)
                                      if np.isfinite(rank["scores"][i])}
    out["davidson"] = _davidson(pc, pairs, k, systems, rank, notes)
    # 3. win rates, oriented (a = test system) from the comparisons or by BT score
    out["win_rates"], out["equivalence"] = _win_rates(pc, pairs, systems, boot, scores, comparisons,
                                                       bootstrap, margin)
    out["win_rate_matrix"] = _win_matrix(counts3, systems)
    out["pairs_without_votes"] = _pairs_without_votes(pairs, seen, systems)
    # 4. agreement, position bias, annotators
    labels = np.where(outcome == 0, a, np.where(outcome == 1, b, k))
    out["agreement"] = agr.agreement_stats(item[counted], outcome, labels)
    out["position_bias"] = agr.position_bias(ev.choice[counted])
    out["tie_rate"] = _num(float((outcome == TIE).mean())) if len(outcome) else None
    regular = in_crit & ~ev.attention_check
    per = agr.annotator_agreement(item[regular], ev.outcome[regular], ev.annotator[regular], counted[regular])
    annot = ev.annotator[regular]
    size = len(ev.annotators)
    n_left = np.bincount(annot, weights=ev.choice[regular] == 0, minlength=size)[per.index]
    n_right = np.bincount(annot, weights=ev.choice[regular] == 1, minlength=size)[per.index]
    with np.errstate(invalid="ignore", divide="ignore"):
        per["left_rate"] = np.where(n_left + n_right > 0, n_left / (n_left + n_right), np.nan)  # decisive votes
    per["excluded"] = np.bincount(annot, weights=ev.annotator_excluded[regular], minlength=size)[per.index] > 0
    per.index = [ev.annotators[i] for i in per.index]
    out["annotators"] = per
    vals = per["agreement_with_majority"].dropna()
    out["agreement"]["annotator_agreement_median"] = _num(vals.median()) if len(vals) else None
    out["agreement"]["n_annotators_with_one_vote"] = int((per["n_votes"] == 1).sum())
    # 5. exclusion effect: the same fit with the other exclusion rule
    out["exclusion_effect"] = _exclusion_effect(ev, in_crit, include_excluded, k, scores)
    # 6. correlation with automatic metrics
    corr = system_correlation(scores, metrics) if metrics else []
    if image_metrics:
        decisive = counted & (ev.outcome != TIE)
        win_code = np.where(ev.outcome[decisive] == 0, ev.a[decisive], ev.b[decisive])
        lose_code = np.where(ev.outcome[decisive] == 0, ev.b[decisive], ev.a[decisive])
        sys_arr = np.array(systems, dtype=object)
        frame = pd.DataFrame({"winner_system": sys_arr[win_code], "loser_system": sys_arr[lose_code],
                              "prompt": np.array(ev.prompts, dtype=object)[ev.prompt[decisive]],
                              "seed": ev.seed[decisive]})
        corr += comparison_correlation(frame, image_metrics)
    out["correlation"] = corr
    out["notes"] = notes
    return out


def _bt_rows(rank, systems, bootstrap, notes) -> list[dict]:
    if rank is None:
        return []
    if rank["n_components"] > 1:
        groups = [[systems[i] for i in np.flatnonzero(rank["component"] == c)] for c in range(rank["n_components"])]
        notes.append("the comparison graph is disconnected into " + str(rank["n_components"]) + " groups ("
                     + "; ".join(", ".join(g) for g in groups) + "): each group is fitted and centred on its own, "
                     "and scores from different groups cannot be compared")
    for c, reg in enumerate(rank["regularized"]):
        if reg:
            members = [systems[i] for i in np.flatnonzero(rank["component"] == c)]
            notes.append("no maximum-likelihood estimate exists (a system never loses or never wins) among "
                         + ", ".join(members) + ": scores are regularized with one virtual tie per compared pair, and their bootstrap "
                         "intervals understate the uncertainty (outcomes that never happened are never resampled)")
    for kind, n in rank["boot_regularized"].items():
        if n and not all(rank["regularized"]):
            notes.append(f"{n} {kind}-bootstrap samples had no maximum-likelihood estimate and were regularized")
    for kind, n in rank["boot_unconverged"].items():
        if n:
            notes.append(f"{n} {kind}-bootstrap fits did not converge")
    if not rank["converged"]:
        notes.append("the Bradley-Terry fit did not converge")
    rows = []
    order = np.argsort(-np.nan_to_num(rank["scores"], nan=-np.inf), kind="stable")
    for i in order:
        s = rank["scores"][i]
        if not np.isfinite(s):
            continue
        by_kind = {kind: [_num(lo[i]), _num(hi[i])] for kind, (lo, hi) in rank["intervals"].items()}
        ci = by_kind.get(bootstrap)
        rows.append({"system": systems[i], "score": _num(s), "ci95": ci, "elo": _num(to_elo(s)),
                     "elo_ci95": None if ci is None or ci[0] is None else [_num(to_elo(ci[0])), _num(to_elo(ci[1]))],
                     "ci95_by_bootstrap": by_kind, "component": int(rank["component"][i]),
                     "regularized": bool(rank["regularized"][rank["component"][i]])})
    return rows


def _davidson(pc, pairs, k, systems, rank, notes):
    if rank is None or rank["n_components"] != 1 or any(rank["regularized"]):
        return None
    idx = np.flatnonzero(rank["component"] == 0)
    if pc[:, 2].sum() == 0:
        return {"note": "no ties: the Davidson model reduces to Bradley-Terry", "tie_parameter": 0.0,
                "scores": {systems[i]: _num(rank["scores"][i]) for i in idx}}
    if pc[:, :2].sum() == 0:
        return {"note": "all votes are ties: Davidson strengths are not identified", "tie_parameter": None,
                "scores": {}}
    fit = fit_davidson(pc, pairs, k)
    sub = fit["scores"][idx] - fit["scores"][idx].mean()
    if not fit["converged"]:
        notes.append("the Davidson fit did not converge")
    return {"scores": {systems[i]: _num(s) for i, s in zip(idx, sub)}, "tie_parameter": _num(fit["tie_parameter"]),
            "converged": fit["converged"]}


def _orient(pairs, systems, scores, comparisons):
    """For each observed pair, True when the row should read (b against a)."""
    wanted = {}
    for x, y in comparisons or []:
        wanted[(x, y)] = False
        wanted.setdefault((y, x), True)
    flip = np.zeros(len(pairs), bool)
    for p, (i, j) in enumerate(pairs):
        si, sj = systems[i], systems[j]
        if (si, sj) in wanted:
            flip[p] = wanted[(si, sj)]
        else:
            flip[p] = scores.get(sj, 0.0) > scores.get(si, 0.0)
    return flip


def _win_rates(pc, pairs, systems, boot, scores, comparisons, bootstrap, margin):
    if not len(pairs):
        return [], []
    flip = _orient(pairs, systems, scores, comparisons)
    oriented = pc.copy()
    oriented[flip, 0], oriented[flip, 1] = pc[flip, 1], pc[flip, 0]
    table = win_rate_table(oriented)
    boot_rates = {}
    for kind, s in boot.items():
        w = np.where(flip, s[..., 1], s[..., 0])
        l = np.where(flip, s[..., 0], s[..., 1])
        boot_rates[kind] = win_rate(w, l, s[..., 2])
    if bootstrap in boot_rates and bootstrap != "vote":
        se = np.nanstd(boot_rates[bootstrap], axis=0, ddof=1)
        se_method = f"{bootstrap} bootstrap"
    else:
        se = analytic_se(table["wins"], table["losses"], table["ties"])
        se_method = "analytic (votes independent)"
    eq = equivalence_test(table["win_rate"], se, margin)
    intervals = {kind: percentile_interval(r) for kind, r in boot_rates.items()}
    rows, eq_rows = [], []
    for p, (i, j) in enumerate(pairs):
        x, y = (systems[j], systems[i]) if flip[p] else (systems[i], systems[j])
        rows.append({"a": x, "b": y, "wins": int(table["wins"][p]), "losses": int(table["losses"][p]),
                     "ties": int(table["ties"][p]), "n": int(table["n"][p]),
                     "win_rate": _num(table["win_rate"][p]),
                     "ci95": [_num(table["ci_low"][p]), _num(table["ci_high"][p])], "ci95_method": "wilson",
                     "p_value": _num(table["p_value"][p]),
                     "ci95_by_bootstrap": {kind: [_num(lo[p]), _num(hi[p])] for kind, (lo, hi) in intervals.items()}})
        eq_rows.append({"a": x, "b": y, "margin": margin, "win_rate": _num(table["win_rate"][p]),
                        "se": _num(se[p]), "se_method": se_method,
                        "non_inferiority_p": _num(eq["non_inferiority_p"][p]),
                        "equivalence_p": _num(eq["equivalence_p"][p]),
                        "ci90": [_num(eq["ci90_low"][p]), _num(eq["ci90_high"][p])],
                        "non_inferior": bool(eq["non_inferior"][p]), "equivalent": bool(eq["equivalent"][p])})
    return rows, eq_rows


def _win_matrix(counts3, systems):
    k = len(systems)
    w = counts3[..., 0] + counts3[..., 1].T  # w[i, j]: wins of i over j (i<j from a-wins, i>j from b-wins)
    t = counts3[..., 2] + counts3[..., 2].T
    rate = win_rate(w, w.T, t)
    np.fill_diagonal(rate, np.nan)
    return {"systems": systems, "values": [[_num(rate[i, j]) for j in range(k)] for i in range(k)],
            "meaning": "values[i][j] is the win rate of systems[i] against systems[j] (ties as half)"}


def _pairs_without_votes(pairs, seen, systems):
    have = {(int(i), int(j)) for i, j in pairs}
    idx = np.flatnonzero(seen)
    return [[systems[i], systems[j]] for x, i in enumerate(idx) for j in idx[x + 1:] if (i, j) not in have]


def _exclusion_effect(ev, in_crit, include_excluded, k, scores):
    """Scores fitted under the other exclusion rule, and how much they move."""
    other = in_crit & ev.counted(not include_excluded)
    if not ev.annotator_excluded[in_crit].any():
        return {"n_votes_excluded": 0, "note": "no annotator was excluded"}
    c3 = pair_counts(ev.a[other], ev.b[other], ev.outcome[other], k)
    pairs, pc = _observed_pairs(c3)
    if len(pairs) == 0:
        return {"n_votes_excluded": int((in_crit & ev.annotator_excluded & ~ev.attention_check).sum()),
                "note": "nothing left to fit under the other rule"}
    W = wins_matrix(pc, pairs, k)
    ncomp, _ = comparison_components(W + W.T)
    seen = np.zeros(k, bool)
    seen[pairs.ravel()] = True
    res = {"n_votes_excluded": int((in_crit & ev.annotator_excluded & ~ev.attention_check).sum()),
           "other_rule": "including excluded annotators" if not include_excluded else "excluding them"}
    if ncomp - (~seen).sum() != 1 or not mle_exists(W[np.ix_(seen, seen)]):
        res["note"] = "the other rule gives a disconnected graph or no MLE: not compared"
        return res
    s = np.full(k, np.nan)
    s[seen] = fit_bradley_terry(W[np.ix_(seen, seen)]).scores
    systems = ev.systems
    common = [i for i in range(k) if systems[i] in scores and np.isfinite(s[i])]
    res["scores_other_rule"] = {systems[i]: _num(s[i]) for i in common}
    if len(common) >= 2:
        x = np.array([scores[systems[i]] for i in common])
        y = s[common]
        x, y = x - x.mean(), y - y.mean()
        res["max_abs_score_change"] = _num(np.abs(x - y).max())
        res["rank_spearman"] = _num(spearman(x, y)) if len(common) > 2 and np.ptp(x) and np.ptp(y) else None
    return res
