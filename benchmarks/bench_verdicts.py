"""Do the report's default verdicts hold their nominal error rates? A simulation with known truth.

Prints three tables (fixed seeds; Monte Carlo standard errors beside each rate):

1. Coverage of the default 95% intervals of a difference between two systems
   (Bradley-Terry score difference: cluster bootstrap, ``differences`` rows;
   win rate of one against the other: clustered Wilson, ``win_rates`` rows),
   with the vote-bootstrap (independent votes) win-rate interval for contrast.
   4 systems a few Elo points apart (strengths 0.10, 0.00, -0.05, -0.15),
   4,000 votes, 10% ties, 100 prompts; each annotator's strengths are shifted
   by N(0, sd) noise (``analysis.synthetic.simulate_votes``), sd 0 / 0.3 / 0.5,
   40 or 200 annotators. The truth is the population value: the win rate
   averaged over annotators' noise (Gauss-Hermite quadrature) and the
   Bradley-Terry scores fitted to those population win rates.
2. Type I error at the non-inferiority margin (true win rate exactly
   0.5 - 0.05 = 0.45, 10% ties), 1,500 planned votes on the pair, annotators
   arriving in random order, each giving their votes in a burst:
   the default fixed-sample test of the summary (``equivalence`` rows,
   one look at the end) and the study question's group-sequential test
   looked at 5 and 10 times (equally spaced) while votes come in.
   The sequential looks use the same functions as the summary
   (``clustered_win_rate_variance``, ``spending_boundaries``) directly, for
   speed; the first replicates of each setting are checked against
   ``build_summary(question=...)`` and must agree exactly.
3. Agreement (Krippendorff's alpha, Fleiss' kappa) on random votes over 2, 4
   and 20 equal systems: 2,000 items of 3 votes each.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_verdicts.py            # 6-8 min of one core (25 min wall here, loaded)
    python benchmarks/bench_verdicts.py --reps 0.2                    # a fifth of the replicates (quick look)
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.bradley_terry import fit_bradley_terry
from analysis.clustered import clustered_win_rate_variance
from analysis.numeric import expit
from analysis.question import t_as_z
from analysis.report import build_summary
from analysis.sequential import spending_boundaries
from analysis.synthetic import simulate_votes

STRENGTHS = [0.10, 0.0, -0.05, -0.15]
TIE_RATE = 0.1
SDS = (0.0, 0.3, 0.5)
ANNOTATORS = (40, 200)
MARGIN, ALPHA, PLANNED = 0.05, 0.05, 1500
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
WEIGHTS = WEIGHTS / WEIGHTS.sum()


def _marginal_win(d: float, sd_diff: float) -> float:
    """P(i beats j | not a tie) averaged over an annotator's N(0, sd_diff) shift of the log-odds."""
    return float((WEIGHTS * expit(d + sd_diff * NODES)).sum())


def _truth(sd: float):
    """Population win rates (ties half) of every pair, and BT scores fitted to them."""
    k = len(STRENGTHS)
    rate = np.full((k, k), 0.5)
    for i in range(k):
        for j in range(k):
            if i != j:
                rate[i, j] = (1 - TIE_RATE) * _marginal_win(STRENGTHS[i] - STRENGTHS[j], sd * math.sqrt(2)) \
                    + TIE_RATE / 2
    W = rate.copy()
    np.fill_diagonal(W, 0.0)
    scores = fit_bradley_terry(W).scores
    return rate, scores


def _mc(p: float, n: int) -> str:
    return f"{100 * p:5.1f}% +-{100 * math.sqrt(max(p * (1 - p), 1e-12) / n):.1f}"


def coverage_table(reps: int) -> list[tuple]:
    rows = []
    for sd in SDS:
        rate, scores = _truth(sd)
        true_diff = scores[0] - scores[1]
        true_rate = rate[0, 1]
        for n_annot in ANNOTATORS:
            hit_diff = hit_rate = hit_vote = 0
            widths = []
            for rep in range(reps):
                votes = simulate_votes(STRENGTHS, 4000, n_annotators=n_annot, n_prompts=100, tie_rate=TIE_RATE,
                                       annotator_sd=sd, seed=10_000 * int(10 * sd) + 1000 * n_annot + rep)
                res = build_summary(votes, seed=rep)["by_criterion"]["overall"]
                diff = next(r for r in res["differences"] if {r["a"], r["b"]} == {"sys00", "sys01"})
                lo, hi = diff["ci95"]
                truth = true_diff if diff["a"] == "sys00" else -true_diff
                hit_diff += lo <= truth <= hi
                widths.append(hi - lo)
                wr = next(r for r in res["win_rates"] if {r["a"], r["b"]} == {"sys00", "sys01"})
                t_rate = true_rate if wr["a"] == "sys00" else 1 - true_rate
                hit_rate += wr["ci95"][0] <= t_rate <= wr["ci95"][1]
                vlo, vhi = wr["ci95_by_bootstrap"]["vote"]
                hit_vote += vlo <= t_rate <= vhi
            rows.append((sd, n_annot, reps, hit_diff / reps, hit_rate / reps, hit_vote / reps, float(np.mean(widths))))
    return rows


