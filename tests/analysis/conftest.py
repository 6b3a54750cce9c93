"""Shared helpers for the analysis tests: votes built from known strengths."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.synthetic import simulate_votes


def votes_from_counts(rows, *, criterion="overall", annotator_cycle=None, prompt="p1", start=0) -> pd.DataFrame:
    """Votes from ``(left, right, choice, count)`` rows; annotators a0, a1, ... by default one per vote."""
    records = []
    n = start
    for left, right, choice, count in rows:
        for _ in range(count):
            winner = {"left": left, "right": right, "tie": "tie"}[choice]
            annot = f"a{n}" if annotator_cycle is None else f"a{n % annotator_cycle}"
            records.append({"vote_id": f"v{n}", "study": "s", "criterion": criterion, "annotator": annot,
                            "prompt": prompt, "seed": n, "system_left": left, "system_right": right,
                            "choice": choice, "winner": winner, "response_ms": 1000,
                            "created_at": "2026-01-01T00:00:00+00:00", "attention_check": False,
                            "annotator_excluded": False})
            n += 1
    return pd.DataFrame.from_records(records)


@pytest.fixture(scope="session")
def known_votes() -> pd.DataFrame:
    """8,000 votes, no ties, 4 systems whose names do not sort in strength order."""
    return simulate_votes({"zeta": 1.0, "alpha": -1.0, "mid": 0.0, "beta": 0.5}, 8000, n_annotators=80,
                          n_prompts=40, tie_rate=0.0, seed=7)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
