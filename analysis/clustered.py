"""Cluster-robust variance of win rates and the design effect, from the votes themselves.

Rules:

* votes by one annotator, or on one prompt, are not independent; the default
  standard error of every win rate is the two-way cluster-robust (sandwich)
  variance of Cameron, Gelbach & Miller (2011), annotators x prompts:
  ``V = V_annotator + V_prompt - V_annotator&prompt``, each one-way term
  ``G / (G - 1) * sum_g (sum of residuals in cluster g)^2 / n^2`` with
  residual ``score - win_rate`` (score 1 win, 1/2 tie, 0 loss);
* where ``V`` comes out zero or negative (possible with few clusters) the
  larger one-way variance is used instead (Cameron, Gelbach & Miller 2011,
  section 2.3); no other floor, so the design effect ``V / V_independent``
  may come out a little below 1 when votes are close to independent (its
  estimation noise, which the t reference distribution of the tests and
  intervals accounts for, with annotators - 1 degrees of freedom);
* a pair voted on by a single annotator (or all votes on one prompt) has no
  clustered variance: NaN, and the summary says so;
* the pooled design effect of a criterion is the ratio of the summed
  variances of the pair totals, ``sum_p n_p^2 V_p / sum_p n_p^2 V_ind,p``:
  what the power calculator needs to plan a study with the same crowd
  (which takes it as at least 1).

References
----------
Cameron, A. C., Gelbach, J. B. & Miller, D. L. (2011). Robust inference with
multiway clustering. Journal of Business & Economic Statistics 29(2).
Kish, L. (1965). Survey Sampling (the design effect).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ClusteredVariance", "clustered_win_rate_variance", "pooled_design_effect"]


@dataclass(frozen=True)
class ClusteredVariance:
    """Per-pair variances of the win rate (length P arrays) and the one-way parts."""

    n: np.ndarray
    win_rate: np.ndarray
    independent: np.ndarray
    annotator: np.ndarray
    prompt: np.ndarray
    two_way: np.ndarray
    n_annotators: np.ndarray
    n_prompts: np.ndarray

    @property
    def design_effect(self) -> np.ndarray:
        """``two_way / independent`` (1 where the independent variance is 0; NaN where not estimable)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.independent > 0, self.two_way / np.where(self.independent > 0, self.independent, 1),
                            np.where(np.isnan(self.two_way), np.nan, 1.0))


def _one_way(pair: np.ndarray, resid: np.ndarray, cluster_key: np.ndarray, n_pairs: int, n2: np.ndarray):
    """CR1 variance of each pair's mean with clusters given by ``cluster_key`` (any int64 per vote)."""
    codes, uniq = pd.factorize(pair.astype(np.int64) * np.int64(1 << 40) + cluster_key, sort=False)
    sums = np.bincount(codes, weights=resid, minlength=len(uniq))
    owner = (np.asarray(uniq) >> 40).astype(np.int64)
    g = np.bincount(owner, minlength=n_pairs).astype(np.float64)
    ss = np.bincount(owner, weights=sums * sums, minlength=n_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(g > 1, g / np.maximum(g - 1, 1) * ss / n2, np.nan), g


def clustered_win_rate_variance(pair: np.ndarray, score: np.ndarray, annotator: np.ndarray, prompt: np.ndarray,
                                n_pairs: int) -> ClusteredVariance:
    """Variance of each pair's win rate: independent, one-way by annotator and by prompt, and two-way.

    Parameters
    ----------
    pair : numpy.ndarray
        Pair index (0..n_pairs-1) of each vote.
    score : numpy.ndarray
        1 (the pair's first system won), 0.5 (tie) or 0 per vote.
    annotator, prompt : numpy.ndarray
        Cluster codes of each vote (non-negative ints below 2**20 each).
    n_pairs : int

    Returns
    -------
    ClusteredVariance
    """
    pair = np.asarray(pair, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    n = np.bincount(pair, minlength=n_pairs).astype(np.float64)
    total = np.bincount(pair, weights=score, minlength=n_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    resid = score - rate[pair]
    n2 = np.maximum(n, 1) ** 2
    independent = np.bincount(pair, weights=resid * resid, minlength=n_pairs) / n2
    a = np.asarray(annotator, dtype=np.int64)
    p = np.asarray(prompt, dtype=np.int64)
    v_a, g_a = _one_way(pair, resid, a, n_pairs, n2)
    v_p, g_p = _one_way(pair, resid, p, n_pairs, n2)
    v_ap, _ = _one_way(pair, resid, a * np.int64(1 << 20) + p, n_pairs, n2)
    with np.errstate(invalid="ignore"):
        both = v_a + v_p - v_ap
        both = np.where(both > 0, both, np.maximum(v_a, v_p))
        # all votes of a pair on one prompt: cluster by annotator alone; one annotator: not estimable
        two_way = np.where(np.isnan(v_p), v_a, both)
        two_way = np.where(np.isnan(v_a), np.nan, two_way)
    return ClusteredVariance(n=n, win_rate=rate, independent=independent, annotator=v_a, prompt=v_p,
                             two_way=two_way, n_annotators=g_a, n_prompts=g_p)


def pooled_design_effect(n: np.ndarray, variance: np.ndarray, independent: np.ndarray) -> float | None:
    """``sum n^2 V / sum n^2 V_ind`` over pairs where both are known (None when nothing is)."""
    n, variance, independent = (np.asarray(x, dtype=np.float64) for x in (n, variance, independent))
    ok = np.isfinite(variance) & np.isfinite(independent) & (independent > 0)
    if not ok.any():
        return None
    w = n[ok] ** 2
    return float((w * variance[ok]).sum() / (w * independent[ok]).sum())
