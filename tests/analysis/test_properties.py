"""Property tests: any valid set of votes gives a strict-JSON summary with consistent numbers."""
import json
from collections import defaultdict

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.report import build_summary

SYSTEMS = ["s0", "s1", "s2", "s3", "s4"]

vote = st.tuples(st.sampled_from(SYSTEMS), st.sampled_from(SYSTEMS), st.sampled_from(["left", "right", "tie"]),
                 st.integers(0, 4), st.integers(0, 2), st.booleans(), st.sampled_from(["overall", "quality"]))


def _frame(rows):
    records = []
    for n, (left, right, choice, annot, prompt, check, crit) in enumerate(rows):
        winner = {"left": left, "right": right, "tie": "tie"}[choice]
        records.append({"vote_id": str(n), "study": "s", "criterion": crit, "annotator": f"a{annot}",
                        "prompt": f"p{prompt}", "seed": 0, "system_left": left, "system_right": right,
                        "choice": choice, "winner": winner, "response_ms": 5, "created_at": "t",
                        "attention_check": check and n % 3 == 0, "annotator_excluded": annot == 4})
    return pd.DataFrame(records)


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(vote, min_size=1, max_size=40).map(lambda rows: [r for r in rows if r[0] != r[1]]).filter(bool))
def test_any_votes_give_a_consistent_strict_json_summary(rows):
    votes = _frame(rows)
    summary = build_summary(votes, n_bootstrap=15, seed=3)
    json.dumps(summary, allow_nan=False)
    for res in summary["by_criterion"].values():
        by_component = defaultdict(float)
        for r in res["bradley_terry"]:
            by_component[r["component"]] += r["score"]
            if r["ci95"] is not None and r["ci95"][0] is not None:
                assert r["ci95"][0] <= r["ci95"][1]
        assert all(abs(total) < 1e-8 for total in by_component.values())
        for r in res["win_rates"]:
            assert r["n"] == r["wins"] + r["losses"] + r["ties"] > 0
            if r["n_annotators"] > 1:  # one annotator: no clustered interval exists, and none is given
                assert r["ci95"][0] <= r["win_rate"] <= r["ci95"][1]
                assert 0 <= r["p_value"] <= 1
            else:
                assert r["ci95"] == [None, None] and r["se"] is None
        ag = res["agreement"]
        if ag["krippendorff_alpha"] is not None:
            assert -1.0 - 1e-9 <= ag["krippendorff_alpha"] <= 1.0 + 1e-9


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(st.lists(vote, min_size=2, max_size=30).map(lambda rows: [r for r in rows if r[0] != r[1]]).filter(bool))
def test_swapping_screen_sides_changes_nothing_but_position_bias(rows):
    swapped = [(r, l, {"left": "right", "right": "left", "tie": "tie"}[c], a, p, chk, crit)
               for l, r, c, a, p, chk, crit in rows]
    one = build_summary(_frame(rows), n_bootstrap=0)
    two = build_summary(_frame(swapped), n_bootstrap=0)
    for crit in one["by_criterion"]:
        a, b = one["by_criterion"][crit], two["by_criterion"][crit]
        assert [(r["system"], round(r["score"], 9)) for r in a["bradley_terry"]] == \
               [(r["system"], round(r["score"], 9)) for r in b["bradley_terry"]]
        assert a["agreement"] == b["agreement"]
        assert a["win_rates"] == b["win_rates"]
        lr = a["position_bias"]["left_rate"]
        if lr is not None:
            assert abs(lr + b["position_bias"]["left_rate"] - 1) < 1e-12
