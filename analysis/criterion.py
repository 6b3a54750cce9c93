"""Everything the summary reports for one criterion (contract section 3).

Rules:

* every default interval and test accounts for clustering: win rates use the
  two-way (annotator x prompt) cluster-robust variance of
  :mod:`analysis.clustered`; Bradley-Terry scores and their differences use
  a cluster bootstrap (``auto``: by annotator, or by prompt where the prompt
  design effect is the larger). ``bootstrap="vote"`` gives the old
  intervals, labelled as assuming independent votes;
* every interval names its method (``ci95_method``);
* agreement uses the per-pair codes of :mod:`analysis.agreement`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import agreement as agr
from .bootstrap import KINDS, cluster_bootstrap, percentile_interval, vote_bootstrap
from .bradley_terry import (
    ELO_SCALE,
    comparison_components,
    fit_bradley_terry,
    fit_davidson,
    mle_exists,
    to_elo,
    wins_matrix,
)
from .clustered import clustered_win_rate_variance, pooled_design_effect
from .correlation import comparison_correlation, system_correlation
from .drilldown import prompt_drilldown
from .encode import (
    TIE,
    EncodedVotes,
    cluster_pair_counts,
    dense_codes,
    n_distinct,
    pair_counts,
)
from .equivalence import analytic_se, equivalence_test
from .numeric import expit, ndtr, spearman, t_quantile
from .ranking import rank_systems
from .winrates import score_interval, score_test_p, win_rate, win_rate_table

__all__ = ["analyse_criterion", "interval_method"]


def interval_method(kind: str, n_bootstrap: int) -> str:
    """How the Bradley-Terry intervals of ``kind`` were made, in words."""
    if n_bootstrap <= 0:
        return "none (n_bootstrap=0)"
    if kind == "vote":
        return f"vote bootstrap, {n_bootstrap} samples, percentile 95%; assumes independent votes"
    return f"{kind} bootstrap (clusters of votes by {kind}), {n_bootstrap} samples, percentile 95%"


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


@dataclass(frozen=True)
class _CountedVotes:
    """The votes of one criterion that count, and their counts per observed pair."""

    mask: np.ndarray  # over all votes: in the criterion and counted
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    counts3: np.ndarray  # (k, k, 3) counts of (a wins, b wins, tie)
    pairs: np.ndarray  # (P, 2) observed pairs, a < b
    pc: np.ndarray  # (P, 3) their counts


def _counted_votes(ev: EncodedVotes, in_crit: np.ndarray, include_excluded: bool) -> _CountedVotes:
    mask = in_crit & ev.counted(include_excluded)
    a, b, outcome = ev.a[mask], ev.b[mask], ev.outcome[mask]
    counts3 = pair_counts(a, b, outcome, ev.n_systems)
    pairs, pc = _observed_pairs(counts3)
    return _CountedVotes(mask, a, b, outcome, counts3, pairs, pc)


def analyse_criterion(ev: EncodedVotes, crit: int, item: np.ndarray, *, n_bootstrap: int, seed: int,
                      bootstrap: str, include_excluded: bool, metrics: dict | None,
                      image_metrics: dict | None, comparisons: list | None, margin: float,
                      prior: float) -> dict:
    """Analyse the votes of criterion index ``crit``; see :func:`analysis.report.build_summary`.

    The steps, in order: clustered variance and design effects, bootstrap
    samples, Bradley-Terry (and Davidson) scores, oriented win rates and their
    differences, agreement, per-prompt drill-down, the exclusion effect and the
    correlation with automatic metrics. Notes are collected in that order.
    """
    k, systems = ev.n_systems, list(ev.systems)
    in_crit = ev.criterion == crit
    votes = _counted_votes(ev, in_crit, include_excluded)
    pairs, pc = votes.pairs, votes.pc
    notes = _coverage_notes(votes, systems)
    out: dict = {"systems": systems, "n_votes": int(votes.mask.sum()),
                 "n_annotators": n_distinct(ev.annotator[votes.mask], len(ev.annotators)),
                 "n_prompts": n_distinct(ev.prompt[votes.mask], len(ev.prompts))}
    cv, kind, out["design_effect"] = _design_effects(ev, votes, bootstrap, notes)
    boot = _bootstrap_counts(ev, votes, n_bootstrap, seed, crit)
    rank = rank_systems(pc, pairs, k, boot, prior=prior) if len(pairs) else None
    out["bradley_terry"] = _bt_rows(rank, systems, kind, n_bootstrap, notes)
    out["interval_method"] = interval_method(kind, n_bootstrap)
    scores = {} if rank is None else {systems[i]: float(rank["scores"][i]) for i in range(k)
                                      if np.isfinite(rank["scores"][i])}
    out["davidson"] = _davidson(pc, pairs, k, systems, rank, notes)
    # win rates oriented (a = test system) from the comparisons or by BT score
    flip = _orient(pairs, systems, scores, comparisons) if len(pairs) else np.zeros(0, bool)
    out["win_rates"], out["equivalence"] = _win_rates(pc, pairs, flip, systems, boot, cv, kind, margin, notes)
    out["differences"] = _differences(rank, systems, kind, n_bootstrap, out["win_rates"])
    out["win_rate_matrix"] = _win_matrix(votes.counts3, systems)
    out["pairs_without_votes"] = _pairs_without_votes(pairs, systems, comparisons)
    out.update(_agreement(ev, item, in_crit, votes))
    out["prompt_drilldown"] = prompt_drilldown(votes.a, votes.b, votes.outcome, ev.prompt[votes.mask],
                                               systems=systems, prompts=list(ev.prompts), pairs=pairs, flip=flip)
    out["exclusion_effect"] = _exclusion_effect(ev, in_crit, include_excluded, k, scores)
    out["correlation"] = _correlation(ev, votes.mask, systems, scores, metrics, image_metrics)
    out["notes"] = notes
    return out


def _coverage_notes(votes: _CountedVotes, systems: list[str]) -> list[str]:
    """Notes on what the counted votes cannot show: nothing counted, systems never compared, only ties."""
    notes = []
    if votes.mask.sum() == 0:
        notes.append("no counted votes for this criterion (all are attention checks or from excluded annotators)")
    seen = np.zeros(len(systems), bool)
    seen[votes.pairs.ravel()] = True
    never = [s for s, was_seen in zip(systems, seen) if not was_seen]
    if never:
        notes.append(f"never compared (no score): {', '.join(never)}")
    if len(systems) < 2:
        notes.append("only one system: there is nothing to rank")
    if len(votes.pc) and votes.pc[:, 2].sum() == votes.pc.sum():
        notes.append("all votes are ties: every score is 0 and every win rate 0.5")
    return notes


def _design_effects(ev: EncodedVotes, votes: _CountedVotes, bootstrap: str, notes: list[str]):
    """Clustered variance of every pair's win rate, the design effects it implies, and the bootstrap kind.

    Returns ``(variance, kind, design_effect entry of the summary)``; ``auto``
    becomes ``prompt`` where the prompt design effect is the larger, else ``annotator``.
    """
    k, pairs = ev.n_systems, votes.pairs
    pair_of = np.full(k * k, -1, dtype=np.int64)
    pair_of[pairs[:, 0] * k + pairs[:, 1]] = np.arange(len(pairs))
    pair_index = pair_of[votes.a.astype(np.int64) * k + votes.b]
    score = np.where(votes.outcome == 0, 1.0, np.where(votes.outcome == 1, 0.0, 0.5))
    cv = clustered_win_rate_variance(pair_index, score, ev.annotator[votes.mask], ev.prompt[votes.mask], len(pairs))
    deff = {"annotator": pooled_design_effect(cv.n, cv.annotator, cv.independent),
            "prompt": pooled_design_effect(cv.n, cv.prompt, cv.independent),
            "annotator_x_prompt": pooled_design_effect(cv.n, cv.two_way, cv.independent)}
    kind = bootstrap
    if bootstrap == "auto":
        kind = "prompt" if (deff["prompt"] or 1.0) > (deff["annotator"] or 1.0) else "annotator"
    entry = {
        **deff, "used_for_win_rates": "annotator_x_prompt" if kind != "vote" else None,
        "bootstrap_for_scores": kind,
        "meaning": "variance of the win rates relative to independent votes, pooled over pairs "
                   "(sum n^2 V / sum n^2 V_independent); plan studies with the same crowd with it",
    }
    if kind != "vote" and (deff["prompt"] or 1.0) > 1.2 and (deff["annotator"] or 1.0) > 1.2:
        notes.append(f"votes cluster by annotator (design effect {deff['annotator']:.2f}) and by prompt "
                     f"({deff['prompt']:.2f}): win-rate intervals account for both, score intervals for the "
                     f"{kind} clusters only")
    return cv, kind, entry


def _bootstrap_counts(ev: EncodedVotes, votes: _CountedVotes, n_bootstrap: int, seed: int,
                      crit: int) -> dict[str, np.ndarray]:
    """Bootstrap samples of the pair counts, one set per kind (:data:`analysis.bootstrap.KINDS`)."""
    boot = {}
    if n_bootstrap <= 0 or not len(votes.pairs):
        return boot
    for kind_i, boot_kind in enumerate(KINDS):
        rng = np.random.default_rng([seed, crit, kind_i])
        if boot_kind == "vote":
            boot[boot_kind] = vote_bootstrap(votes.pc, n_bootstrap, rng)
            continue
        codes = ev.annotator if boot_kind == "annotator" else ev.prompt
        n_clusters = len(ev.annotators) if boot_kind == "annotator" else len(ev.prompts)
        cl, n_used = dense_codes(codes[votes.mask], n_clusters)
        cc = cluster_pair_counts(cl, n_used, votes.a, votes.b, votes.outcome, ev.n_systems, votes.pairs)
        boot[boot_kind] = cluster_bootstrap(cc, n_bootstrap, rng)
    return boot


def _agreement(ev: EncodedVotes, item: np.ndarray, in_crit: np.ndarray, votes: _CountedVotes) -> dict:
    """``agreement``, ``position_bias``, ``tie_rate`` and ``annotators`` (a frame) of the summary.

    Agreement uses the per-pair codes: the outcome is already relative to the sorted pair.
    """
    counted, outcome = votes.mask, votes.outcome
    agreement = agr.agreement_stats(item[counted], outcome)
    agreement["chance_agreement_with_majority"] = _num(agr.chance_agreement_with_majority(item[counted], outcome))
    per = _annotator_table(ev, item, in_crit, counted)
    vals = per.loc[~per["excluded"], "agreement_with_majority"].dropna()
    agreement["annotator_agreement_median"] = _num(vals.median()) if len(vals) else None
    agreement["n_annotators_with_one_vote"] = int((per["n_votes"] == 1).sum())
    return {"agreement": agreement, "position_bias": agr.position_bias(ev.choice[counted]),
            "tie_rate": _num(float((outcome == TIE).mean())) if len(outcome) else None,
            "annotators": per}


def _annotator_table(ev: EncodedVotes, item: np.ndarray, in_crit: np.ndarray, counted: np.ndarray) -> pd.DataFrame:
    """Per annotator of the criterion (attention checks left out): agreement, left rate, excluded."""
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
    return per


def _correlation(ev: EncodedVotes, counted: np.ndarray, systems: list[str], scores: dict,
                 metrics: dict | None, image_metrics: dict | None) -> list[dict]:
    """Correlation of the scores with system metrics, and how often the image with the higher metric wins."""
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
    return corr


def _bt_rows(rank, systems, bootstrap, n_bootstrap, notes) -> list[dict]:
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
        rows.append({"system": systems[i], "score": _num(s), "ci95": ci,
                     "ci95_method": interval_method(bootstrap, n_bootstrap), "elo": _num(to_elo(s)),
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


@dataclass(frozen=True)
class _RateInference:
    """Standard errors, 95% intervals and tests of the oriented win rates, and how each was made."""

    se: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    p_value: np.ndarray
    n_eff: np.ndarray
    df: np.ndarray | None  # t degrees of freedom; None: normal (independent votes)
    ci_method: str
    p_method: str
    se_method: str


def _independent_inference(table: dict, independent_se: np.ndarray) -> _RateInference:
    """Wilson intervals and the exact sign test: every vote independent."""
    return _RateInference(
        se=independent_se, lo=table["ci_low"], hi=table["ci_high"], p_value=table["p_value"],
        n_eff=table["n"].astype(float), df=None, ci_method="wilson; assumes independent votes",
        p_method="exact two-sided sign test (ties left out); assumes independent votes",
        se_method="analytic; assumes independent votes")


def _clustered_inference(table: dict, cv) -> _RateInference:
    """Score intervals and tests on n / design effect, two-way cluster-robust variance, t on annotators - 1."""
    p, n = table["win_rate"], table["n"].astype(float)
    var = np.maximum(cv.two_way, 1.0 / (4.0 * np.maximum(n, 1) ** 2))  # unanimous pairs: one vote's worth
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = n * np.where(cv.independent > 0, cv.independent / var, 1.0)  # n / design effect
    n_eff = np.where(np.isnan(cv.two_way), np.nan, n_eff)  # one annotator: no clustered interval
    df = np.where(cv.n_annotators > 1, cv.n_annotators - 1, np.nan)
    tie_share = table["ties"] / np.maximum(n, 1)
    lo, hi = score_interval(p, n_eff, tie_share, z=_t_quantiles(0.975, df))
    return _RateInference(
        se=np.sqrt(var), lo=lo, hi=hi, p_value=score_test_p(p, n_eff, tie_share, df), n_eff=n_eff, df=df,
        ci_method=("score interval (Wilson-type, ties' share held fixed) on the effective sample size "
                   "n / design effect, two-way cluster-robust (annotator x prompt) variance, t with "
                   "annotators - 1 degrees of freedom"),
        p_method="two-sided score test of 0.5 on the same effective sample size and t (agrees with ci95)",
        se_method="two-way cluster-robust (annotator x prompt); tests on t with annotators - 1 degrees of freedom")


def _win_rates(pc, pairs, flip, systems, boot, cv, kind, margin, notes):
    """Win-rate rows (clustered by default) and the non-inferiority / equivalence rows."""
    if not len(pairs):
        return [], []
    oriented = pc.copy()
    oriented[flip, 0], oriented[flip, 1] = pc[flip, 1], pc[flip, 0]
    table = win_rate_table(oriented)
    p = table["win_rate"]
    intervals = {boot_kind: percentile_interval(win_rate(np.where(flip, s[..., 1], s[..., 0]),
                                                         np.where(flip, s[..., 0], s[..., 1]), s[..., 2]))
                 for boot_kind, s in boot.items()}
    independent_se = analytic_se(table["wins"], table["losses"], table["ties"])
    if kind == "vote":
        inf = _independent_inference(table, independent_se)
    else:
        inf = _clustered_inference(table, cv)
        single = np.isnan(cv.two_way)
        if single.any():
            names = [f"{systems[i]} / {systems[j]}" for i, j in pairs[single][:5]]
            notes.append("all votes of pair(s) " + ", ".join(names) + " come from one annotator: no clustered "
                         "interval or test exists for them (rerun with --bootstrap vote to assume independence)")
    eq = equivalence_test(p, inf.se, margin, df=inf.df)
    rows, eq_rows = [], []
    for i_p, (i, j) in enumerate(pairs):
        x, y = (systems[j], systems[i]) if flip[i_p] else (systems[i], systems[j])
        rows.append({"a": x, "b": y, "wins": int(table["wins"][i_p]), "losses": int(table["losses"][i_p]),
                     "ties": int(table["ties"][i_p]), "n": int(table["n"][i_p]),
                     "win_rate": _num(p[i_p]), "ci95": [_num(inf.lo[i_p]), _num(inf.hi[i_p])],
                     "ci95_method": inf.ci_method, "p_value": _num(inf.p_value[i_p]), "p_value_method": inf.p_method,
                     "p_value_sign_test": _num(table["p_value"][i_p]),
                     "se": _num(inf.se[i_p]), "se_independent": _num(independent_se[i_p]),
                     "design_effect": _num(cv.design_effect[i_p]) if kind != "vote" else 1.0,
                     "n_effective": _num(inf.n_eff[i_p]), "n_annotators": int(cv.n_annotators[i_p]),
                     "ci95_by_bootstrap": {bk: [_num(blo[i_p]), _num(bhi[i_p])] for bk, (blo, bhi) in intervals.items()}})
        eq_rows.append({"a": x, "b": y, "margin": margin, "win_rate": _num(p[i_p]),
                        "se": _num(inf.se[i_p]), "se_method": inf.se_method,
                        "non_inferiority_p": _num(eq["non_inferiority_p"][i_p]),
                        "equivalence_p": _num(eq["equivalence_p"][i_p]),
                        "ci90": [_num(eq["ci90_low"][i_p]), _num(eq["ci90_high"][i_p])],
                        "non_inferior": bool(eq["non_inferior"][i_p]), "equivalent": bool(eq["equivalent"][i_p])})
    return rows, eq_rows


def _t_quantiles(q: float, df: np.ndarray) -> np.ndarray:
    """Student's t quantile per entry of ``df`` (NaN where df is NaN), computed once per distinct df."""
    out = np.full(np.shape(df), np.nan)
    for d in np.unique(df[np.isfinite(df)]):
        out[df == d] = t_quantile(q, d)
    return out


