"""Command line: ``python -m analysis report <votes> --out <dir>`` and ``python -m analysis power``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from .io import VotesError, read_bundle, read_votes
from .power import TESTS, votes_needed


def _report(args) -> int:
    bar = tqdm(total=4, desc="analysis", unit="step", file=sys.stderr, disable=args.quiet)
    bar.set_postfix_str("reading votes")
    votes = read_votes(args.votes)
    bar.update(1)
    metrics = image_metrics = comparisons = systems = question = None
    if args.question:
        question = json.loads(Path(args.question).read_text(encoding="utf-8"))
    if args.bundle:
        bar.set_postfix_str("reading bundle")
        bundle = read_bundle(args.bundle)
        metrics, image_metrics, comparisons = bundle.system_metrics(), bundle.image_metrics(), bundle.listed_pairs
        systems = sorted(metrics)
    bar.update(1)
    from .report import build_summary, write_report

    n_crit = votes["criterion"].nunique()
    bar.total = 3 + n_crit + (1 if not args.no_plots else 0)
    summary = build_summary(votes, metrics=metrics, image_metrics=image_metrics, n_bootstrap=args.n_bootstrap,
                            seed=args.seed, bootstrap=args.bootstrap, include_excluded=args.include_excluded,
                            margin=args.margin, comparisons=comparisons, systems=systems, question=question,
                            progress=lambda name: (bar.set_postfix_str(f"criterion {name}"), bar.update(1)))
    bar.set_postfix_str("writing" + ("" if args.no_plots else " plots"))
    out = write_report(votes, args.out, plots=not args.no_plots, summary=summary, metrics=metrics)
    bar.update(bar.total - bar.n)
    bar.close()
    for crit, res in summary["by_criterion"].items():
        print(f"[{crit}] {res['n_votes']} votes, intervals: {res['interval_method']}")
        for r in res["bradley_terry"]:
            ci = r["ci95"] or [float("nan")] * 2
            print(f"  {r['system']:<24} score {r['score']:+.3f}  [{ci[0]:+.3f}, {ci[1]:+.3f}]  elo {r['elo']:.0f}")
        a = res["agreement"]
        if a["krippendorff_alpha"] is not None:
            print(f"  agreement: alpha {a['krippendorff_alpha']:.3f}, kappa {a['fleiss_kappa']:.3f}, "
                  f"{a['n_items']} items")
        for note in res["notes"]:
            print(f"  note: {note}")
    if "question" in summary:
        print(f"question: {summary['question']['question']}\nanswer: {summary['question']['line']}")
    print(f"wrote {out / 'summary.json'}")
    return 0


def _power(args) -> int:
    if args.summary:
        from .power import design_effect_from_summary

        summary = json.loads(Path(args.summary).read_text(encoding="utf-8"))
        args.design_effect = design_effect_from_summary(summary, args.criterion)
    n = votes_needed(args.win_rate, tie_rate=args.tie_rate, alpha=args.alpha, power=args.power, test=args.test,
                     margin=args.margin, design_effect=args.design_effect)
    print(json.dumps({"votes_needed": n, "win_rate": args.win_rate, "tie_rate": args.tie_rate, "alpha": args.alpha,
                      "power": args.power, "test": args.test, "margin": args.margin,
                      "design_effect": args.design_effect}))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="summary.json, CSV tables and plots from a votes export")
    rep.add_argument("votes", help="votes export: .csv, .jsonl or .parquet (contract section 2)")
    rep.add_argument("--out", required=True, help="output directory")
    rep.add_argument("--bundle", help="study bundle (manifest.json or its directory) for metrics")
    rep.add_argument("--n-bootstrap", type=int, default=1000, help="samples of each bootstrap kind (default 1000)")
    rep.add_argument("--bootstrap", choices=("auto", "vote", "annotator", "prompt"), default="auto",
                     help="clusters of the score intervals: auto (annotator, or prompt where that design effect is "
                          "larger; win rates use annotator x prompt), or vote (assumes independent votes)")
    rep.add_argument("--question", help="the study's question as a JSON file (kind, a, b, margin, alpha, "
                                        "criterion, planned_votes, looks); its answer goes into summary.json")
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--margin", type=float, default=0.05, help="equivalence / non-inferiority margin (win rate)")
    rep.add_argument("--include-excluded", action="store_true", help="count votes of excluded annotators")
    rep.add_argument("--no-plots", action="store_true", help="skip the figures")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    pw = sub.add_parser("power", help="votes needed per pair")
    pw.add_argument("--win-rate", type=float, required=True)
    pw.add_argument("--tie-rate", type=float, default=0.0)
    pw.add_argument("--alpha", type=float, default=0.05)
    pw.add_argument("--power", type=float, default=0.8)
    pw.add_argument("--test", choices=TESTS, default="superiority")
    pw.add_argument("--margin", type=float, default=0.0)
    pw.add_argument("--design-effect", type=float, default=1.0, help="variance inflation of clustered votes (>= 1)")
    pw.add_argument("--summary", help="take the design effect estimated in this summary.json instead")
    pw.add_argument("--criterion", help="with --summary: which criterion (default: the first)")
    args = parser.parse_args(argv)
    try:
        return _report(args) if args.command == "report" else _power(args)
    except (VotesError, ValueError, TypeError, FileNotFoundError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
