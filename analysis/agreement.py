"""Inter-annotator agreement, position bias and attention checks.

Rules (contract section 3):

* an item is (criterion, prompt, seed, unordered system pair); agreement is
  computed over items with two or more votes, never on left/right;
* each vote is coded relative to its pair: 0 "first system of the pair won",
  1 "second won", 2 "tie", the pair's systems in a fixed (sorted) order, so
  every item can take exactly these three labels and chance agreement counts
  only them. (Coding by the winning system's id over all systems inflates
  agreement whenever a study has three or more systems: an item comparing A
  and B can never be labelled C, yet chance agreement would count C.)
* per-annotator agreement compares each vote with the majority of the other
  counted votes on its item; its chance level is what an annotator voting at
  random with the study's label shares would score.

References
----------
Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .encode import TIE, EncodedVotes
from .winrates import sign_test_p

CODING = "per pair: first system of the pair (sorted ids) won / second won / tie"

__all__ = ["CODING", "agreement_stats", "annotator_agreement", "attention_checks", "chance_agreement_with_majority", "position_bias"]


def _item_counts(item: np.ndarray, outcome: np.ndarray):
    """Per-item counts of (a wins, b wins, tie); ``item`` holds dense ids (empty items count zero)."""
    n_items = int(item.max()) + 1 if len(item) else 0
    counts = np.bincount(item * 3 + outcome, minlength=n_items * 3).reshape(n_items, 3)
    return n_items, item, counts


def agreement_stats(item: np.ndarray, code: np.ndarray) -> dict:
    """Krippendorff's alpha (nominal), Fleiss' kappa and percent agreement on per-pair codes.

    Parameters
    ----------
    item : numpy.ndarray
        Item id of each vote (dense non-negative ints).
    code : numpy.ndarray
        Per-pair code of each vote: 0 (first system of the pair won), 1
        (second won) or 2 (tie); see the module rules.

    Returns
    -------
    dict
        ``krippendorff_alpha``, ``fleiss_kappa``, ``percent_agreement`` (None
        when undefined, with the reason in ``note``), ``chance_agreement``
        (the share of agreeing vote pairs expected by chance, ``sum_j p_j^2``),
        ``coding`` (what the labels are), ``n_items`` (items with 2+ votes)
        and ``n_votes`` (votes on them).

    Notes
    -----
    Fleiss' kappa is generalised to items with uneven numbers of ratings:
    ``P_i = sum_c n_ic (n_ic - 1) / (m_i (m_i - 1))``, ``P_bar`` is their
    mean over items, chance agreement ``P_e = sum_j p_j^2`` with ``p_j`` the
    share of label j among all ratings. With equal counts this is Fleiss (1971).
    """
    _, _, counts = _item_counts(item, code)
    m = counts.sum(1)
    pairable = m >= 2
    out = {"krippendorff_alpha": None, "fleiss_kappa": None, "percent_agreement": None, "chance_agreement": None,
           "coding": CODING, "n_items": int(pairable.sum()), "n_votes": int(m[pairable].sum())}
    if not pairable.any():
        out["note"] = "no item has two or more votes: agreement cannot be computed"
        return out
    c, mm = counts[pairable].astype(np.float64), m[pairable].astype(np.float64)
    same_pairs = (c * (c - 1)).sum(1)
    p_i = same_pairs / (mm * (mm - 1))
    p_bar = float(p_i.mean())
    out["percent_agreement"] = p_bar
    label_counts = c.sum(0)
    n = label_counts.sum()
    p_e = float(((label_counts / n) ** 2).sum())
    out["chance_agreement"] = p_e
    if p_e >= 1.0 - 1e-15:
        out["note"] = "every vote on a multi-vote item has the same label: chance-corrected agreement is undefined"
        return out
    out["fleiss_kappa"] = (p_bar - p_e) / (1.0 - p_e)
    observed_same = float((same_pairs / (mm - 1)).sum())  # sum_c o_cc of the coincidence matrix
    d_o = n - observed_same
    d_e = (n * n - (label_counts**2).sum()) / (n - 1)
    out["krippendorff_alpha"] = float(1.0 - d_o / d_e)
    return out


def annotator_agreement(item: np.ndarray, outcome: np.ndarray, annotator: np.ndarray,
                        counted: np.ndarray) -> pd.DataFrame:
    """Each annotator's agreement with the majority of the other votes on the same items.

    Parameters
    ----------
    item, outcome, annotator : numpy.ndarray
        Per vote (all non-attention votes of one criterion, excluded annotators included).
    counted : numpy.ndarray
        Which of these votes form the majority (the votes rankings use).

    Returns
    -------
    pandas.DataFrame
        Indexed by annotator code: ``n_votes``, ``n_evaluable`` (votes whose
        item has other counted votes with a unique most common label) and
        ``agreement_with_majority``; NaN when nothing is evaluable.
    """
    n_items, local, _ = _item_counts(item, outcome)
    counts = np.bincount(local[counted] * 3 + outcome[counted], minlength=n_items * 3).reshape(n_items, 3)
    # Decide once per (item, own outcome, own vote counted or not), then look each vote up.
    evaluable_t = np.zeros((n_items, 3, 2), bool)
    agree_t = np.zeros((n_items, 3, 2), bool)
    for own in range(3):
        for is_counted in (0, 1):
            others = counts.copy()
            if is_counted:
                others[:, own] -= 1
            top = others.max(1)
            ok = (top > 0) & ((others == top[:, None]).sum(1) == 1)
            evaluable_t[:, own, is_counted] = ok
            agree_t[:, own, is_counted] = ok & (others.argmax(1) == own)
    idx = (local * 3 + outcome) * 2 + counted.astype(np.int64)
    evaluable = evaluable_t.reshape(-1)[idx]
    agree = agree_t.reshape(-1)[idx]
    size = int(annotator.max()) + 1 if len(annotator) else 0
    n_votes = np.bincount(annotator, minlength=size)
    n_eval = np.bincount(annotator, weights=evaluable, minlength=size)
    n_agree = np.bincount(annotator, weights=agree, minlength=size)
    present = np.flatnonzero(n_votes)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n_eval[present] > 0, n_agree[present] / n_eval[present], np.nan)
    return pd.DataFrame({"n_votes": n_votes[present], "n_evaluable": n_eval[present].astype(np.int64),
                         "agreement_with_majority": rate}, index=pd.Index(present, name="annotator"))


def chance_agreement_with_majority(item: np.ndarray, code: np.ndarray) -> float | None:
    """Agreement with the majority that an annotator voting at random would score.

    Such an annotator gives label j with the study's share ``p_j`` whatever
    the item, so it agrees with an item whose majority label is j with
    probability ``p_j``: chance = ``sum_j p_j q_j``, ``q_j`` the share of
    items (with 2+ votes and a unique most common label) whose majority is j.
    """
    n_items, _, counts = _item_counts(item, code)
    if not n_items:
        return None
    multi = counts.sum(1) >= 2
    top = counts.max(1)
    unique = multi & ((counts == top[:, None]).sum(1) == 1)
    if not unique.any():
        return None
    p = counts[multi].sum(0) / counts[multi].sum()
    q = np.bincount(counts[unique].argmax(1), minlength=3) / unique.sum()
    return float((p * q).sum())


def position_bias(choice: np.ndarray) -> dict:
    """Share of left picks among decisive votes, with an exact two-sided test of 0.5."""
    left = int((choice == 0).sum())
    right = int((choice == 1).sum())
    n = left + right
    return {"left_rate": left / n if n else None, "p_value": float(sign_test_p(left, right)),
            "n_left": left, "n_right": right, "n_ties": int((choice == TIE).sum())}


def attention_checks(ev: EncodedVotes, item: np.ndarray) -> dict:
    """Attention-check pass rates and what the exclusion rule removed.

    A check passes when the export says so (optional column ``attention_passed``);
    otherwise a repeated-pair check passes when the annotator's winner matches
    their own non-check vote on the same item. Checks with neither are counted
    as not evaluable.
    """
    check = ev.attention_check
    n_checks = int(check.sum())
    passed = np.full(len(check), np.nan)
    if ev.attention_passed is not None:
        passed = ev.attention_passed.copy()
    need = check & np.isnan(passed)
    if need.any():
        key = item * np.int64(max(len(ev.annotators), 1)) + ev.annotator
        regular = ~check
        first = pd.Series(ev.outcome[regular], index=key[regular])
        first = first[~first.index.duplicated()]
        pos = first.index.get_indexer(key[need])
        found = pos >= 0
        vals = np.full(int(need.sum()), np.nan)
        vals[found] = (first.to_numpy()[pos[found]] == ev.outcome[need][found]).astype(float)
        passed[need] = vals
    evaluable = check & ~np.isnan(passed)
    annot_excl = pd.Series(ev.annotator_excluded).groupby(ev.annotator).any()
    out = {
        "n_checks": n_checks,
        "n_evaluable": int(evaluable.sum()),
        "pass_rate": float(passed[evaluable].mean()) if evaluable.any() else None,
        "pass_rate_included": None, "pass_rate_excluded": None,
        "n_annotators": len(annot_excl),
        "n_annotators_excluded": int(annot_excl.sum()),
        "n_votes_excluded": int((ev.annotator_excluded & ~check).sum()),
    }
    for name, mask in (("pass_rate_included", ~ev.annotator_excluded), ("pass_rate_excluded", ev.annotator_excluded)):
        sel = evaluable & mask
        if sel.any():
            out[name] = float(passed[sel].mean())
    return out
