"""A step of a tensor program fits its pane: short values and names in the step, the
full values in the node details."""

from __future__ import annotations

import pytest

from autograd_playground.core.language.values import format_value
from autograd_playground.core.pipeline import compute
from autograd_playground.core.result import from_json
from autograd_playground.core.teach import explain
from autograd_playground.core.teach.explain import brief

MLP = "h = tanh(W1 @ x + b1)\nout = W2 @ h + b2\nloss = sum((out - t)**2)"
MLP_VALUES = {
    "W1": [[0.1 * (i + j) - 0.3 for j in range(3)] for i in range(4)],
    "x": [1.0, 2.0, 3.0], "b1": [0.1, 0.2, 0.3, 0.4],
    "W2": [[0.2 * (i - j) for j in range(4)] for i in range(2)],
    "b2": [0.5, -0.5], "t": [1.0, 0.0],
}


@pytest.fixture(scope="module")
def mlp():
    grads = dict.fromkeys(MLP_VALUES, True)
    return from_json(compute(MLP, MLP_VALUES, grads, "torchviz"))


def test_a_matrix_reads_as_its_first_entries_to_three_digits_and_its_shape() -> None:
    grad = [[1.64113, 0.452212, -1.05877, -1.91001], [1.53165, 0.422046, -0.98814, -1.7826]]
    assert brief(grad) == "[[1.64, 0.452, -1.06, …]] (2×4)"
    summary = {"first": [1.0, 2.5, 3.0, 4.0], "shape": [100, 100], "min": 0.0, "max": 9.0, "mean": 1.0}
    assert brief(summary) == "[[1, 2.5, 3, …]] (100×100)"


def test_a_short_vector_reads_whole_to_three_digits() -> None:
    assert brief([-0.208234, 0.440375, 1.05707, 0.680192]) == "[-0.208, 0.44, 1.06, 0.68]"
    assert brief([-2.29113, -2.13829]) == "[-2.29113, -2.13829]"  # short: in full
    assert brief([float("nan"), 1234567.0, 0.5, 2.0, 3.0]) == "[nan, 1.23e+06, 0.5, …] (5)"


def test_every_value_of_an_mlp_step_is_short(mlp) -> None:
    steps = explain.steps(mlp)
    values = [s.arrived for s in steps] + [s.accumulated for s in steps if s.accumulated]
    values += [v for s in steps for o in s.sent for v in (o.value, o.local) if v]
    assert len(values) > 20
    longest = max(values, key=len)
    assert len(longest) <= 40, longest  # two lines at most in a phone's step pane


def test_the_node_details_keep_the_full_values(mlp) -> None:
    steps = explain.steps(mlp)
    details = {n.id: n for n in explain.node_views(mlp, steps)}
    first_mv = next(r for r in mlp.steps if r.rules and r.rules[0].kind == "mv")
    shown = details[first_mv.node]
    assert shown.arrived == format_value(first_mv.grad_outputs[0])
    assert [o.value for o in shown.sent] == [format_value(v) for v in first_mv.grad_inputs]
    assert "…" in next(s for s in steps if s.node == first_mv.node).sent[0].value


def test_a_tensor_rule_names_a_programs_line_by_its_name(mlp) -> None:
    formulas = {(s.name, o.label): o.formula for s in explain.steps(mlp) for o in s.sent}
    assert formulas[("MvBackward0", "W2")] == "G·hᵀ"  # not G·(tanh(W1 @ x + b1))ᵀ
    assert formulas[("MvBackward0", "h")] == "W2ᵀ·G"
    assert formulas[("MvBackward0", "W1")] == "G·xᵀ"
