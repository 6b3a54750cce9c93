"""Bradley-Terry ranking with bootstrap intervals, per connected component.

Handles the cases where the plain maximum-likelihood fit is meaningless:

* a disconnected comparison graph: each component is fitted and centred on
  its own and flagged, because scores from different components cannot be
  compared (popular libraries silently centre each group at zero);
* a system that never loses or never wins (no MLE exists): the component is
  fitted with a weak prior, ``prior`` virtual ties added to every compared
  pair, and flagged as regularized. Bootstrap samples in which the MLE does
  not exist get the same prior, and their number is reported.
"""
from __future__ import annotations

import numpy as np

from .bootstrap import percentile_interval
from .bradley_terry import (
    comparison_components,
    fit_bradley_terry,
    mle_exists,
    wins_matrix,
)

__all__ = ["rank_systems"]

#: Most cells of the (samples, k, k) arrays fitted at once.
_BATCH_CELLS = 2_000_000


def _with_prior(W: np.ndarray, adjacency: np.ndarray, prior: float, where=None) -> np.ndarray:
    add = adjacency * (prior / 2.0)
    if where is None:
        return W + add
    return W + np.where(where[:, None, None], add, 0.0)


def rank_systems(pair_counts: np.ndarray, pairs: np.ndarray, k: int, boot: dict[str, np.ndarray], *,
                 prior: float = 1.0) -> dict:
    """Fit BT scores and their bootstrap intervals.

    Parameters
    ----------
    pair_counts : numpy.ndarray
        ``(P, 3)`` counts (a wins, b wins, tie) of each pair in ``pairs``.
    pairs : numpy.ndarray
        ``(P, 2)`` system indices, a < b, each pair with at least one vote.
    k : int
        Number of systems (systems absent from ``pairs`` get no score).
    boot : dict
        ``{kind: (B, P, 3) resampled counts}``.
    prior : float
        Virtual ties per compared pair where the MLE does not exist.

    Returns
    -------
    dict
        ``scores`` (k, NaN where never compared), ``component`` (k, -1 where
        never compared), ``n_components``, ``regularized`` (per component),
        ``intervals`` ``{kind: (lo, hi)}``, ``samples`` ``{kind: (B, k)}``,
        ``boot_regularized`` ``{kind: count}``, ``converged``.
    """
    scores = np.full(k, np.nan)
    component = np.full(k, -1)
    W_all = wins_matrix(pair_counts, pairs, k)
    N_all = W_all + W_all.T
    comp_ids = _component_members(N_all)
    regularized, converged = [], True
    samples = {kind: np.full((b.shape[0], k), np.nan) for kind, b in boot.items()}
    boot_reg = {kind: 0 for kind in boot}
    boot_unconverged = {kind: 0 for kind in boot}
    for c, idx in enumerate(comp_ids):
        component[idx] = c
        sub = np.ix_(idx, idx)
        W = W_all[sub]
        adjacency = (N_all[sub] > 0).astype(float)
        reg = not bool(mle_exists(W))
        regularized.append(reg)
        fit = fit_bradley_terry(_with_prior(W, adjacency, prior) if reg else W)
        converged &= bool(fit.converged)
        scores[idx] = fit.scores
        for kind, b in boot.items():
            n_reg, n_unconverged = _fit_bootstrap(b, pairs, k, idx, adjacency, prior=prior, regularized=reg,
                                                  init=fit.scores, out=samples[kind])
            boot_reg[kind] += n_reg
            boot_unconverged[kind] += n_unconverged
    intervals = {kind: percentile_interval(s) if len(s) else (np.full(k, np.nan),) * 2
                 for kind, s in samples.items()}
    return {"scores": scores, "component": component, "n_components": len(comp_ids),
            "regularized": regularized, "intervals": intervals, "samples": samples,
            "boot_regularized": boot_reg, "boot_unconverged": boot_unconverged, "converged": converged}


def _component_members(N: np.ndarray) -> list[np.ndarray]:
    """The compared systems of each connected component, largest first (ties: smallest member first)."""
    compared = N.sum(1) > 0
    _, labels = comparison_components(N)
    members = [np.flatnonzero((labels == lab) & compared) for lab in np.unique(labels[compared])]
    members.sort(key=lambda idx: (-len(idx), idx[0]))
    return members


def _fit_bootstrap(b: np.ndarray, pairs: np.ndarray, k: int, idx: np.ndarray, adjacency: np.ndarray, *,
                   prior: float, regularized: bool, init: np.ndarray, out: np.ndarray) -> tuple[int, int]:
    """Fit the bootstrap counts ``b`` on the component ``idx`` into ``out[:, idx]``, in memory-bounded chunks.

    Samples without an MLE (all of them when the component is regularized) get
    the prior. Returns (samples regularized, fits not converged).
    """
    sub = np.ix_(idx, idx)
    n_reg = n_unconverged = 0
    chunk = max(1, _BATCH_CELLS // (len(idx) * len(idx)))  # bounds memory for many systems
    for start in range(0, b.shape[0], chunk):
        Wb = wins_matrix(b[start:start + chunk], pairs, k)[(slice(None),) + sub]
        need = np.ones(len(Wb), bool) if regularized else ~mle_exists(Wb)
        n_reg += int(need.sum())
        bfit = fit_bradley_terry(_with_prior(Wb, adjacency, prior, need), init=init)
        n_unconverged += int((~bfit.converged).sum())
        out[start:start + chunk, idx] = bfit.scores
    return n_reg, n_unconverged
