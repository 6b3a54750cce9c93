"""Benchmark of the analysis on synthetic votes with known strengths.

Prints two tables:

1. the full report from the CSV on disk (read, validate, Bradley-Terry,
   1,000 samples of each bootstrap kind (vote, annotator, prompt), win rates,
   equivalence, agreement, position bias, attention checks, exclusion effect,
   tables written; no plots), in a fresh process: wall time split into
   imports / read / analysis, end-to-end time of the process, and its peak RSS;
2. Bradley-Terry fit + 1,000-sample bootstrap on the same votes (already in
   memory) with choix, a FastChat-style L-BFGS fit (reimplemented here:
   matchups aggregated into weighted rows, scipy L-BFGS-B on the BT
   log-likelihood, bootstrap by multinomial weights over the matchups, fits run
   serially), evalica, and ours, with ratios to ours. Slow libraries are
   time-boxed: their bootstrap is timed on fewer samples and extrapolated to
   1,000 (marked ``~``).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_analysis.py            # 80k and 1M votes, 4 and 20 systems
    python benchmarks/bench_analysis.py --sizes 80000 --systems 4    # one configuration
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPORT_CHILD = """
import json, resource, time
t0 = time.perf_counter()
from pathlib import Path
from analysis.io import read_votes
from analysis.report import build_summary, write_tables
t1 = time.perf_counter()
votes = read_votes({path!r})
t2 = time.perf_counter()
summary = build_summary(votes, n_bootstrap=1000, seed=0)
out = Path({out!r}); out.mkdir(exist_ok=True)
write_tables(summary, out)
(out / "summary.json").write_text(json.dumps(summary))
t3 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "read_s": t2 - t1, "analysis_s": t3 - t2, "total_s": t3 - t0,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

BT_CHILD = """
import json, resource, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from analysis.io import read_votes
from benchmarks.bench_analysis import LIBRARIES
votes = read_votes({path!r})
res = LIBRARIES[{lib!r}](votes, {budget!r})
res["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
"""


def _arrays(votes):
    systems = sorted(set(votes["system_left"].cat.categories) | set(votes["system_right"].cat.categories))
    idx = {s: i for i, s in enumerate(systems)}
    left = votes["system_left"].cat.rename_categories([idx[c] for c in votes["system_left"].cat.categories])
    right = votes["system_right"].cat.rename_categories([idx[c] for c in votes["system_right"].cat.categories])
    choice = votes["choice"].astype(str).to_numpy()
    return len(systems), np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64), choice


def _timed_bootstrap(one_sample, budget_s: float, n_total: int = 1000):
    """Run up to n_total samples; stop after budget_s and extrapolate."""
    import time

    t0 = time.perf_counter()
    done = 0
    while done < n_total:
        one_sample(done)
        done += 1
        if time.perf_counter() - t0 > budget_s and done >= 3:
            break
    elapsed = time.perf_counter() - t0
    return elapsed * n_total / done, done


def bench_ours(votes, budget_s):
    import time

    from analysis.bootstrap import vote_bootstrap
    from analysis.criterion import _observed_pairs
    from analysis.encode import encode_votes, pair_counts
    from analysis.ranking import rank_systems

    t0 = time.perf_counter()
    ev = encode_votes(votes)
    counted = ev.counted()
    pairs, pc = _observed_pairs(pair_counts(ev.a[counted], ev.b[counted], ev.outcome[counted], ev.n_systems))
    fit = rank_systems(pc, pairs, ev.n_systems, {})
    t1 = time.perf_counter()
    boot = vote_bootstrap(pc, 1000, np.random.default_rng(0))
    rank_systems(pc, pairs, ev.n_systems, {"vote": boot})
    t2 = time.perf_counter()
    return {"fit_s": t1 - t0, "boot_s": t2 - t1, "samples_timed": 1000, "scores": list(fit["scores"])}


