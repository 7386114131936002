"""autograd_playground.core.language.values: input values checked without torch, result values summarized and shown.

tests/serve/test_engine_recovery.py checks the same refusals through make_job,
in the web process, before anything is queued.
"""

from __future__ import annotations

import math

import pytest

from autograd_playground.core.language.rules import ExprError, Limits
from autograd_playground.core.language.values import (
    check_value,
    format_value,
    is_summary,
    summarize,
)


def nested(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [5, 450, 500, 5_000, 100_000])
def test_any_depth_is_refused_without_recursion(depth):
    with pytest.raises(ExprError) as refused:
        check_value("x", nested(depth), Limits())
    assert refused.value.message == "The value of 'x' is nested more than 4 deep."


@pytest.mark.parametrize(
    ("value", "shape"),
    [(2, ()), (2.5, ()), ([1, 2, 3], (3,)), ([[1.0, 2.0]] * 3, (3, 2)), (nested(4), (1, 1, 1, 1))],
    ids=repr,
)
def test_a_good_value_gives_its_shape(value, shape):
    assert check_value("x", value, Limits()) == shape


def test_a_shared_row_object_is_still_measured_by_its_shape():
    row = [1.0, 2.0, 3.0]
    assert check_value("x", [row, row], Limits()) == (2, 3)



def test_a_non_finite_number_is_refused():
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ExprError):
            check_value("x", [1.0, bad], Limits())


# --- results ----------------------------------------------------------------


def test_a_small_value_is_kept_whole():
    assert summarize([1.0, 2.0], 3) == [1.0, 2.0]
    assert summarize(2.0, 0) == 2.0


def test_a_big_value_becomes_its_summary():
    value = [[float(i * 10 + j) for j in range(10)] for i in range(200)]
    summary = summarize(value, 1000)
    assert summary == {
        "shape": [200, 10],
        "first": [0.0, 1.0, 2.0, 3.0, 4.0],
        "min": 0.0,
        "max": 1999.0,
        "mean": 999.5,
    }
    assert is_summary(summary)
    assert format_value(summary) == (
        "[0, 1, 2, 3, 4, ...] (shape [200, 10]; min 0, max 1999, mean 999.5)"
    )


def test_a_summary_keeps_nan_and_inf_readable():
    summary = summarize(["nan", 1.0, "inf", -2.0], 3)
    assert summary["first"] == ["nan", 1.0, "inf", -2.0]
    assert (summary["min"], summary["max"], summary["mean"]) == (-2.0, "inf", "nan")
    assert summarize(["nan"] * 4, 3)["min"] == "nan"


def test_small_values_read_as_a_student_writes_them():
    assert format_value(72.0) == "72"
    assert format_value([1.0, 2.5]) == "[1, 2.5]"
    assert format_value(list(range(10)), limit=3) == "[0, 1, 2, ...]"
    assert format_value("nan") == "nan"
    assert format_value(None) == "None"
