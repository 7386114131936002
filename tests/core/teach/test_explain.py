"""autograd_playground.core.teach.explain: the walk through the graph, each number taken from PyTorch's result.

The oracle is the chain rule by hand for the lesson's function,
y = 5x³ + 2x² + 4x + 8 at x = 2: the three paths into x carry 60, 8 and 4,
and x.grad = 72.
"""

from __future__ import annotations

import pytest

from autograd_playground.core.pipeline import compute
from autograd_playground.core.result import from_json
from autograd_playground.core.teach import explain

SEED = "5*x**3 + 2*x**2 + 4*x + 8"


@pytest.fixture(scope="module")
def seed():
    return from_json(compute(SEED, {"x": 2.0}))


def test_there_is_one_step_per_backward_node_in_the_engines_order(seed):
    views = explain.steps(seed)
    assert [v.index for v in views] == list(range(1, len(views) + 1))
    assert [v.node for v in views] == [s.node for s in seed.steps]
    # The first step receives the seed gradient dy/dy = 1.
    assert views[0].arrived == "1"


def test_the_leaf_adds_up_its_paths_as_the_lesson_does(seed):
    leaf = next(v for v in explain.steps(seed) if v.kind == "leaf")
    assert leaf.variable == "x"
    assert sorted(float(p.value) for p in leaf.parts) == [4.0, 8.0, 60.0]
    assert leaf.accumulated == "72"


def test_each_sent_gradient_is_the_arrived_one_times_the_local_derivative(seed):
    for view in explain.steps(seed):
        for sent in view.sent:
            if sent.local is None:
                continue
            assert float(sent.value) == pytest.approx(float(view.arrived) * float(sent.local))


def test_the_power_rule_reads_with_its_exponent(seed):
    # d(x³)/dx = 3x², written with the saved exponent.
    pow3 = next(
        s for v in explain.steps(seed) if v.name == "PowBackward0" for s in v.sent
        if "3" in s.formula
    )
    assert pow3.formula == "3·x²"
    assert float(pow3.local) == pytest.approx(3 * 2.0**2)


def test_the_forward_pass_builds_the_graph_node_by_node(seed):
    ops = explain.forward(seed)
    assert [float(op.value) for op in ops][-1] == pytest.approx(5 * 8 + 2 * 4 + 4 * 2 + 8)
    # Each op's nodes are those of the one before, plus its own.
    for before, after in zip(ops, ops[1:], strict=False):
        assert set(before.built) <= set(after.built)
    assert "out" in ops[-1].built and "out" not in ops[0].built


def test_the_details_of_every_node_show_its_value_and_what_it_received(seed):
    views = explain.node_views(seed, explain.steps(seed))
    assert {v.id for v in views} == {n.id for n in seed.nodes}
    leaf = next(v for v in views if v.kind == "leaf")
    assert leaf.value == "2" and leaf.label == "x"


@pytest.mark.parametrize(
    ("expression", "inputs", "op", "expected"),
    [
        ("sin(x)", {"x": 0.5}, "SinBackward0", "cos(x)"),
        ("exp(x)*2", {"x": 1.0}, "ExpBackward0", "e^x"),
        ("x*y", {"x": 2.0, "y": 3.0}, "MulBackward0", "y"),
        ("x/y", {"x": 2.0, "y": 4.0}, "DivBackward0", "1/y"),
    ],
)
def test_a_formula_names_the_operands_as_the_student_wrote_them(expression, inputs, op, expected):
    views = explain.steps(from_json(compute(expression, inputs)))
    step = next(v for v in views if v.name == op)
    assert step.sent[0].formula == expected
