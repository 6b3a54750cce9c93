"""Integer encoding of votes: the one place where labels become indices.

Every statistic downstream works on these arrays (and on pair counts built
from them), never on strings, which keeps a million votes fast.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from formats.votes import CHOICES, COUNTED_WHEN

__all__ = ["EncodedVotes", "cluster_pair_counts", "dense_codes", "encode_votes", "item_ids", "n_distinct", "pair_counts"]

A_WINS, B_WINS, TIE = 0, 1, 2


@dataclass(frozen=True)
class EncodedVotes:
    """Votes as integer arrays; ``a`` is the lower system index of a pair, ``b`` the higher.

    ``outcome`` is 0 when ``a`` won, 1 when ``b`` won, 2 for a tie, so it never
    depends on the screen position; ``choice`` (0 left, 1 right, 2 tie) keeps it.
    """

    systems: tuple[str, ...]
    criteria: tuple[str, ...]
    annotators: tuple[str, ...]
    prompts: tuple[str, ...]
    criterion: np.ndarray
    a: np.ndarray
    b: np.ndarray
    outcome: np.ndarray
    choice: np.ndarray
    annotator: np.ndarray
    prompt: np.ndarray
    seed: np.ndarray
    attention_check: np.ndarray
    annotator_excluded: np.ndarray
    attention_passed: np.ndarray | None = None

    @property
    def n_systems(self) -> int:
        return len(self.systems)

    def counted(self, include_excluded: bool = False) -> np.ndarray:
        """Mask of the votes that rankings use (:data:`formats.votes.COUNTED_WHEN`; ``include_excluded``
        also counts the votes of excluded annotators)."""
        mask = np.ones(len(self.attention_check), dtype=bool)
        for column, value in COUNTED_WHEN.items():
            if not (include_excluded and column == "annotator_excluded"):
                mask &= getattr(self, column) == value
        return mask


def _codes(series: pd.Series, categories: pd.Index) -> np.ndarray:
    cat = series if isinstance(series.dtype, pd.CategoricalDtype) else series.astype("category")
    lookup = categories.get_indexer(cat.cat.categories)
    return lookup[cat.cat.codes.to_numpy()]


def encode_votes(votes: pd.DataFrame, extra_systems=()) -> EncodedVotes:
    """Encode validated votes (see :func:`analysis.io.validate_votes`).

    Parameters
    ----------
    votes : pandas.DataFrame
        Validated votes.
    extra_systems : iterable of str
        Systems known from elsewhere (a bundle) that may have no votes at all.
    """
    left_cats = votes["system_left"].cat.categories
    right_cats = votes["system_right"].cat.categories
    systems = pd.Index(sorted(set(left_cats) | set(right_cats) | {str(s) for s in extra_systems}))
    criteria = pd.Index(sorted(votes["criterion"].cat.categories))
    # Sorted, so cluster indices (and so seeded bootstraps) do not depend on row
    # order or on the file format the votes came from.
    annotators = pd.Index(sorted(votes["annotator"].cat.categories))
    prompts = pd.Index(sorted(votes["prompt"].cat.categories))
    left = _codes(votes["system_left"], systems).astype(np.int32)
    right = _codes(votes["system_right"], systems).astype(np.int32)
    choice_cats = votes["choice"].cat.categories
    choice_map = np.array([CHOICES.index(c) for c in choice_cats], dtype=np.int8)  # left 0, right 1, tie 2
    choice = choice_map[votes["choice"].cat.codes.to_numpy()]
    a = np.minimum(left, right)
    b = np.maximum(left, right)
    left_is_a = left < right
    # outcome for a: choice left -> a won iff left is a; right -> a won iff right is a.
    a_won = np.where(choice == 0, left_is_a, ~left_is_a)
    outcome = np.where(choice == 2, TIE, np.where(a_won, A_WINS, B_WINS)).astype(np.int8)
    return EncodedVotes(
        systems=tuple(systems), criteria=tuple(criteria),
        annotators=tuple(annotators), prompts=tuple(prompts),
        criterion=_codes(votes["criterion"], criteria).astype(np.int32),
        a=a, b=b, outcome=outcome, choice=choice,
        annotator=_codes(votes["annotator"], annotators).astype(np.int32),
        prompt=_codes(votes["prompt"], prompts).astype(np.int32),
        seed=votes["seed"].to_numpy(np.int64),
        attention_check=votes["attention_check"].to_numpy(bool),
        annotator_excluded=votes["annotator_excluded"].to_numpy(bool),
        attention_passed=_optional_bool(votes, "attention_passed"),
    )


def _optional_bool(votes: pd.DataFrame, column: str) -> np.ndarray | None:
    """An optional true/false/empty column as float (1, 0, NaN), or None when absent."""
    if column not in votes.columns:
        return None
    s = votes[column]
    if s.dtype == bool:
        return s.to_numpy(np.float64)
    text = s.astype("string").str.strip().str.lower()
    out = np.full(len(s), np.nan)
    out[text.isin(["true", "1", "t", "yes"]).fillna(False).to_numpy(bool)] = 1.0
    out[text.isin(["false", "0", "f", "no"]).fillna(False).to_numpy(bool)] = 0.0
    return out


def n_distinct(codes: np.ndarray, size: int) -> int:
    """Number of distinct values among non-negative integer ``codes`` below ``size`` (no sort)."""
    return int(np.count_nonzero(np.bincount(codes, minlength=size))) if len(codes) else 0


def dense_codes(codes: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Renumber integer ``codes`` (< ``size``) to 0..m-1 in order, without sorting; returns (codes, m)."""
    present = np.bincount(codes, minlength=size) > 0
    lookup = np.cumsum(present) - 1
    return lookup[codes], int(present.sum())


