"""Bootstrap resampling of pair counts: by vote, by annotator, by prompt.

Bradley-Terry and win rates depend on the votes only through the pair
counts, so no bootstrap here touches individual rows:

* ``vote``: each pair's (a wins, b wins, tie) counts are redrawn from a
  multinomial with the observed total and proportions (a bootstrap of votes
  stratified by pair, i.e. keeping the study's design fixed);
* ``annotator`` / ``prompt`` (cluster bootstrap): votes are first summed into
  one count vector per cluster, clusters are drawn with replacement
  (multinomial weights), and the resampled counts are a matrix product.
  Votes by one person, or on one prompt, are not independent; this interval
  accounts for that.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["KINDS", "cluster_bootstrap", "percentile_interval", "vote_bootstrap"]

KINDS = ("vote", "annotator", "prompt")


def vote_bootstrap(counts: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Resample each pair's counts from its own multinomial.

    Parameters
    ----------
    counts : numpy.ndarray
        ``(P, 3)`` observed counts.
    n_samples : int
        Number of bootstrap samples ``B``.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        ``(B, P, 3)`` float counts.
    """
    counts = np.asarray(counts, dtype=np.int64)
    n = counts.sum(-1)
    safe = np.maximum(n, 1)
    p_win = counts[:, 0] / safe
    with np.errstate(invalid="ignore", divide="ignore"):
        p_loss_given_not_win = np.where(counts[:, 0] < n, counts[:, 1] / np.maximum(n - counts[:, 0], 1), 0.0)
    # a multinomial over (win, loss, tie) as two binomials: much faster than Generator.multinomial per pair
    wins = rng.binomial(n, p_win, size=(n_samples, len(n)))
    losses = rng.binomial(n - wins, p_loss_given_not_win)
    out = np.empty((n_samples, len(n), 3))
    out[..., 0], out[..., 1], out[..., 2] = wins, losses, n - wins - losses
    return out


def cluster_bootstrap(cluster_counts: np.ndarray, n_samples: int, rng: np.random.Generator,
                      chunk: int = 250) -> np.ndarray:
    """Resample whole clusters with replacement.

    Parameters
    ----------
    cluster_counts : numpy.ndarray
        ``(C, P * 3)`` counts per cluster (see :func:`analysis.encode.cluster_pair_counts`).
    n_samples : int
        Number of bootstrap samples ``B``.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        ``(B, P, 3)`` float counts.
    """
    n_clusters = cluster_counts.shape[0]
    # n_clusters draws with replacement per sample, counted per cluster (= multinomial weights, but fast)
    draws = rng.integers(0, n_clusters, size=(n_samples, n_clusters))
    draws += np.arange(n_samples)[:, None] * n_clusters
    weights = np.bincount(draws.ravel(), minlength=n_samples * n_clusters).reshape(n_samples, n_clusters)
    out = np.empty((n_samples, cluster_counts.shape[1]))
    for start in range(0, n_samples, chunk):
        out[start:start + chunk] = weights[start:start + chunk].astype(np.float64) @ cluster_counts
    return out.reshape(n_samples, -1, 3)


def percentile_interval(samples: np.ndarray, level: float = 0.95, axis: int = 0):
    """Percentile interval of bootstrap ``samples`` along ``axis``; NaNs ignored."""
    tail = (1.0 - level) / 2.0 * 100.0
    samples = np.moveaxis(np.asarray(samples, dtype=float), axis, 0)
    finite = np.isfinite(samples).all(axis=0)
    lo = np.full(samples.shape[1:], np.nan)
    hi = np.full(samples.shape[1:], np.nan)
    if finite.any():  # the vectorised path; nanpercentile goes column by column
        lo[finite], hi[finite] = np.percentile(samples[:, finite], [tail, 100.0 - tail], axis=0)
    if (~finite).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
            lo[~finite], hi[~finite] = np.nanpercentile(samples[:, ~finite], [tail, 100.0 - tail], axis=0)
    return lo, hi