def bench_choix(votes, budget_s):
    import time

    import choix

    k, left, right, choice = _arrays(votes)
    winner = np.where(choice == "right", right, left)
    loser = np.where(choice == "right", left, right)
    tie = choice == "tie"
    rng = np.random.default_rng(0)

    def data_of(rows):
        # ties as half wins: decisive votes count twice, a tie once each way
        w, l, t = winner[rows], loser[rows], tie[rows]
        dec = list(zip(w[~t].tolist(), l[~t].tolist()))
        ties = list(zip(w[t].tolist(), l[t].tolist())) + list(zip(l[t].tolist(), w[t].tolist()))
        return dec + dec + ties

    t0 = time.perf_counter()
    s = choix.ilsr_pairwise(k, data_of(np.arange(len(left))), alpha=0.0, tol=1e-8, max_iter=10000)
    t1 = time.perf_counter()
    boot_s, done = _timed_bootstrap(
        lambda i: choix.ilsr_pairwise(k, data_of(rng.integers(0, len(left), len(left))), alpha=0.0, tol=1e-8,
                                      max_iter=10000), budget_s)
    return {"fit_s": t1 - t0, "boot_s": boot_s, "samples_timed": done, "scores": list(s - s.mean())}


def _fastchat_fit(matchups, outcomes, weights, k, x0):
    """FastChat-style BT: L-BFGS-B on the weighted logistic log-likelihood of aggregated matchups."""
    from scipy.optimize import minimize
    from scipy.special import expit

    def loss_and_grad(r):
        d = r[matchups[:, 0]] - r[matchups[:, 1]]
        p = expit(d)
        eps = 1e-15
        loss = -(weights * (outcomes * np.log(p + eps) + (1 - outcomes) * np.log(1 - p + eps))).sum()
        g_d = weights * (p - outcomes)
        grad = np.bincount(matchups[:, 0], g_d, minlength=k) - np.bincount(matchups[:, 1], g_d, minlength=k)
        return loss, grad

    res = minimize(loss_and_grad, x0, jac=True, method="L-BFGS-B", options={"maxiter": 100, "gtol": 1e-6})
    return res.x - res.x.mean()


def bench_fastchat(votes, budget_s):
    import time

    k, left, right, choice = _arrays(votes)
    outcome = np.where(choice == "left", 1.0, np.where(choice == "right", 0.0, 0.5))
    t0 = time.perf_counter()
    rows = np.stack([left, right, (outcome * 2).astype(np.int64)], axis=1)
    uniq, counts = np.unique(rows, axis=0, return_counts=True)
    matchups, outcomes = uniq[:, :2], uniq[:, 2] / 2.0
    weights = counts.astype(np.float64) / len(rows)  # FastChat normalises weights by the number of battles
    s = _fastchat_fit(matchups, outcomes, weights, k, np.zeros(k))
    t1 = time.perf_counter()
    rng = np.random.default_rng(0)
    boot_weights = rng.multinomial(len(rows), counts / counts.sum(), size=1000) / len(rows)
    boot_s, done = _timed_bootstrap(lambda i: _fastchat_fit(matchups, outcomes, boot_weights[i], k, np.zeros(k)),
                                    budget_s)
    return {"fit_s": t1 - t0, "boot_s": boot_s, "samples_timed": done, "scores": list(s)}


def bench_evalica(votes, budget_s):
    import time

    import evalica

    _, left, right, choice = _arrays(votes)
    winners = np.where(choice == "left", evalica.Winner.X, np.where(choice == "right", evalica.Winner.Y,
                                                                   evalica.Winner.Draw)).tolist()
    xs, ys = left.tolist(), right.tolist()
    t0 = time.perf_counter()
    res = evalica.bradley_terry(xs, ys, winners, tolerance=1e-8, limit=1000)
    t1 = time.perf_counter()
    n_try = 5
    evalica.bootstrap(evalica.bradley_terry, xs, ys, winners, n_resamples=n_try, bootstrap_method="percentile",
                      random_state=0)
    t2 = time.perf_counter()
    per = (t2 - t1) / n_try
    if per * 1000 <= budget_s:
        evalica.bootstrap(evalica.bradley_terry, xs, ys, winners, n_resamples=1000, bootstrap_method="percentile",
                          random_state=0)
        boot_s, done = time.perf_counter() - t2, 1000
    else:
        boot_s, done = per * 1000, n_try
    scores = np.log(res.scores.sort_index().to_numpy())
    return {"fit_s": t1 - t0, "boot_s": boot_s, "samples_timed": done, "scores": list(scores - scores.mean())}


LIBRARIES = {"ours": bench_ours, "choix": bench_choix, "fastchat-lbfgs": bench_fastchat, "evalica": bench_evalica}


