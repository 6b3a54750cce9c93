"""Bradley-Terry (and Davidson) models fitted from pair counts.

The sufficient statistics of Bradley-Terry are the pair counts, so every fit
here takes a "wins" matrix ``W`` with ``W[..., i, j]`` = wins of i over j, a
tie counting as half a win for each side (contract section 3). Fits are
batched over leading axes, which is what makes 1,000 bootstrap fits cheap.

References
----------
Bradley, R. A. & Terry, M. E. (1952). Rank analysis of incomplete block designs.
Ford, L. R. (1957). Solution of a ranking problem from binary comparisons
(the MLE exists iff the "beats" graph is strongly connected).
Davidson, R. R. (1970). On extending the Bradley-Terry model to accommodate ties.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .numeric import expit

__all__ = [
    "ELO_BASE",
    "ELO_SCALE",
    "BTFit",
    "comparison_components",
    "fit_bradley_terry",
    "fit_davidson",
    "mle_exists",
    "to_elo",
    "wins_matrix",
]

ELO_BASE = 1000.0
ELO_SCALE = 400.0 / np.log(10.0)


def to_elo(score):
    """Elo scale of a natural-log BT score: ``1000 + 400 * score / ln(10)``."""
    return ELO_BASE + ELO_SCALE * np.asarray(score, dtype=float)


@dataclass(frozen=True)
class BTFit:
    """Scores of one (batched) fit; ``scores`` sum to zero along the last axis."""

    scores: np.ndarray
    iterations: int
    converged: np.ndarray


def wins_matrix(pair_counts: np.ndarray, pairs: np.ndarray, k: int) -> np.ndarray:
    """Wins matrix from counts over observed pairs.

    Parameters
    ----------
    pair_counts : numpy.ndarray
        ``(..., P, 3)`` counts of (a wins, b wins, tie) for each pair in ``pairs``.
    pairs : numpy.ndarray
        ``(P, 2)`` indices (a, b) of each pair.
    k : int
        Number of systems.

    Returns
    -------
    numpy.ndarray
        ``(..., k, k)`` float array, ``W[i, j]`` = wins of i over j + ties / 2.
    """
    pair_counts = np.asarray(pair_counts, dtype=np.float64)
    lead = pair_counts.shape[:-2]
    W = np.zeros(lead + (k, k))
    half_ties = pair_counts[..., 2] / 2.0
    W[..., pairs[:, 0], pairs[:, 1]] = pair_counts[..., 0] + half_ties
    W[..., pairs[:, 1], pairs[:, 0]] = pair_counts[..., 1] + half_ties
    return W


def mle_exists(W: np.ndarray) -> np.ndarray:
    """Whether the BT maximum-likelihood estimate exists (batched).

    It exists iff the directed graph with an edge i -> j whenever i gained
    anything over j (``W[i, j] > 0``) is strongly connected (Ford, 1957).
    """
    W = np.asarray(W)
    k = W.shape[-1]
    reach = (W > 0) | np.eye(k, dtype=bool)
    steps = max(1, int(np.ceil(np.log2(max(k, 2)))))
    r = reach.astype(np.float32)
    for _ in range(steps):
        r = np.minimum(r @ r, 1.0)
    return (r > 0).all(axis=(-1, -2))


def comparison_components(N: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the undirected comparison graph (``N[i, j] > 0``).

    Returns
    -------
    (int, numpy.ndarray)
        Number of components and the component label of each system
        (labels numbered by their smallest member).
    """
    adj = np.asarray(N) > 0
    k = adj.shape[-1]
    reach = (adj | adj.T | np.eye(k, dtype=bool)).astype(np.float32)
    for _ in range(max(1, int(np.ceil(np.log2(max(k, 2)))))):
        reach = np.minimum(reach @ reach, 1.0)
    first = (reach > 0).argmax(axis=1)  # smallest system reachable = component representative
    _, labels = np.unique(first, return_inverse=True)
    return int(labels.max()) + 1 if k else 0, labels


def fit_bradley_terry(W: np.ndarray, *, init: np.ndarray | None = None, max_iter: int = 100,
                      tol: float = 1e-10) -> BTFit:
    """Maximum-likelihood BT scores by Newton's method, batched over leading axes.

    Parameters
    ----------
    W : numpy.ndarray
        ``(..., k, k)`` wins matrix (see :func:`wins_matrix`). Each batch entry
        must have a connected comparison graph and an existing MLE; add a
        prior (virtual ties) beforehand where it does not.
    init : numpy.ndarray, optional
        ``(..., k)`` or ``(k,)`` starting scores (warm start).
    max_iter : int
        Most Newton steps.
    tol : float
        Stop when the largest score update is below ``tol``.

    Returns
    -------
    BTFit
        Centred natural-log scores.
    """
    W = np.asarray(W, dtype=np.float64)
    k = W.shape[-1]
    N = W + np.swapaxes(W, -1, -2)
    # Work on the compared pairs only (i < j): half the work of the full k x k matrices.
    iu, ju = np.triu_indices(k, 1)
    compared = (N[..., iu, ju] > 0).reshape(-1, len(iu)).any(axis=0)
    a, b = iu[compared], ju[compared]
    w_ab, n_ab = W[..., a, b], N[..., a, b]
    incidence = np.zeros((len(a), k))
    incidence[np.arange(len(a)), a] = 1.0
    incidence[np.arange(len(a)), b] = -1.0
    s = np.zeros(W.shape[:-1]) if init is None else np.broadcast_to(np.asarray(init, float), W.shape[:-1]).copy()
    s -= s.mean(-1, keepdims=True)
    gauge = np.full((k, k), 1.0 / k)
    diag = np.arange(k)
    step = np.full(W.shape[:-2], np.inf)
    it = 0
    for it in range(1, max_iter + 1):
        p = expit(s[..., a] - s[..., b])
        grad = (w_ab - n_ab * p) @ incidence  # gradient of the log-likelihood
        h = n_ab * p * (1.0 - p)
        hess = np.broadcast_to(gauge, W.shape).copy()  # minus the Hessian (a graph Laplacian) + gauge
        hess[..., a, b] -= h
        hess[..., b, a] -= h
        hess[..., diag, diag] += h @ np.abs(incidence)
        delta = np.linalg.solve(hess, grad[..., None])[..., 0]
        biggest = np.abs(delta).max(-1)
        # Damp huge steps (far from the optimum with extreme counts); Newton is exact near it.
        delta *= np.minimum(1.0, 4.0 / np.maximum(biggest, 1e-300))[..., None]
        s = s + delta
        s -= s.mean(-1, keepdims=True)
        step = biggest
        if np.all(step < tol):
            break
    return BTFit(scores=s, iterations=it, converged=np.asarray(step < max(tol, 1e-8)))


