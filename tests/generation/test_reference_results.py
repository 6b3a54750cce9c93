"""The results table: every system with and without Q-Sched, mean ± s.e. over seeds, paired changes."""

import pytest

from generation.reference.results import BASE_SYSTEMS, format_table, paired_difference, paired_reference


def _system(label, fds, nbytes=1e6):
    import numpy as np

    per_seed = {"world_fd": fds, "clip_score": [80.0] * len(fds), "top1": [0.8] * len(fds),
                "iqa": [0.2] * len(fds), "jaq": [4.8] * len(fds)}
    m = {"per_seed": per_seed}
    for k, v in per_seed.items():
        m[k] = float(np.mean(v))
        m[k + "_sem"] = float(np.std(v, ddof=1) / np.sqrt(len(v)))
    return {"label": label, "metrics": m, "unet_bytes": nbytes}


def test_the_table_has_fp32_w4a8_and_w4a4_each_with_qsched_calibrated_on_itself():
    assert [s[0] for s in BASE_SYSTEMS] == ["fp32", "w4a8", "w4a4"]
    assert paired_reference("fp32-qsched") == "fp32"
    assert paired_reference("w4a4-qsched") == "w4a4" and paired_reference("w4a4") == "fp32"
    assert paired_reference("fp32") is None


def test_the_paired_change_is_taken_seed_by_seed_not_from_the_means():
    systems = {"fp32": _system("FP32", [3.0, 5.0, 4.0]), "fp32-qsched": _system("FP32 + Q-Sched", [2.9, 4.8, 3.9])}
    mean, sem = paired_difference(systems, "fp32-qsched")
    assert mean == pytest.approx(-0.4 / 3)
    # the seed-to-seed spread (sd 1.0) cancels: only the differences' spread is left
    assert sem == pytest.approx(0.0333, abs=1e-3)
    assert paired_difference(systems, "fp32") is None
    table = format_table({"systems": systems})
    assert "| FP32 + Q-Sched | 3.867 ± 0.549 | -0.133 ± 0.033 vs FP32 |" in table
