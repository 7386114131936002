"""autograd_playground.core.trace.graph.trace: the graph PyTorch builds, and the backward pass it runs.

Every number PyTorch reports is checked against an oracle that does not use the
code under test: hand-derived values for the seed example, sympy derivatives of
the parsed tree for scalar functions, and central finite differences (numpy,
float64) for tensors. See tests/oracle.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import ExprError, Limits, TooLong
from autograd_playground.core.trace import graph
from autograd_playground.core.trace.graph import Trace, trace
from autograd_playground.core.trace.model import tensor_text
from tests.oracle import (
    evaluate,
    finite_difference_gradients,
    sympy_value_and_gradients,
    to_sympy,
)

SEED = "5*x**3 + 2*x**2 + 4*x + 8"
# float32 against float64 oracles.
REL = 1e-4
ABS = 1e-4


def approx(expected):
    return pytest.approx(expected, rel=REL, abs=ABS)


def run(text: str, inputs: dict, **kwargs) -> Trace:
    return trace(parse(text), inputs, **kwargs)


def leaf_steps(t: Trace) -> dict[str, object]:
    """variable name -> the backward step of its AccumulateGrad node."""
    nodes = {n.id: n for n in t.nodes}
    return {nodes[s.node].variable: s for s in t.steps if nodes[s.node].kind == "leaf"}


def as_array(value) -> np.ndarray:
    """A recorded value (float, nested list, or "nan"/"inf"/"-inf") as float64."""
    return np.asarray(value, dtype=object).astype(np.float64)


# --- the seed example, derived by hand --------------------------------------
#   y  = 5x^3 + 2x^2 + 4x + 8          at x = 2: 40 + 8 + 8 + 8 = 64
#   y' = 15x^2 + 4x + 4                at x = 2: 60 + 8 + 4     = 72


@pytest.fixture(scope="module")
def seed() -> Trace:
    return run(SEED, {"x": 2})


def test_seed_output_value_and_repr(seed):
    assert seed.output.value == 64.0
    assert seed.output.repr == "tensor(64., grad_fn=<AddBackward0>)"
    assert seed.output.shape == ()
    assert seed.expression == SEED


def test_seed_gradient_is_hand_derived_72(seed):
    assert seed.gradients == {"x": 72.0}
    (x,) = seed.variables
    assert (x.name, x.value, x.shape, x.requires_grad, x.grad) == ("x", 2.0, (), True, 72.0)


def test_seed_node_ids_are_n0_to_n8_with_n0_the_output(seed):
    assert [n.id for n in seed.nodes] == [f"n{i}" for i in range(9)]
    assert seed.nodes[0].kind == "output"
    assert seed.nodes[0].name == "AddBackward0"
    assert [n.kind for n in seed.nodes[1:]].count("output") == 0
    leaves = [n for n in seed.nodes if n.kind == "leaf"]
    assert [(n.name, n.variable, n.value) for n in leaves] == [("AccumulateGrad", "x", 2.0)]
    # Every input id points at a node of the graph.
    ids = {n.id for n in seed.nodes}
    assert all(i in ids for n in seed.nodes for i in n.inputs if i is not None)


def test_seed_has_nine_steps_each_node_once(seed):
    assert len(seed.steps) == 9
    assert [s.index for s in seed.steps] == list(range(1, 10))
    assert Counter(s.node for s in seed.steps) == Counter(n.id for n in seed.nodes)
    assert seed.steps[0].node == "n0"
    assert seed.steps[0].grad_outputs == (1.0,)


def test_seed_last_step_accumulates_72_from_three_paths(seed):
    last = seed.steps[-1]
    leaf = seed.node(last.node)
    assert (last.name, leaf.kind, leaf.variable) == ("AccumulateGrad", "leaf", "x")
    assert last.accumulated == 72.0
    assert last.grad_outputs == (72.0,)
    # 5*x**3 sends 5*3x^2 = 60, 2*x**2 sends 2*2x = 8, 4*x sends 4.
    values = [c.value for c in last.contributions]
    assert Counter(values) == Counter([60.0, 8.0, 4.0])
    assert sum(values) == 72.0
    senders = {c.node for c in last.contributions}
    assert all(leaf.id in seed.node(s).inputs for s in senders)


def test_seed_mul_over_pow_with_saved_exponent_3(seed):
    cube = next(n for n in seed.nodes if n.source == "x**3")
    assert cube.name == "PowBackward0"  # the exponent stays a Python number
    assert cube.saved["exponent"] == 3.0
    assert cube.saved["self"] == 2.0
    assert cube.value == 8.0
    five_cube = next(n for n in seed.nodes if n.source == "5*x**3")
    assert five_cube.name == "MulBackward0"
    assert five_cube.inputs == (cube.id, None)
    assert five_cube.saved["other"] == 5.0
    assert not any(n.name == "PowBackward1" for n in seed.nodes)


def test_seed_pow_step_local_derivative_12_sends_60(seed):
    cube = next(n for n in seed.nodes if n.source == "x**3")
    step = next(s for s in seed.steps if s.node == cube.id)
    assert step.grad_outputs == (5.0,)  # d(5*u)/du
    assert step.local_derivatives == (12.0,)  # 3*x**2 at x = 2
    assert step.grad_inputs == (60.0,)
    assert step.targets == cube.inputs


def test_seed_forward_ends_with_the_whole_function(seed):
    last = seed.forward[-1]
    assert (last.source, last.value, last.node) == (SEED, 64.0, "n0")
    assert [f.index for f in seed.forward] == list(range(1, len(seed.forward) + 1))
    by_source = {f.source: f.value for f in seed.forward}
    assert by_source["x**3"] == 8.0
    assert by_source["5*x**3"] == 40.0
    assert by_source["2*x**2"] == 8.0
    assert by_source["4*x"] == 8.0
    # Every forward op that made a node names that node, and agrees on its value.
    for f in seed.forward:
        assert f.node is not None
        assert seed.node(f.node).value == f.value


def test_seed_is_deterministic(seed):
    again = run(SEED, {"x": 2})
    assert again.nodes == seed.nodes
    assert again.steps == seed.steps
    assert again.forward == seed.forward


# --- invariants every trace must satisfy ------------------------------------


def check_invariants(t: Trace) -> None:
    ids = [n.id for n in t.nodes]
    assert ids == [f"n{i}" for i in range(len(ids))]
    assert t.nodes[0].kind == "output"
    assert t.steps[0].node == "n0"
    # Every node runs exactly once.
    assert Counter(s.node for s in t.steps) == Counter(ids)
    assert [s.index for s in t.steps] == list(range(1, len(t.steps) + 1))
    # Engine order is topological: every step feeding a node ran before it.
    position = {s.node: i for i, s in enumerate(t.steps)}
    for i, step in enumerate(t.steps):
        assert step.targets == t.node(step.node).inputs
        for target in step.targets:
            if target is not None:
                assert position[target] > i, (step.node, target)
    # Leaves: sum of contributions == accumulated == reported gradient.
    gradients = t.gradients
    for name, step in leaf_steps(t).items():
        assert step.contributions, name
        total = sum(as_array(c.value) for c in step.contributions)
        np.testing.assert_allclose(total, as_array(step.accumulated), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(as_array(step.accumulated), as_array(gradients[name]), rtol=0, atol=0)
        # And each contribution is what its sender's step really sent to this leaf.
        leaf_id = step.node
        sent = Counter()
        for s in t.steps:
            for target, g in zip(s.targets, s.grad_inputs, strict=False):
                if target == leaf_id and g is not None:
                    sent[s.node] += 1
        assert Counter(c.node for c in step.contributions) == sent


def test_seed_invariants(seed):
    check_invariants(seed)


# --- functions against the sympy oracle (scalars) ---------------------------

SCALAR_CASES = [
    pytest.param("x*y + sin(x)", {"x": 0.7, "y": -1.3}, id="two-vars-sin"),
    pytest.param("x**2*y - y/x", {"x": 1.5, "y": 2.0}, id="two-vars-division"),
    pytest.param("x*x*x", {"x": 1.7}, id="reuse-x*x*x"),
    pytest.param("cos(x)*x", {"x": 0.9}, id="cos"),
    pytest.param("tan(x) + 1", {"x": 0.4}, id="tan"),
    pytest.param("exp(-x**2)", {"x": 0.8}, id="exp-unary-minus"),
    pytest.param("log(x) + sqrt(x)", {"x": 2.5}, id="log-sqrt"),
    pytest.param("abs(x)*y", {"x": -1.2, "y": 3.0}, id="abs-negative"),
    pytest.param("tanh(2*x)", {"x": 0.3}, id="tanh"),
    pytest.param("sigmoid(x*y)", {"x": 0.5, "y": -2.0}, id="sigmoid"),
    pytest.param("relu(x - 1)*x + relu(-x)", {"x": 1.6}, id="relu"),
    pytest.param("pow(x, 3) + pow(2, x)", {"x": 1.3}, id="pow-function"),
    pytest.param("x^3 - 2*x^2", {"x": 1.1}, id="caret"),
    pytest.param("-x*y + -(x/y)", {"x": 0.6, "y": 1.7}, id="unary-minus"),
    pytest.param("+x*3 - 1/x", {"x": 0.8}, id="unary-plus-reciprocal"),
    pytest.param("x/(1 + y**2)", {"x": 2.0, "y": 0.5}, id="division"),
    pytest.param("2**x", {"x": 1.5}, id="constant-base-pow"),
    pytest.param("x**y", {"x": 1.5, "y": 2.5}, id="tensor-exponent"),
    pytest.param("sum(x) + mean(x*x)", {"x": 1.2}, id="sum-mean-scalar"),
    pytest.param("exp(sin(x))*log(1 + x**2)", {"x": 0.9}, id="composite"),
    pytest.param("(x + y)**2/(x - y)", {"x": 2.0, "y": 0.5}, id="quotient-of-powers"),
    pytest.param("sqrt(x**2 + y**2)", {"x": 3.0, "y": 4.0}, id="norm"),
    pytest.param("x - x", {"x": 0.7}, id="cancels-to-zero"),
    pytest.param("x**0.5*2.5", {"x": 1.44}, id="float-exponent"),
]


@pytest.mark.parametrize(("text", "inputs"), SCALAR_CASES)
def test_scalar_function_matches_sympy(text, inputs):
    parsed = parse(text)
    t = trace(parsed, inputs)
    value, grads = sympy_value_and_gradients(parsed.tree, inputs, list(parsed.variables))
    assert t.output.value == approx(value)
    assert t.output.shape == ()
    assert set(t.gradients) == set(inputs)
    for name in parsed.variables:
        assert t.gradients[name] == approx(grads[name]), name
    check_invariants(t)


def test_sympy_oracle_reads_the_tree_not_the_text():
    # A sanity check of the oracle itself, by hand: d/dx (5x^3 + 2x^2 + 4x + 8) = 15x^2 + 4x + 4.
    import sympy

    x = sympy.Symbol("x", real=True)
    f = to_sympy(parse(SEED).tree)
    assert sympy.expand(f - (5 * x**3 + 2 * x**2 + 4 * x + 8)) == 0
    assert sympy.expand(sympy.diff(f, x) - (15 * x**2 + 4 * x + 4)) == 0
    assert to_sympy(parse("x^2").tree) == x**2


# --- tensors against finite differences -------------------------------------

TENSOR_CASES = [
    pytest.param("sum(x**2)", {"x": [1.0, 2.0, 3.0]}, id="sum-of-squares"),
    pytest.param(
        "mean((w*x - t)**2)",
        {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 3.0], "t": [0.0, 1.0, 5.5]},
        id="mean-squared-error",
    ),
    pytest.param("x @ w", {"x": [1.0, 2.0, 3.0], "w": [0.5, -1.0, 2.0]}, id="matmul-vectors"),
    pytest.param(
        "sum(A @ v)", {"A": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "v": [1.0, 2.0]},
        id="matrix-vector-sum",
    ),
    pytest.param("sum([1, 2, 3]*x)", {"x": [1.0, 2.0, 3.0]}, id="list-literal"),
    pytest.param(
        "sum(x*[[1, 2], [3, 4]])", {"x": [[0.5, 1.5], [-1.0, 2.0]]}, id="list-literal-2d"
    ),
    pytest.param("mean(sigmoid(x)*w)", {"x": [0.1, -0.5, 2.0], "w": 1.5}, id="broadcast-scalar"),
    pytest.param(
        "x @ W @ x", {"x": [1.0, -2.0], "W": [[2.0, 0.5], [0.5, 3.0]]}, id="quadratic-form"
    ),
    pytest.param("sum(relu(x) + abs(x))", {"x": [-1.5, 0.5, 2.0]}, id="relu-abs-vector"),
    pytest.param("mean(exp(x)/(1 + x**2))", {"x": [0.1, -0.3, 0.7]}, id="exp-division-mean"),
    pytest.param("sum(tanh(x)*cos(x) + log(x))", {"x": [0.5, 1.5]}, id="tanh-cos-log-vector"),
    pytest.param(
        "sum(x*y)", {"x": [[1.0], [2.0]], "y": [[3.0, 4.0, 5.0]]}, id="outer-broadcast"
    ),
]


@pytest.mark.parametrize(("text", "inputs"), TENSOR_CASES)
def test_tensor_function_matches_finite_differences(text, inputs):
    parsed = parse(text)
    t = trace(parsed, inputs)
    names = list(parsed.variables)
    expected_value = evaluate(parsed.tree, inputs)
    grads = finite_difference_gradients(parsed.tree, inputs, names)
    np.testing.assert_allclose(as_array(t.output.value), expected_value, rtol=REL, atol=ABS)
    assert t.output.shape in ((), (1,))
    for name in names:
        got = as_array(t.gradients[name])
        assert got.shape == np.shape(inputs[name]), name
        np.testing.assert_allclose(got, grads[name], rtol=REL, atol=ABS, err_msg=name)
    check_invariants(t)


def test_sum_of_squares_gradient_by_hand():
    t = run("sum(x**2)", {"x": [1, 2, 3]})
    assert t.output.value == 14.0
    assert t.gradients == {"x": [2.0, 4.0, 6.0]}


def test_list_literal_gradient_by_hand():
    t = run("sum([1,2,3]*x)", {"x": [1, 2, 3]})
    assert t.output.value == 14.0
    assert t.gradients == {"x": [1.0, 2.0, 3.0]}


def test_matmul_vectors_by_hand():
    t = run("x @ w", {"x": [1, 2, 3], "w": [4, 5, 6]})
    assert t.output.value == 32.0
    assert t.gradients == {"x": [4.0, 5.0, 6.0], "w": [1.0, 2.0, 3.0]}


def test_finite_difference_oracle_agrees_with_sympy_on_scalars():
    # The two oracles check each other where both apply.
    for param in SCALAR_CASES[:8]:
        text, inputs = param.values
        parsed = parse(text)
        names = list(parsed.variables)
        value, exact = sympy_value_and_gradients(parsed.tree, inputs, names)
        assert float(evaluate(parsed.tree, inputs)) == pytest.approx(value, rel=1e-12)
        fd = finite_difference_gradients(parsed.tree, inputs, names)
        for name in names:
            assert float(fd[name]) == pytest.approx(exact[name], rel=1e-6, abs=1e-6)


# --- requires_grad ----------------------------------------------------------


def test_variable_without_requires_grad_has_no_leaf_and_no_gradient():
    parsed = parse("x*y + sin(y)")
    inputs = {"x": 0.5, "y": 2.0}
    t = trace(parsed, inputs, requires_grad={"x": True, "y": False})
    _, grads = sympy_value_and_gradients(parsed.tree, inputs, ["x"])
    assert t.gradients["y"] is None
    assert t.gradients["x"] == approx(grads["x"])  # = y = 2
    y = next(v for v in t.variables if v.name == "y")
    assert y.requires_grad is False and y.grad is None
    leaves = [n for n in t.nodes if n.kind == "leaf"]
    assert [n.variable for n in leaves] == ["x"]
    assert set(leaf_steps(t)) == {"x"}
    check_invariants(t)


def test_no_variable_requires_grad_is_refused():
    with pytest.raises(ExprError) as info:
        run("x*y", {"x": 1.0, "y": 2.0}, requires_grad={"x": False, "y": False})
    assert "requires_grad" in info.value.message
    assert not isinstance(info.value, TooLong)


# --- refusals ---------------------------------------------------------------


def test_non_scalar_output_asks_for_sum_or_mean():
    with pytest.raises(ExprError) as info:
        run("x*2", {"x": [1, 2]})
    message = info.value.message
    assert "sum" in message and "mean" in message
    assert "[2]" in message
    assert not isinstance(info.value, TooLong)


def test_missing_value_names_the_variable():
    with pytest.raises(ExprError) as info:
        run("x*weight + 1", {"x": 1.0})
    assert "'weight'" in info.value.message
    assert "x*weight + 1"[info.value.start : info.value.end] == "weight"


def test_matmul_shape_mismatch_is_an_expr_error():
    with pytest.raises(ExprError) as info:
        run("x @ w", {"x": [1, 2], "w": [1, 2, 3]})
    assert not isinstance(info.value, RuntimeError)
    assert not isinstance(info.value, TooLong)
    assert "x @ w"[info.value.start : info.value.end] == "x @ w"


def test_matmul_with_a_single_number_is_refused():
    with pytest.raises(ExprError) as info:
        run("x @ 2", {"x": [1, 2]})
    assert "'@'" in info.value.message


def test_elementwise_shape_mismatch_is_an_expr_error():
    with pytest.raises(ExprError):
        run("sum(x*w)", {"x": [1, 2], "w": [1, 2, 3]})


def _spy(monkeypatch, table, key):
    calls = []
    real = table[key]

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setitem(table, key, spy)
    return calls


def test_too_large_broadcast_is_refused_before_computing(monkeypatch):
    calls = _spy(monkeypatch, graph.BINARY, "*")
    inputs = {"x": [[1.0]] * 20, "y": [[1.0] * 20]}  # (20, 1) * (1, 20) -> 400 numbers
    with pytest.raises(ExprError) as info:
        run("sum(x*y)", inputs, limits=Limits(max_elements=100))
    assert "[20, 20]" in info.value.message
    assert "100" in info.value.message
    assert calls == []  # refused from the shapes alone
    # Within the limit, the same shapes are computed.
    t = run("sum(x*y)", inputs, limits=Limits(max_elements=400))
    assert t.output.value == 400.0


def test_too_large_outer_matmul_is_refused_before_computing(monkeypatch):
    calls = _spy(monkeypatch, graph.BINARY, "@")
    inputs = {"x": [[1.0]] * 20, "y": [[1.0] * 20]}  # (20, 1) @ (1, 20) -> (20, 20)
    with pytest.raises(ExprError):
        run("sum(x @ y)", inputs, limits=Limits(max_elements=100))
    assert calls == []


def test_too_large_broadcast_in_pow_function_is_refused_before_computing(monkeypatch):
    results = []
    real = torch.pow

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        results.append(tuple(out.shape))
        return out

    monkeypatch.setattr(graph.torch, "pow", spy)
    inputs = {"x": [[1.0]] * 20, "y": [[1.0] * 20]}
    with pytest.raises(ExprError) as info:
        run("sum(pow(x, y))", inputs, limits=Limits(max_elements=100))
    assert "[20, 20]" in info.value.message
    assert results == []


def test_tower_of_exponents_is_refused_quickly():
    started = time.perf_counter()
    with pytest.raises(ExprError) as info:
        run("x**9**9**9", {"x": 2})
    assert time.perf_counter() - started < 1.0
    assert "exponent" in info.value.message
    assert "100" in info.value.message


def test_exponent_bound_applies_to_pow_function_too():
    with pytest.raises(ExprError) as info:
        run("pow(x, 101)", {"x": 2})
    assert "exponent" in info.value.message
    # The bound itself is allowed: 1.01**100 = 2.7048...
    t = run("x**100", {"x": 1.01})
    assert t.output.value == approx(1.01**100)
    assert t.gradients["x"] == approx(100 * 1.01**99)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x*10**30", id="power"),
        pytest.param("x + 1e15*1e15", id="product"),
        pytest.param("x*pow(10, 20)", id="pow-function"),
    ],
)
def test_constant_overflow_is_refused(text):
    with pytest.raises(ExprError) as info:
        run(text, {"x": 2})
    assert "too large" in info.value.message


def test_constant_division_by_zero_is_refused():
    with pytest.raises(ExprError) as info:
        run("x + 1/0", {"x": 2})
    assert "Division by zero" in info.value.message
    assert "x + 1/0"[info.value.start : info.value.end] == "1/0"


def test_complex_constant_is_refused():
    with pytest.raises(ExprError) as info:
        run("x*(-8)**0.5", {"x": 2})
    assert "complex" in info.value.message


# --- non-finite results are legitimate, and stay JSON-safe -------------------


def test_log_of_negative_gives_nan_output():
    t = run("log(x)", {"x": -1})
    assert t.output.value == "nan"
    assert t.output.repr == "tensor(nan, grad_fn=<LogBackward0>)"
    # d/dx log(x) = 1/x = -1, finite even where log is not.
    assert t.gradients == {"x": -1.0}
    check_invariants(t)


def test_reciprocal_at_zero_gives_inf_and_a_readable_gradient():
    t = run("1/x", {"x": 0})
    assert t.output.value == "inf"
    # d/dx 1/x = -1/x**2 -> -inf at 0.
    assert t.gradients == {"x": "-inf"}
    assert leaf_steps(t)["x"].accumulated == "-inf"


def _record(t: Trace) -> dict:
    """The JSON-facing part of a trace (not the live torch objects)."""
    return {
        "expression": t.expression,
        "variables": [dataclasses.asdict(v) for v in t.variables],
        "output": dataclasses.asdict(t.output),
        "nodes": [dataclasses.asdict(n) for n in t.nodes],
        "steps": [dataclasses.asdict(s) for s in t.steps],
        "forward": [dataclasses.asdict(f) for f in t.forward],
    }


def _non_finite_floats(data, path="$"):
    stack = [(data, path)]
    found = []
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}") for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            found.append(where)
        else:
            assert item is None or isinstance(item, (str, int, float, bool)), (where, type(item))
    return found


@pytest.mark.parametrize(
    ("text", "inputs"),
    [
        pytest.param("log(x)", {"x": -1}, id="log-negative"),
        pytest.param("1/x", {"x": 0}, id="reciprocal-zero"),
        pytest.param("sqrt(x)*y", {"x": -1, "y": 2}, id="sqrt-negative-saved"),
        pytest.param("sum(log(x)*x)", {"x": [-1, 0, 1]}, id="vector-nan-inf"),
        pytest.param("x/0 + x**90", {"x": 3}, id="overflow-float32"),
    ],
)
def test_non_finite_values_are_strings_everywhere(text, inputs):
    t = run(text, inputs)
    record = _record(t)
    assert _non_finite_floats(record) == []
    encoded = json.dumps(record, allow_nan=False)
    assert '"nan"' in encoded or '"inf"' in encoded or '"-inf"' in encoded


# --- the output as PyTorch prints it ----------------------------------------

EDGE_NUMBERS = [0.0, -0.0, 72.0, -3.0, 0.5, -3.5, 1e-4, 9e-5, 1e8, 1e8 + 8, 1e9, 123456789.0,
                1.23456789, 3.0000001, 16777217.0, 1e-30, 1e38, float("nan"), float("inf"),
                float("-inf")]


@pytest.mark.parametrize("number", EDGE_NUMBERS)
def test_the_output_is_printed_as_pytorch_prints_it(number: float) -> None:
    x = torch.tensor(number, requires_grad=True)
    for y in (x * 1, x + 0, torch.sin(x) * 0 + x):
        assert tensor_text(y) == str(y)


@settings(max_examples=300, deadline=None)
@given(st.floats(width=32, allow_nan=True, allow_infinity=True))
def test_the_output_is_printed_as_pytorch_prints_it_for_any_float32(number: float) -> None:
    y = torch.tensor(number, requires_grad=True) * 1
    assert tensor_text(y) == str(y)


def test_other_outputs_go_to_pytorchs_printer() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    double = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    for y in (x * 2, double * 1, torch.tensor(2.0)):
        assert tensor_text(y) == str(y)


@pytest.mark.parametrize(
    "text, inputs, left, right, phrase",
    [
        ("w*x", {"w": [1.0, 2.0, 3.0], "x": [1.0, 2.0]}, [3], [2], "each pair of sizes"),
        ("w @ x", {"w": [[1.0, 2.0], [3.0, 4.0]], "x": [1.0, 2.0, 3.0]}, [2, 2], [3],
         "the last size on the left"),
    ],
    ids=["broadcast", "matmul"],
)
def test_shapes_that_do_not_fit_get_our_own_sentence(text, inputs, left, right, phrase):
    """No PyTorch English inside the sentence: it would stay English in German."""
    from autograd_playground.core.language.expr import parse
    from autograd_playground.core.language.rules import ExprError

    with pytest.raises(ExprError) as caught:
        graph.trace(parse(text), inputs)
    err = caught.value
    assert phrase in err.message and "{reason}" not in err.template
    assert (err.params["left"], err.params["right"]) == (left, right)
    assert "broadcast" not in err.message.lower() and "mat1" not in err.message
