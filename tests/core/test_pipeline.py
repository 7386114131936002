"""autograd_playground.core.pipeline: parse -> trace -> render as one call, with bounded, summarized values."""

from __future__ import annotations

import pytest

from autograd_playground.core.language.rules import ExprError, Limits
from autograd_playground.core.language.values import is_summary
from autograd_playground.core.pipeline import check_result_size, compute


def test_a_computed_result_shows_big_values_as_summaries_and_exact_small_ones():
    n = 2000
    x = [float(i) for i in range(n)]
    result = compute("sum(x**2)", {"x": x}, limits=Limits(max_shown_elements=1000))
    grad = result["gradients"]["x"]  # d/dx sum(x**2) = 2x
    assert grad == {
        "shape": [n],
        "first": [0.0, 2.0, 4.0, 6.0, 8.0],
        "min": 0.0,
        "max": 2.0 * (n - 1),
        "mean": float(n - 1),
    }
    assert result["output"]["value"] == pytest.approx(sum(v * v for v in x), rel=1e-6)
    leaf = next(n for n in result["nodes"] if n["kind"] == "leaf")
    assert is_summary(leaf["value"]) and leaf["value"]["max"] == n - 1
    big = [f for f in result["forward"] if list(f["shape"]) == [n]]
    assert big and all(is_summary(f["value"]) for f in big)
    small = compute("sum(x**2)", {"x": [1.0, 2.0]}, limits=Limits(max_shown_elements=1000))
    assert small["gradients"]["x"] == [2.0, 4.0]


def test_an_unknown_view_is_refused_with_a_sentence():
    with pytest.raises(ExprError) as refused:
        compute("x**2", {"x": 3.0}, view="3d")
    assert "Unknown view '3d'" in refused.value.message


def test_a_graph_over_the_node_limit_is_refused_before_layout():
    with pytest.raises(ExprError) as refused:
        compute("+".join(["x"] * 30), {"x": 1.0}, limits=Limits(max_graph_nodes=10))
    assert "more than the 10 that can be drawn" in refused.value.message


def test_the_size_check_is_on_the_bytes_sent():
    check_result_size(1000, Limits(max_result_bytes=1000))
    with pytest.raises(ExprError) as refused:
        check_result_size(1001, Limits(max_result_bytes=1000))
    assert "1001 bytes" in refused.value.message
