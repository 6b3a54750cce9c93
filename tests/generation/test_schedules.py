"""Coefficient schedules: linear expansion, per-step lists, limits (property-based)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generation.schedules import COEFFICIENT_MAX, COEFFICIENT_MIN, expand_schedule, normalize_spec

coef = st.floats(COEFFICIENT_MIN, COEFFICIENT_MAX, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(coef, coef, st.integers(2, 50))
def test_a_pair_expands_to_a_linspace_from_start_to_end(start, end, steps):
    values = expand_schedule("c_x", normalize_spec("c_x", (start, end)), steps)
    assert len(values) == steps
    assert values[0] == pytest.approx(start) and values[-1] == pytest.approx(end)
    diffs = [b - a for a, b in zip(values, values[1:])]
    assert all(d == pytest.approx(diffs[0], abs=1e-9) for d in diffs)


@settings(max_examples=30, deadline=None)
@given(st.lists(coef, min_size=1, max_size=12))
def test_a_per_step_list_is_kept_as_is_and_must_match_the_step_count(values):
    spec = normalize_spec("c_theta", values)
    assert expand_schedule("c_theta", spec, len(values)) == values
    with pytest.raises(ValueError, match=f"c_theta has {len(values)} per-step values but the scheduler runs"):
        expand_schedule("c_theta", spec, len(values) + 1)


def test_one_step_uses_the_start_value_and_a_number_is_constant():
    assert expand_schedule("c_x", normalize_spec("c_x", (0.9, 1.0)), 1) == [0.9]
    assert normalize_spec("c_x", 1.1) == {"start": 1.1, "end": 1.1}
    assert normalize_spec("c_x", {"start": 0.9, "end": 1.0}) == {"start": 0.9, "end": 1.0}


@pytest.mark.parametrize("spec, message", [
    ((1.0, 1.6), r"c_x\[1\] \(end\) = 1.6 is outside the allowed range \[0.5, 1.5\]"),
    ([1.0, "x"], r"c_x\[1\] = 'x' is not a number"),
    ("1.0", "must be a \\(start, end\\) tuple or a per-step list"),
    ({"start": 1.0}, "needs exactly the keys 'start' and 'end'"),
])
def test_bad_schedules_name_the_value_and_the_limit(spec, message):
    with pytest.raises(ValueError, match=message):
        normalize_spec("c_x", spec)
