"""Synthetic votes from known Bradley-Terry strengths (tests and benchmarks)."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["simulate_votes"]


def simulate_votes(strengths: dict[str, float] | list[float], n_votes: int, *, n_annotators: int = 50,
                   n_prompts: int = 50, n_seeds: int = 1, tie_rate: float = 0.1, criteria=("overall",),
                   annotator_sd: float = 0.0, attention_rate: float = 0.0, excluded_share: float = 0.0,
                   pairs: list[tuple[str, str]] | None = None, seed: int = 0, study: str = "synthetic") -> pd.DataFrame:
    """Votes from a Bradley-Terry model with ties drawn at a fixed rate.

    Each vote picks a pair (uniformly among ``pairs`` or all pairs), a random
    screen order, an annotator, a prompt and a seed. With probability
    ``tie_rate`` it is a tie; otherwise system i beats j with probability
    ``1 / (1 + exp(s_j - s_i))``, where each annotator's strengths are shifted
    by ``N(0, annotator_sd)`` noise (clustered votes).

    Returns
    -------
    pandas.DataFrame
        Votes with the columns of contract section 2.
    """
    names, s = _strengths(strengths)
    rng = np.random.default_rng(seed)
    ii, jj = _candidate_pairs(names, pairs)
    p = rng.integers(0, len(ii), n_votes)
    i, j = ii[p], jj[p]
    annot = rng.integers(0, n_annotators, n_votes)
    noise = (rng.normal(0.0, annotator_sd, (n_annotators, len(s))) if annotator_sd > 0
             else np.zeros((n_annotators, len(s))))
    d = (s[i] + noise[annot, i]) - (s[j] + noise[annot, j])
    i_wins = rng.random(n_votes) < 1.0 / (1.0 + np.exp(-d))
    tie = rng.random(n_votes) < tie_rate
    swap = rng.random(n_votes) < 0.5
    return _votes_frame(rng, names, np.where(swap, j, i), np.where(swap, i, j), np.where(i_wins, i, j), tie, annot,
                        n_annotators=n_annotators, n_prompts=n_prompts, n_seeds=n_seeds, criteria=criteria,
                        attention_rate=attention_rate, excluded_share=excluded_share, study=study)


def _strengths(strengths: dict[str, float] | list[float]) -> tuple[list[str], np.ndarray]:
    """System names (``sys00``, ``sys01``, ... for a list) and their strengths."""
    if isinstance(strengths, dict):
        names, s = list(strengths), np.array(list(strengths.values()), dtype=float)
    else:
        s = np.asarray(strengths, dtype=float)
        names = [f"sys{i:02d}" for i in range(len(s))]
    if len(s) < 2:
        raise ValueError("simulate_votes needs at least two systems")
    return names, s


def _candidate_pairs(names: list[str], pairs: list[tuple[str, str]] | None) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) of the pairs a vote may compare: ``pairs``, or every pair."""
    if pairs is None:
        return np.triu_indices(len(names), 1)
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[x] for x, _ in pairs]), np.array([index[y] for _, y in pairs])


def _votes_frame(rng, names: list[str], left: np.ndarray, right: np.ndarray, winner: np.ndarray, tie: np.ndarray,
                 annot: np.ndarray, *, n_annotators: int, n_prompts: int, n_seeds: int, criteria, attention_rate: float,
                 excluded_share: float, study: str) -> pd.DataFrame:
    """The votes as a contract frame, drawing criterion, prompt, seed, response time and flags from ``rng``."""
    n_votes = len(left)
    names_arr = np.array(names, dtype=object)
    choice = np.where(tie, "tie", np.where(winner == left, "left", "right"))
    excluded_annot = rng.random(n_annotators) < excluded_share
    crit = np.array(list(criteria), dtype=object)[rng.integers(0, len(criteria), n_votes)]
    return pd.DataFrame({
        "vote_id": pd.Series(np.arange(n_votes)).map("v{:07d}".format),
        "study": study,
        "criterion": pd.Categorical(crit),
        "annotator": pd.Categorical.from_codes(annot, [f"a{x:04d}" for x in range(n_annotators)]),
        "prompt": pd.Categorical.from_codes(rng.integers(0, n_prompts, n_votes), [f"p{x:04d}" for x in range(n_prompts)]),
        "seed": rng.integers(0, n_seeds, n_votes),
        "system_left": pd.Categorical(names_arr[left], categories=names),
        "system_right": pd.Categorical(names_arr[right], categories=names),
        "choice": pd.Categorical(choice, categories=["left", "right", "tie"]),
        "winner": pd.Categorical(np.where(tie, "tie", names_arr[winner]), categories=names + ["tie"]),
        "response_ms": rng.integers(400, 9000, n_votes),
        "created_at": "2026-01-01T00:00:00+00:00",
        "attention_check": rng.random(n_votes) < attention_rate,
        "annotator_excluded": excluded_annot[annot],
    })
