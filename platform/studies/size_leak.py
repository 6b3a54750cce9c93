"""Does file size alone tell the systems apart? A check run on the served bytes at import.

Re-encoding (``studies.reencode``) gives every system the same format, but the size of a
PNG still follows the picture: a system whose images are smoother compresses better, and an
annotator can read the size of each image from the browser. For every pair of systems the
import compares the two served sizes on each (prompt, seed) they share and runs a two-sided
sign test (exact binomial, p = 1/2): under "size says nothing about the system" the larger
file belongs to either system half the time. A pair whose p-value is below
:data:`ALPHA` divided by the number of pairs (Bonferroni) gets a warning in the import
report: a simple "the larger file is system X" rule beats chance there.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

from scipy.stats import binomtest

__all__ = ["ALPHA", "SizeLeak", "size_leaks", "size_warnings"]

ALPHA = 0.01


@dataclass(frozen=True)
class SizeLeak:
    """System ``larger`` had the larger served file in ``wins`` of ``n`` shared (prompt, seed)s."""

    larger: str
    smaller: str
    wins: int
    n: int
    p_value: float

    @property
    def accuracy(self) -> float:
        """Share of (prompt, seed)s where "the larger file is ``larger``" names the system right."""
        return self.wins / self.n

    def message(self) -> str:
        return (f"file size predicts the system: {self.larger!r}'s served image is larger than "
                f"{self.smaller!r}'s on {self.wins} of {self.n} (prompt, seed)s "
                f"(sign test p = {self.p_value:.2g}); an annotator who looks at image sizes can tell "
                f"them apart {self.accuracy:.0%} of the time (chance: 50%)")


def size_leaks(sizes: dict[tuple[str, str, int], int], *, alpha: float = ALPHA) -> list[SizeLeak]:
    """Pairs of systems whose served sizes differ more than chance allows.

    Parameters
    ----------
    sizes : dict
        ``(system, prompt, seed) -> served size in bytes``.
    alpha : float
        Family-wise significance level, split over the pairs (Bonferroni).
    """
    by_system: dict[str, dict[tuple[str, int], int]] = defaultdict(dict)
    for (system, prompt, seed), size in sizes.items():
        by_system[system][(prompt, seed)] = size
    pairs = list(itertools.combinations(sorted(by_system), 2))
    leaks = []
    for a, b in pairs:
        shared = by_system[a].keys() & by_system[b].keys()
        a_larger = sum(by_system[a][k] > by_system[b][k] for k in shared)
        b_larger = sum(by_system[b][k] > by_system[a][k] for k in shared)
        n = a_larger + b_larger  # equal sizes say nothing either way
        if n == 0:
            continue
        p_value = binomtest(a_larger, n, 0.5).pvalue
        if p_value < alpha / len(pairs):
            larger, smaller, wins = (a, b, a_larger) if a_larger >= b_larger else (b, a, b_larger)
            leaks.append(SizeLeak(larger=larger, smaller=smaller, wins=wins, n=n, p_value=float(p_value)))
    return leaks


def size_warnings(sizes: dict[tuple[str, str, int], int]) -> list[str]:
    """The import report's warnings (one sentence per leaking pair of systems)."""
    return [leak.message() for leak in size_leaks(sizes)]