def _differences(rank, systems, kind, n_bootstrap, win_rows) -> list[dict]:
    """Every pair of scored systems in one group: score (and Elo) difference with its interval.

    ``a`` is the higher-scored system. The interval is the percentile interval
    of the bootstrap differences (the same draws as the scores), the p-value a
    two-sided z-test with the bootstrap standard error; ``model_win_rate`` is
    what the fitted model predicts for a against b.
    """
    if rank is None:
        return []
    scores, comp = rank["scores"], rank["component"]
    samples = rank["samples"].get(kind)
    observed = {(r["a"], r["b"]): r for r in win_rows}
    ok = np.flatnonzero(np.isfinite(scores))
    order = ok[np.argsort(-scores[ok], kind="stable")]
    ii, jj = [], []
    for x, i in enumerate(order):
        for j in order[x + 1:]:
            if comp[i] == comp[j]:
                ii.append(i)
                jj.append(j)
    if not ii:
        return []
    ii, jj = np.array(ii), np.array(jj)
    diff = scores[ii] - scores[jj]
    if samples is not None and len(samples):
        d = samples[:, ii] - samples[:, jj]
        lo, hi = percentile_interval(d)
        mlo, mhi = percentile_interval(expit(d))
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.nanstd(d, axis=0, ddof=1)
            pval = 2.0 * ndtr(-np.abs(diff) / sd)
    else:
        lo = hi = mlo = mhi = sd = pval = np.full(len(ii), np.nan)
    method = interval_method(kind, n_bootstrap)
    rows = []
    for r, (i, j) in enumerate(zip(ii, jj)):
        x, y = systems[i], systems[j]
        row = {"a": x, "b": y, "score_diff": _num(diff[r]), "ci95": [_num(lo[r]), _num(hi[r])],
               "ci95_method": method, "se": _num(sd[r]), "p_value": _num(pval[r]),
               "p_value_method": f"two-sided z-test with the {kind}-bootstrap standard error",
               "elo_diff": _num(ELO_SCALE * diff[r]), "elo_diff_ci95": [_num(ELO_SCALE * lo[r]), _num(ELO_SCALE * hi[r])],
               "model_win_rate": _num(expit(diff[r])), "model_win_rate_ci95": [_num(mlo[r]), _num(mhi[r])],
               "observed_win_rate": None, "observed_win_rate_ci95": None}
        if (x, y) in observed:
            w = observed[(x, y)]
            row["observed_win_rate"], row["observed_win_rate_ci95"] = w["win_rate"], w["ci95"]
        elif (y, x) in observed:
            w = observed[(y, x)]
            row["observed_win_rate"] = None if w["win_rate"] is None else 1.0 - w["win_rate"]
            lo_w, hi_w = w["ci95"]
            row["observed_win_rate_ci95"] = [None if hi_w is None else 1.0 - hi_w, None if lo_w is None else 1.0 - lo_w]
        rows.append(row)
    return rows


def _win_matrix(counts3, systems):
    k = len(systems)
    w = counts3[..., 0] + counts3[..., 1].T  # w[i, j]: wins of i over j (i<j from a-wins, i>j from b-wins)
    t = counts3[..., 2] + counts3[..., 2].T
    rate = win_rate(w, w.T, t)
    np.fill_diagonal(rate, np.nan)
    return {"systems": systems, "values": [[_num(rate[i, j]) for j in range(k)] for i in range(k)],
            "meaning": "values[i][j] is the win rate of systems[i] against systems[j] (ties as half)"}


def _pairs_without_votes(pairs, systems, comparisons):
    """Planned pairs with no counted vote: the bundle's comparisons, or else every pair of known systems
    (systems of the bundle that got no vote at all included)."""
    have = {(systems[i], systems[j]) for i, j in pairs}
    have |= {(y, x) for x, y in have}
    if comparisons:
        planned = [(x, y) for x, y in comparisons if x in systems and y in systems]
    else:
        planned = [(x, y) for n, x in enumerate(systems) for y in systems[n + 1:]]
    out, done = [], set()
    for x, y in planned:
        if (x, y) not in have and (x, y) not in done:
            out.append([x, y])
            done |= {(x, y), (y, x)}
    return out


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