def fit_davidson(pair_counts: np.ndarray, pairs: np.ndarray, k: int, *, max_iter: int = 100,
                 tol: float = 1e-10) -> dict:
    """Davidson (1970) model, which treats a tie as its own outcome.

    ``P(i beats j) = pi_i / D``, ``P(tie) = nu * sqrt(pi_i pi_j) / D`` with
    ``D = pi_i + pi_j + nu * sqrt(pi_i pi_j)``; fitted by damped Newton steps
    on the exact log-likelihood (analytic gradient, finite-difference Hessian;
    k + 1 parameters, so this is cheap).

    Returns
    -------
    dict
        ``scores`` (centred natural-log ``pi``), ``tie_parameter`` (``nu``),
        ``converged``, ``iterations``.
    """
    like = _DavidsonLikelihood.of(pair_counts, pairs, k)
    x = np.zeros(k + 1)
    x[k] = np.log(max(like.t.sum(), 0.5) / max((like.wi + like.wj).sum(), 0.5))
    ll, g = like(x)
    converged, it = False, 0
    for it in range(1, max_iter + 1):
        try:
            step = np.linalg.solve(-like.hessian(x), g)
        except np.linalg.LinAlgError:
            step = g / like.total
        if not np.all(np.isfinite(step)) or step @ g <= 0:
            step = g / like.total  # not an ascent direction: fall back to gradient ascent
        scale, ll, g = _backtrack(like, x, step, ll)
        x = x + scale * step
        if np.abs(scale * step).max() < tol or np.abs(g).max() < 1e-9 * like.total:
            converged = True
            break
    s = x[:k] - x[:k].mean()
    return {"scores": s, "tie_parameter": float(np.exp(x[k])), "converged": converged, "iterations": it}


@dataclass(frozen=True)
class _DavidsonLikelihood:
    """The Davidson log-likelihood of pair counts and its gradient in ``x = (log pi, log nu)``.

    A quadratic penalty on the mean score fixes the gauge (scores are only
    identified up to a constant).
    """

    i: np.ndarray
    j: np.ndarray
    wi: np.ndarray
    wj: np.ndarray
    t: np.ndarray
    n: np.ndarray
    total: float
    k: int

    @classmethod
    def of(cls, pair_counts: np.ndarray, pairs: np.ndarray, k: int) -> _DavidsonLikelihood:
        c = np.asarray(pair_counts, dtype=np.float64)
        wi, wj, t = c[:, 0], c[:, 1], c[:, 2]
        n = wi + wj + t
        return cls(pairs[:, 0], pairs[:, 1], wi, wj, t, n, n.sum(), k)

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        i, j, wi, wj, t, n, k = self.i, self.j, self.wi, self.wj, self.t, self.n, self.k
        s, theta = x[:k], x[k]
        si, sj = s[i], s[j]
        m = np.maximum(si, sj)
        ei, ej, et = np.exp(si - m), np.exp(sj - m), np.exp(theta + (si + sj) / 2 - m)
        den = ei + ej + et
        ll = (wi * si + wj * sj + t * (theta + (si + sj) / 2) - n * (m + np.log(den))).sum()
        pi_, pj_, pt_ = ei / den, ej / den, et / den
        g = np.bincount(i, wi + t / 2 - n * (pi_ + pt_ / 2), minlength=k + 1)
        g += np.bincount(j, wj + t / 2 - n * (pj_ + pt_ / 2), minlength=k + 1)
        g[k] = (t - n * pt_).sum()
        mean = s.mean()  # gauge: a quadratic penalty on the mean score
        return ll - 0.5 * self.total * mean**2, g - np.r_[np.full(k, self.total * mean / k), 0.0]

    def hessian(self, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
        """Central finite differences of the analytic gradient, symmetrised."""
        size = self.k + 1
        hess = np.empty((size, size))
        for p in range(size):
            e = np.zeros(size)
            e[p] = h
            hess[:, p] = (self(x + e)[1] - self(x - e)[1]) / (2 * h)
        return (hess + hess.T) / 2


def _backtrack(like: _DavidsonLikelihood, x: np.ndarray, step: np.ndarray, ll: float):
    """Halve ``step`` until the log-likelihood does not fall; returns (scale, log-likelihood, gradient)."""
    scale = 1.0
    while scale > 1e-8:
        ll_new, g_new = like(x + scale * step)
        if np.isfinite(ll_new) and ll_new >= ll - 1e-12 * abs(ll):
            break
        scale /= 2
    return scale, ll_new, g_new
