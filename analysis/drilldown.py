"""Per-prompt drill-down: the prompts on which a system wins and loses most.

Rules:

* counted votes only (as for rankings); a tie counts half, as in win rates;
* a prompt's "net" for a system is its wins minus its losses there; the
  prompts it wins most are those with the largest positive net (then the most
  votes), the prompts it loses most those with the most negative net;
* per system (against every opponent) and per compared pair, oriented like
  the summary's win-rate rows (``a`` against ``b``);
* at most ``top`` prompts each way; a prompt with net 0 is in neither list.
"""
from __future__ import annotations

import numpy as np

__all__ = ["prompt_drilldown"]

#: Largest (pairs x prompts x 3) count array built for the per-pair lists.
_MAX_CELLS = 30_000_000


def _rows(counts: np.ndarray, prompts, top: int) -> tuple[list, list]:
    """``counts`` (H, 3): wins, losses, ties per prompt -> (wins most, loses most) rows."""
    w, l, t = counts[:, 0], counts[:, 1], counts[:, 2]
    n = w + l + t
    net = w - l
    best = np.lexsort((-n, -net))
    worst = np.lexsort((-n, net))

    def row(h):
        return {"prompt": prompts[h], "wins": int(w[h]), "losses": int(l[h]), "ties": int(t[h]), "n": int(n[h]),
                "win_rate": float((w[h] + t[h] / 2) / n[h])}

    return ([row(h) for h in best[:top] if net[h] > 0], [row(h) for h in worst[:top] if net[h] < 0])


def prompt_drilldown(a: np.ndarray, b: np.ndarray, outcome: np.ndarray, prompt: np.ndarray, *, systems, prompts,
                     pairs: np.ndarray, flip: np.ndarray, top: int = 5) -> dict:
    """Prompts each system (and each pair's ``a``) wins and loses most.

    Parameters
    ----------
    a, b, outcome, prompt : numpy.ndarray
        Counted votes: pair systems (a < b), outcome (0 a won, 1 b won, 2 tie), prompt code.
    systems, prompts : sequence of str
        Labels of the codes.
    pairs : numpy.ndarray
        ``(P, 2)`` observed pairs, as in the win-rate rows.
    flip : numpy.ndarray
        ``(P,)`` True where the win-rate row reads (b against a).
    top : int
        Prompts listed each way.

    Returns
    -------
    dict
        ``by_system``: ``[{system, wins_most, loses_most}]``; ``by_pair``:
        ``[{a, b, wins_most, loses_most}]`` (``a``'s view).
    """
    k, h = len(systems), len(prompts)
    res = {"rule": "net = wins - losses of the system on the prompt (ties count for neither); counted votes only",
           "by_system": [], "by_pair": []}
    if not len(a):
        return res
    prompt = prompt.astype(np.int64)
    # for the system on each side: 0 win, 1 loss, 2 tie
    side_a = np.where(outcome == 2, 2, outcome)
    side_b = np.where(outcome == 2, 2, 1 - np.minimum(outcome, 1))
    key = np.concatenate([(a.astype(np.int64) * h + prompt) * 3 + side_a, (b.astype(np.int64) * h + prompt) * 3 + side_b])
    per_system = np.bincount(key, minlength=k * h * 3).reshape(k, h, 3)
    for s in range(k):
        if per_system[s].sum() == 0:
            continue
        wins_most, loses_most = _rows(per_system[s], prompts, top)
        res["by_system"].append({"system": systems[s], "wins_most": wins_most, "loses_most": loses_most})
    n_pairs = len(pairs)
    if n_pairs * h * 3 > _MAX_CELLS:
        res["note"] = "too many pairs x prompts for the per-pair lists; per-system lists only"
        return res
    pair_of = np.full(k * k, -1, dtype=np.int64)
    pair_of[pairs[:, 0] * k + pairs[:, 1]] = np.arange(n_pairs)
    p = pair_of[a.astype(np.int64) * k + b]
    per_pair = np.bincount((p * h + prompt) * 3 + side_a, minlength=n_pairs * h * 3).reshape(n_pairs, h, 3)
    for i, (x, y) in enumerate(pairs):
        c = per_pair[i]
        if flip[i]:
            c = c[:, [1, 0, 2]]
            x, y = y, x
        wins_most, loses_most = _rows(c, prompts, top)
        res["by_pair"].append({"a": systems[x], "b": systems[y], "wins_most": wins_most, "loses_most": loses_most})
    return res
