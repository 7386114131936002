"""Long operands and tensors in a step: shortened there, in full in the node details."""

from __future__ import annotations

from autograd_playground.core.pipeline import compute
from autograd_playground.core.result import from_json
from autograd_playground.core.teach import explain
from autograd_playground.core.teach.explain import brief, shorten

POLY20 = " + ".join(f"{k}*x**{21 - k}" if k < 20 else "20*x" for k in range(1, 21))


def test_a_long_sum_reads_as_its_first_and_last_terms() -> None:
    assert shorten(POLY20) == "1*x**20 + … + 20*x"
    assert shorten("x**2 + 1") == "x**2 + 1"
    long = "tanh(" + "w*x + " * 10 + "b)"
    short = shorten(long)
    assert len(short) <= explain.MAX_OPERAND + 2 and "…" in short


def test_a_tensor_reads_as_its_first_entries_and_shape() -> None:
    matrix = [[float(i * 8 + j) for j in range(8)] for i in range(8)]
    assert brief(matrix) == "[[0, 1, 2, …]] (8×8)"
    assert brief([1.0, 2.0]) == "[1, 2]"
    assert brief(72.0) == "72"


def test_the_poly20_steps_are_short_and_the_details_full() -> None:
    result = from_json(compute(POLY20, {"x": 2.0}, {"x": True}, "torchviz"))
    steps = explain.steps(result)
    first = steps[0]
    assert len(first.label) <= explain.MAX_OPERAND + 2
    assert all(len(out.label) <= explain.MAX_OPERAND + 2 for out in first.sent)
    details = {n.id: n for n in explain.node_views(result, steps)}
    assert details[first.node].label == POLY20  # the whole sum
