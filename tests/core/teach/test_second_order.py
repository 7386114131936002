"""autograd_playground.core.teach.second_order: d²y/dx², the gradient's own graph, accumulation.

Every expected number is derived by hand in the comment next to it, or comes from
the tests' own sympy oracle (tests/oracle.py). The lesson's function is
5*x**3 + 2*x**2 + 4*x + 8: dy/dx = 15x² + 4x + 4 = 72 and d²y/dx² = 30x + 4 = 64 at x = 2.
"""

from __future__ import annotations

import math

import pytest
import sympy

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import Extras, Limits
from autograd_playground.core.pipeline import compute
from autograd_playground.core.teach import second_order
from tests import oracle

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"


def second(expression: str, inputs: dict, **kw) -> dict:
    return compute(expression, inputs, extras=Extras(order=2), **kw)["second_order"]


@pytest.mark.parametrize("expression, inputs, expected", [
    (LESSON, {"x": 2}, {"x": 64.0}),  # 30x + 4
    ("sin(x)", {"x": 0.7}, {"x": -math.sin(0.7)}),
    ("exp(2*x)", {"x": 0.5}, {"x": 4 * math.exp(1.0)}),
    ("log(x)", {"x": 0.5}, {"x": -4.0}),  # -1/x²
    ("x**2*y + sin(y)", {"x": 3, "y": 0.5}, {"x": 1.0, "y": -math.sin(0.5)}),  # 2y, -sin y
    ("x*y", {"x": 1, "y": 2}, {"x": 0.0, "y": 0.0}),
    ("sum(x**3)", {"x": [1, 2]}, {"x": [6.0, 12.0]}),  # diagonal 6x
])
def test_second_derivatives_are_the_hand_derived_diagonal(expression, inputs, expected):
    got = second(expression, inputs)["second"]
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("expression, point", [
    ("sigmoid(x)*tanh(x)", 0.4), ("sqrt(x)/(1 + x**2)", 1.3), ("2**x*cos(x)", 0.9),
])
def test_second_derivatives_agree_with_the_sympy_oracle(expression, point):
    f = oracle.to_sympy(parse(expression).tree)
    x = oracle.symbol("x")
    exact = float(sympy.diff(f, x, 2).subs(x, point))
    assert second(expression, {"x": point})["second"]["x"] == pytest.approx(exact, rel=1e-4)


def test_the_gradient_has_its_own_graph_whose_backward_gives_the_second_derivative():
    data = second(LESSON, {"x": 2})
    graph = data["graph"]
    assert graph["variable"] == "x" and data["note"] is None
    assert graph["output"]["value"] == 72.0  # the graph's output is dy/dx
    leaf = [s for s in graph["steps"] if s["accumulated"] is not None]
    assert [s["accumulated"] for s in leaf] == [64.0]
    assert graph["svg"].startswith("<svg") and len(graph["nodes"]) <= Limits().max_graph_nodes


def test_the_gradient_graph_obeys_the_node_limit():
    data = second(" + ".join(["sin(x)*x"] * 30), {"x": 1.0})
    assert data["graph"] is None
    assert data["note"]["template"] == second_order.SECOND_TOO_LARGE
    assert data["note"]["params"]["limit"] == Limits().max_graph_nodes
    assert data["second"]["x"] is not None  # the numbers are still there


def test_a_linear_function_has_no_gradient_graph_and_says_why():
    data = second("3*x + 1", {"x": 2})
    assert data["second"] == {"x": 0.0} and data["graph"] is None
    assert data["note"]["template"] == second_order.SECOND_NO_GRAPH


# --- accumulation ------------------------------------------------------------------


def test_a_second_backward_without_zero_grad_doubles_the_gradient():
    data = compute(LESSON, {"x": 2}, extras=Extras(accumulate=True))["accumulation"]
    assert data == {"once": {"x": 72.0}, "twice": {"x": 144.0}}


def test_accumulation_keeps_each_variable_and_tensors():
    data = compute("sum(w*x)", {"w": [1, 2], "x": [3, 4]}, {"w": True, "x": False},
                   extras=Extras(accumulate=True))["accumulation"]
    assert data == {"once": {"w": [3.0, 4.0]}, "twice": {"w": [6.0, 8.0]}}


def test_a_variable_the_output_does_not_reach_keeps_grad_none():
    # z = 3x never uses a = 2y: PyTorch leaves y.grad None after both backward() calls.
    data = compute("a = y*2\nz = x*3", {"x": 1.5, "y": 2.0}, extras=Extras(accumulate=True))["accumulation"]
    assert data == {"once": {"x": 3.0, "y": None}, "twice": {"x": 6.0, "y": None}}




def test_the_gradient_graph_calls_its_output_dy_dx():
    svg = second(LESSON, {"x": 2})["graph"]["svg"]
    assert "dy/dx" in svg
    svg = second("x*y**3", {"x": 2, "y": 1})["graph"]["svg"]  # a variable y: out
    assert "dout/dx" in svg


def test_a_program_has_second_derivatives_as_its_one_line_function_has():
    # The lesson's neuron as three lines: d²loss/dw² and the others, against sympy on
    # the same function written as one expression, (tanh(w*x + b) - t)^2.
    program = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
    inputs = {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1.0}
    data = second(program, inputs)
    f = oracle.to_sympy(parse("(tanh(w*x + b) - t)**2").tree)
    at = {oracle.symbol(k): v for k, v in inputs.items()}
    for name in inputs:
        exact = float(sympy.diff(f, oracle.symbol(name), 2).subs(at))
        assert data["second"][name] == pytest.approx(exact, rel=1e-4, abs=1e-6), name
    # The gradient's graph is drawn and stepped, with no named values of its own.
    assert data["graph"]["steps"] and data["graph"]["intermediates"] == []
