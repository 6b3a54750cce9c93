"""Close the loop over real HTTP: a simulated crowd votes on a reference-model bundle served by gunicorn.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_simulated_crowd.py --bundle contrast
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_simulated_crowd.py --bundle demo --k 5

Steps: build the bundle (``contrast``: right / wrong-colour / wrong-prompt, a known strong ordering;
``demo``: the demo study's FP32, FP32 + Q-Sched, W4A8, W4A8 + Q-Sched), score every image with the
world scorer (the known signal), then in a temporary folder: ``manage.py migrate``, ``import_bundle
--launch`` (attention checks on, the platform's default), gunicorn on a free port, the crowd through
the annotator API (:mod:`generation.reference.simulated_crowd`), ``manage.py export_votes``, and the
analysis on growing prefixes of the export. Prints the known ordering, the power calculator's
prediction and the recovery curve; every process started here is stopped at the end.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env, *args) -> str:
    out = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return out.stdout


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", choices=["contrast", "demo"], default="contrast")
    p.add_argument("--prompts", type=int, default=12)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--k", type=int, default=3, help="votes per (comparison, criterion)")
    p.add_argument("--annotators", type=int, default=40)
    p.add_argument("--quota", type=int, default=None, help="votes per annotator (default: an equal share)")
    p.add_argument("--sharpness", type=float, default=0.5, help="median annotator sharpness per CLIPScore point")
    p.add_argument("--heterogeneity", type=float, default=0.5, help="sd of log sharpness across annotators")
    p.add_argument("--random-rate", type=float, default=0.05, help="share of annotators clicking at random")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1, help="independent crowds, each on a fresh copy of the study")
    p.add_argument("--json", type=Path, default=None, help="also write every crowd's recovery curve here")
    a = p.parse_args()
    import torch

    torch.set_num_threads(1)
    from generation.reference.scorer import load_scorer
    from generation.reference.simulated_crowd import (
        HttpClient,
        build_contrast_bundle,
        ground_truth,
        make_crowd,
        predicted_votes,
        recovery_curve,
        run_crowd,
    )

    rng = np.random.default_rng(a.seed)
    with tempfile.TemporaryDirectory(prefix="qsched-crowd-") as tmp:
        tmp = Path(tmp)
        t0 = time.time()
        if a.bundle == "contrast":
            bundle = build_contrast_bundle(tmp / "bundle", a.prompts, tuple(a.seeds))
        else:
            from generation.reference.demo import build_demo_bundle

            bundle = build_demo_bundle(tmp / "bundle", a.prompts, a.seeds, progress=False)
        manifest = json.loads((bundle / "manifest.json").read_text())
        comps = manifest.get("comparisons", "all-pairs")
        n_sys = len(manifest["systems"])
        n_pairs = n_sys * (n_sys - 1) // 2 if comps == "all-pairs" else len({frozenset((c["a"], c["b"])) for c in comps})
        scorer = load_scorer()
        truth = ground_truth(bundle, scorer)
        n_items = n_pairs * a.prompts * len(a.seeds)
        quota = a.quota or -(-n_items * a.k // a.annotators)
        print(f"bundle {a.bundle}: {len(manifest['images'])} images in {time.time() - t0:.0f} s; "
              f"{n_items} comparisons x k={a.k}; {a.annotators} annotators, quota {quota}; {a.repeats} crowd(s)")
        print("known ordering (mean scorer CLIPScore):",
              ", ".join(f"{s} {truth.system_means[s]:.2f}" for s in truth.ordering))
        env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "MEDIA_ROOT": str(tmp / "media"),
                            "QSCHED_VAR_DIR": str(tmp / "var"), "LOG_LEVEL": "WARNING",
                            "QSCHED_RATE_LIMITS": "off",  # one IP plays the whole crowd
                            "DJANGO_SETTINGS_MODULE": "qsched_platform.settings",
                            "PYTHONPATH": f"{REPO / 'platform'}:{REPO}", "DJANGO_SUPERUSER_PASSWORD": "crowd-owner-1"}
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "createsuperuser", "--noinput", "--username", "owner", "--email", "owner@example.org")
        port = _free_port()
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "qsched_platform.wsgi:application",
                                   "--pythonpath", f"{REPO / 'platform'},{REPO}", "-b", f"127.0.0.1:{port}",
                                   "-w", "2", "--log-level", "warning"], cwd=REPO, env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(tmp / "gunicorn.log", "w"))
        runs = []
        try:
            client = HttpClient(f"http://127.0.0.1:{port}")
            for _ in range(60):
                try:
                    if client.request("GET", "/login/")[0] == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            for r in range(a.repeats):
                slug = f"crowd-{r}"
                _manage(env, "import_bundle", str(bundle), "--study", slug, "--votes-per-pair", str(a.k),
                        "--quota", str(quota), "--launch")
                crowd = make_crowd(a.annotators, rng, sharpness=a.sharpness, heterogeneity=a.heterogeneity,
                                   random_rate=a.random_rate)
                t1 = time.time()
                stats = run_crowd(client, slug, crowd, scorer, rng, known=truth.utility_by_sha)
                crowd_s = time.time() - t1
                _manage(env, "export_votes", slug, "--format", "csv", "--out", str(tmp / f"{slug}.csv"))
                from analysis.io import read_votes

                votes = read_votes(tmp / f"{slug}.csv")
                step = max(1, len(votes) // 40)
                curve = recovery_curve(votes, truth, list(range(step, len(votes), step)) + [len(votes)])
                runs.append({"stats": stats, "seconds": crowd_s, "curve": curve, "votes": votes,
                             "prediction": predicted_votes(truth, crowd, n_pairs)})
        finally:
            server.terminate()
            server.wait(timeout=30)
    last = runs[-1]
    votes = last["votes"]
    print(f"last crowd: {last['stats']['votes']} votes ({int(votes['attention_check'].sum())} attention checks, "
          f"{int(votes['annotator_excluded'].sum())} from excluded annotators) in {last['seconds']:.0f} s over "
          f"HTTP, {last['stats']['sessions']} sessions")
    print("power calculator for the last crowd (superiority, alpha 0.05, power 0.8, design effect 1):")
    for r in last["prediction"]["per_pair"]:
        print(f"  {r['a']} vs {r['b']}: true win rate {r['win_rate']:.3f}, ties {r['tie_rate']:.3f}, "
              f"{r['votes_needed']} votes on this pair")
    print(f"  predicted for the study: {last['prediction']['study_votes']} counted votes "
          f"(largest pair count x {last['prediction']['n_compared_pairs']} compared pairs)")
    print(f"{'votes':>7} {'counted':>8}  {'BT order':<60} {'adjacent p-values':<22} recovered")
    for r in last["curve"][:: max(1, len(last["curve"]) // 12)]:
        pv = " ".join("-" if x["p_value"] is None else f"{x['p_value']:.3f}" for x in r["adjacent"])
        print(f"{r['votes']:>7} {r['votes_counted']:>8}  {' > '.join(r['bt_order']):<60} {pv:<22} {r['recovered']}")
    print("counted votes at which the ordering is first recovered / recovered and kept to the end;")
    print("clustered: the analysis's default test; sign test: the exact sign test (independent votes, as the calculator)")
    print(f"{'crowd':>5} {'votes':>6} {'predicted':>9} {'clustered first':>16} {'clustered kept':>15} "
          f"{'sign test first':>16} {'sign test kept':>15}")
    for i, run in enumerate(runs):
        c = run["curve"]
        cells = []
        for key in ("recovered", "recovered_sign_test"):
            cells.append(next((r["votes_counted"] for r in c if r[key]), None))
            cells.append(next((r["votes_counted"] for j, r in enumerate(c) if all(x[key] for x in c[j:])), None))
        print(f"{i:>5} {c[-1]['votes_counted']:>6} {run['prediction']['study_votes']!s:>9} {cells[0]!s:>16} "
              f"{cells[1]!s:>15} {cells[2]!s:>16} {cells[3]!s:>15}")
    if a.json:
        a.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(a).items()},
                                      "known_means": truth.system_means, "ordering": truth.ordering,
                                      "crowds": [{k: v for k, v in run.items() if k != "votes"} for run in runs]},
                                     indent=1, default=str))


if __name__ == "__main__":
    main()