def _child(code: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), PYTHONPATH=str(ROOT))
    import time

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = wall
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="80000,1000000")
    parser.add_argument("--systems", default="4,20")
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds per library bootstrap before extrapolating to 1,000 samples")
    parser.add_argument("--repeat", type=int, default=2, help="report runs per configuration (best kept)")
    parser.add_argument("--workdir", help="where to write the synthetic CSVs (default: a temporary directory)")
    args = parser.parse_args(argv)
    from analysis.synthetic import simulate_votes

    sizes = [int(x) for x in args.sizes.split(",")]
    systems = [int(x) for x in args.systems.split(",")]
    libs = [x for x in args.libraries.split(",") if x]
    tmp = Path(args.workdir or tempfile.mkdtemp(prefix="bench_analysis_"))
    tmp.mkdir(parents=True, exist_ok=True)
    configs = [(n, k) for n in sizes for k in systems]
    report_rows, bt_rows = [], []
    for n, k in tqdm(configs, desc="configurations", file=sys.stderr):
        rng = np.random.default_rng(k)
        strengths = rng.normal(0, 0.6, k)
        path = tmp / f"votes_{n}_{k}.csv"
        if not path.exists():
            simulate_votes(strengths, n, n_annotators=500, n_prompts=500, n_seeds=2, tie_rate=0.1,
                           annotator_sd=0.2, seed=n + k).to_csv(path, index=False)
        runs = [_child(REPORT_CHILD.format(path=str(path), out=str(tmp / f"report_{n}_{k}")))
                for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["total_s"])
        best["maxrss_mb"] = max(r["maxrss_mb"] for r in runs)
        report_rows.append((n, k, best))
        results = {}
        for lib in tqdm(libs, desc=f"{n} votes, {k} systems", leave=False, file=sys.stderr):
            results[lib] = _child(BT_CHILD.format(root=str(ROOT), path=str(path), lib=lib, budget=args.budget))
        ref = np.array(results["ours"]["scores"]) if "ours" in results else None
        for lib, r in results.items():
            dev = float(np.abs(np.array(r["scores"]) - ref).max()) if ref is not None else float("nan")
            bt_rows.append((n, k, lib, r, dev, results.get("ours")))
    print("\nFull report from the CSV on disk (1,000 samples of each bootstrap kind, no plots), fresh process")
    print(f"{'votes':>9} {'sys':>4} {'imports':>8} {'read':>7} {'analysis':>9} {'in-proc':>8} {'process':>8} {'peak RSS':>9}")
    for n, k, r in report_rows:
        print(f"{n:>9,} {k:>4} {r['import_s']:>7.2f}s {r['read_s']:>6.2f}s {r['analysis_s']:>8.2f}s "
              f"{r['total_s']:>7.2f}s {r['process_s']:>7.2f}s {r['maxrss_mb']:>6.0f} MB")
    print("\nBradley-Terry fit + 1,000-sample bootstrap on the same votes (in memory); ratio = time / ours")
    print(f"{'votes':>9} {'sys':>4} {'library':<15} {'fit':>8} {'bootstrap':>10} {'total':>9} {'ratio':>7} "
          f"{'peak RSS':>9} {'max |score - ours|':>19}")
    for n, k, lib, r, dev, ours in bt_rows:
        total = r["fit_s"] + r["boot_s"]
        mark = "~" if r["samples_timed"] < 1000 else " "
        ratio = total / (ours["fit_s"] + ours["boot_s"]) if ours else float("nan")
        print(f"{n:>9,} {k:>4} {lib:<15} {r['fit_s']:>7.3f}s {mark}{r['boot_s']:>8.2f}s {mark}{total:>7.2f}s "
              f"{ratio:>6.0f}x {r['maxrss_mb']:>6.0f} MB {dev:>19.1e}")
    print(f"\n~ = bootstrap timed on fewer samples (budget {args.budget:.0f} s) and extrapolated to 1,000.")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Machine: {os.cpu_count()} CPU(s), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"load average {load}")
    print(textwrap.dedent("""\
        Notes: the score deviation is ties-as-half-wins BT against ours (choix gets doubled decisive votes and a
        tie as one win each way; FastChat-style uses outcome 0.5 for ties; evalica uses tie_weight 0.5)."""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