def item_ids(ev: EncodedVotes) -> np.ndarray:
    """Item of each vote: (criterion, prompt, seed, unordered system pair), as dense ints."""
    seed_code, seeds = pd.factorize(ev.seed)
    k = np.int64(max(ev.n_systems, 1))
    key = ((ev.criterion.astype(np.int64) * max(len(ev.prompts), 1) + ev.prompt) * max(len(seeds), 1)
           + seed_code) * k * k + ev.a.astype(np.int64) * k + ev.b
    top = int(key.max()) + 1 if len(key) else 0
    if top <= max(8 * len(key), 1 << 20):
        return dense_codes(key, top)[0].astype(np.int64)  # small key space: no hashing needed
    return pd.factorize(key)[0].astype(np.int64)


def pair_counts(a: np.ndarray, b: np.ndarray, outcome: np.ndarray, k: int) -> np.ndarray:
    """Counts ``C[i, j, o]`` for i < j: outcome o (a wins, b wins, tie) of pair (i, j).

    Returns
    -------
    numpy.ndarray
        int64 array of shape ``(k, k, 3)``; entries with ``i >= j`` are zero.
    """
    idx = (a.astype(np.int64) * k + b) * 3 + outcome
    return np.bincount(idx, minlength=k * k * 3).reshape(k, k, 3)


def cluster_pair_counts(cluster: np.ndarray, n_clusters: int, a, b, outcome, k: int,
                        pairs: np.ndarray) -> np.ndarray:
    """Per-cluster counts restricted to the observed ``pairs``.

    Parameters
    ----------
    cluster : numpy.ndarray
        Cluster index of each vote (annotator or prompt code).
    pairs : numpy.ndarray
        ``(P, 2)`` array of the (i, j) pairs to keep, i < j.

    Returns
    -------
    numpy.ndarray
        float64 array ``(n_clusters, P * 3)``: column ``3 * p + o`` counts outcome o on pair p.
    """
    pair_of = np.full(k * k, -1, dtype=np.int64)
    pair_of[pairs[:, 0] * k + pairs[:, 1]] = np.arange(len(pairs))
    p = pair_of[a.astype(np.int64) * k + b]
    keep = p >= 0
    idx = (cluster[keep].astype(np.int64) * len(pairs) + p[keep]) * 3 + outcome[keep]
    counts = np.bincount(idx, minlength=n_clusters * len(pairs) * 3)
    return counts.reshape(n_clusters, len(pairs) * 3).astype(np.float64)