def _pair_votes(rng, sd: float, n_annot: int):
    """Votes of A against B with true win rate 0.45, annotators arriving in random order."""
    target_q = (0.5 - MARGIN - TIE_RATE / 2) / (1 - TIE_RATE)
    lo, hi = -3.0, 3.0
    for _ in range(60):  # the log-odds whose annotator-averaged win probability is target_q
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _marginal_win(mid, sd * math.sqrt(2)) < target_q else (lo, mid)
    delta = (lo + hi) / 2
    shift = rng.normal(0.0, sd * math.sqrt(2), n_annot) if sd > 0 else np.zeros(n_annot)
    annot = rng.integers(0, n_annot, PLANNED)
    arrival = rng.random(n_annot)[annot] + 0.05 * rng.random(PLANNED)  # each annotator votes in a burst
    order = np.argsort(arrival, kind="stable")
    annot = annot[order]
    prompt = rng.integers(0, 100, PLANNED)
    tie = rng.random(PLANNED) < TIE_RATE
    a_wins = rng.random(PLANNED) < expit(delta + shift[annot])
    score = np.where(tie, 0.5, a_wins.astype(float))
    return annot, prompt, score


def _votes_frame(annot, prompt, score) -> pd.DataFrame:
    n = len(annot)
    left_is_a = np.arange(n) % 2 == 0
    choice = np.where(score == 0.5, "tie", np.where((score == 1) == left_is_a, "left", "right"))
    winner = np.where(score == 0.5, "tie", np.where(score == 1, "A", "B"))
    return pd.DataFrame({"vote_id": [f"v{i}" for i in range(n)], "study": "s", "criterion": "overall",
                         "annotator": [f"a{x}" for x in annot], "prompt": [f"p{x}" for x in prompt], "seed": 0,
                         "system_left": np.where(left_is_a, "A", "B"), "system_right": np.where(left_is_a, "B", "A"),
                         "choice": choice, "winner": winner, "response_ms": 1000, "created_at": "t",
                         "attention_check": False, "annotator_excluded": False})


def _z(annot, prompt, score) -> float:
    """The question's statistic: clustered t at the margin, on t(annotators - 1), read as z."""
    cv = clustered_win_rate_variance(np.zeros(len(score), np.int64), score, annot, prompt, 1)
    n = len(score)
    var = max(float(cv.two_way[0]), 1.0 / (4.0 * n * n))
    df = max(len(np.unique(annot)) - 1, 1)
    return t_as_z((float(cv.win_rate[0]) - (0.5 - MARGIN)) / math.sqrt(var), df)


def type_one_table(reps: int, checked: int = 10) -> list[tuple]:
    rows = []
    looks = {k: np.arange(1, k + 1) / k for k in (5, 10)}
    bounds = {k: spending_boundaries(t, ALPHA) for k, t in looks.items()}
    question = {"kind": "non-inferiority", "a": "A", "b": "B", "margin": MARGIN, "alpha": ALPHA,
                "planned_votes": PLANNED}
    for sd in SDS:
        for n_annot in ANNOTATORS:
            rng = np.random.default_rng([7, int(10 * sd), n_annot])
            fixed = 0
            seq = {k: 0 for k in looks}
            for rep in range(reps):
                annot, prompt, score = _pair_votes(rng, sd, n_annot)
                res = build_summary(_votes_frame(annot, prompt, score), n_bootstrap=0, comparisons=[("A", "B")])
                fixed += res["by_criterion"]["overall"]["equivalence"][0]["non_inferior"]
                for k, t in looks.items():
                    cuts = np.round(t * PLANNED).astype(int)
                    z = [_z(annot[:c], prompt[:c], score[:c]) for c in cuts]
                    crossed = bool(np.any(np.array(z) >= bounds[k]))
                    seq[k] += crossed
                    if rep < checked:  # the fast path must give what the summary's question gives
                        previous = []
                        for c in cuts:
                            summary = build_summary(_votes_frame(annot[:c], prompt[:c], score[:c]), n_bootstrap=0,
                                                    question={**question, "looks": previous})
                            previous = summary["question"]["looks"]
                        if (summary["question"]["answer"] == "yes") != crossed:
                            raise AssertionError(f"fast path and build_summary disagree (sd {sd}, rep {rep})")
            rows.append((sd, n_annot, reps, fixed / reps, seq[5] / reps, seq[10] / reps))
    return rows


def _random_votes(n_systems: int, rng, n_items: int = 2000, raters: int = 3) -> pd.DataFrame:
    pair = np.array([rng.choice(n_systems, 2, replace=False) for _ in range(n_items)])
    item = np.repeat(np.arange(n_items), raters)
    left = pair[item, 0]
    right = pair[item, 1]
    choice = rng.choice(np.array(["left", "right", "tie"]), len(item))
    names = np.array([f"s{i:02d}" for i in range(n_systems)])
    winner = np.where(choice == "left", names[left], np.where(choice == "right", names[right], "tie"))
    annot = np.concatenate([rng.choice(60, raters, replace=False) for _ in range(n_items)])
    return pd.DataFrame({"vote_id": [f"v{i}" for i in range(len(item))], "study": "s", "criterion": "overall",
                         "annotator": [f"a{x}" for x in annot], "prompt": [f"p{x}" for x in item], "seed": 0,
                         "system_left": names[left], "system_right": names[right], "choice": choice,
                         "winner": winner, "response_ms": 1, "created_at": "t", "attention_check": False,
                         "annotator_excluded": False})


def agreement_table(reps: int) -> list[tuple]:
    rows = []
    for n_systems in (2, 4, 20):
        rng = np.random.default_rng([11, n_systems])
        alphas, kappas = [], []
        for _ in range(reps):
            ag = build_summary(_random_votes(n_systems, rng), n_bootstrap=0)["by_criterion"]["overall"]["agreement"]
            alphas.append(ag["krippendorff_alpha"])
            kappas.append(ag["fleiss_kappa"])
        rows.append((n_systems, reps, float(np.mean(alphas)), float(np.std(alphas, ddof=1) / math.sqrt(reps)),
                     float(np.mean(kappas)), float(np.min(alphas)), float(np.max(alphas))))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=float, default=1.0, help="scale the number of replicates (default 1)")
    args = parser.parse_args(argv)
    n_cov, n_err, n_agr = (max(2, round(n * args.reps)) for n in (600, 1500, 20))
    started = time.perf_counter()
    print(f"1. Coverage of the default 95% intervals of a difference (sys00 vs sys01, true gap "
          f"{400 * 0.1 / math.log(10):.0f} Elo), {n_cov} studies each")
    print(f"{'sd':>4} {'annot':>5} {'BT diff (default)':>18} {'win rate (default)':>19} "
          f"{'win rate (votes indep.)':>24} {'mean BT width':>13}")
    for sd, g, reps, diff, rate, vote, width in coverage_table(n_cov):
        print(f"{sd:>4} {g:>5} {_mc(diff, reps):>18} {_mc(rate, reps):>19} {_mc(vote, reps):>24} {width:>13.3f}")
    print(f"\n2. Type I error at the non-inferiority margin (true win rate 0.45, margin 0.05, alpha 0.05 one-sided), "
          f"{PLANNED} votes, {n_err} studies each")
    print(f"{'sd':>4} {'annot':>5} {'fixed test (1 look)':>20} {'sequential, 5 looks':>20} {'sequential, 10 looks':>21}")
    for sd, g, reps, fixed, s5, s10 in type_one_table(n_err):
        print(f"{sd:>4} {g:>5} {_mc(fixed, reps):>20} {_mc(s5, reps):>20} {_mc(s10, reps):>21}")
    print(f"\n3. Agreement on random votes (2,000 items x 3 votes), {n_agr} studies each")
    print(f"{'systems':>7} {'mean alpha':>11} {'MC s.e.':>8} {'mean kappa':>11} {'min alpha':>10} {'max alpha':>10}")
    for k, reps, alpha, se, kappa, lo, hi in agreement_table(n_agr):
        print(f"{k:>7} {alpha:>+11.4f} {se:>8.4f} {kappa:>+11.4f} {lo:>+10.4f} {hi:>+10.4f}")
    print("\n+- = Monte Carlo standard error. Targets: coverage 92-97%, type I error 3.5-6.5%, |alpha| <= 0.02.")
    print(f"Wall time {time.perf_counter() - started:.0f} s (one process).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
