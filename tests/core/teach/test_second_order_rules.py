"""The gradient's own graph explained like y's (issues 22 and 23).

Each node of the graph of dy/dx is named by the first-order graph's name for its value
(``x**2``, a program's ``h``) or by its value as a formula (``15*x**2``); each step's
rule is derived from the op's form and checked against PyTorch's number; d²y/dx² comes
as a formula beside its value. The lesson's function is 5*x**3 + 2*x**2 + 4*x + 8 at
x = 2: dy/dx = 15x² + 4x + 4 = 72, d²y/dx² = 30x + 4 = 64.
"""

from __future__ import annotations

import re

import pytest
import sympy

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import Extras
from autograd_playground.core.pipeline import compute
from autograd_playground.core.trace.local import OWN_NUMBERS
from tests import oracle

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"
PLACEHOLDER = re.compile(r"\bp\d\b|\bk1?\b|\?|[A-Z][A-Za-z]*Backward\d")


def second(expression: str, inputs: dict) -> dict:
    return compute(expression, inputs, extras=Extras(order=2))["second_order"]


def sent_rules(graph: dict) -> list[tuple[str, str, dict]]:
    """(the step's node label, the input's label, the rule) for every rule of the walk."""
    nodes = {n["id"]: n for n in graph["nodes"]}

    def label(node: dict) -> str:
        return node["variable"] if node["kind"] == "leaf" else node["source"]

    return [
        (label(nodes[step["node"]]), label(nodes[target]), rule)
        for step in graph["steps"]
        for target, rule in zip(step["targets"], step["rules"], strict=False)
        if rule is not None
    ]


def test_every_node_of_the_lesson_s_gradient_graph_reads_as_its_value():
    graph = second(LESSON, {"x": 2})["graph"]
    labels = {n["source"] for n in graph["nodes"] if n["kind"] != "leaf"}
    # dy/dx = 15x² + 4x + 4 as PyTorch builds it: 5·(3·x²) + (4 + 2·(2·x¹)).
    assert labels == {"15*x**2 + 4*x + 4", "15*x**2", "3*x**2", "x**2",
                      "4*x + 4", "4*x", "2*x", "x**1"}


def test_every_step_of_the_lesson_s_gradient_graph_has_a_derived_and_checked_rule():
    rules = {(node, target): rule for node, target, rule in sent_rules(second(LESSON, {"x": 2})["graph"])}
    # By hand: ∂(15x²)/∂(3x²) = 5 (the 5 of 5*x**3 arrived as a constant), ∂(3x²)/∂(x²) = 3,
    # ∂(x²)/∂x = 2x = 4, ∂(x¹)/∂x = 1, ∂(4x + 4)/∂(4x) = 1.
    expected = {
        ("15*x**2", "3*x**2"): ("5", 5.0),
        ("3*x**2", "x**2"): ("3", 3.0),
        ("x**2", "x"): ("2·x", 4.0),
        ("2*x", "x**1"): ("2", 2.0),
        ("x**1", "x"): ("1", 1.0),
        ("4*x + 4", "4*x"): ("1", 1.0),
    }
    for key, (formula, value) in expected.items():
        rule = rules[key]
        assert (rule["formula"], rule["value"], rule["agrees"]) == (formula, value, True), key
        assert rule["torch"] == pytest.approx(value)
    assert all(rule["formula"] != OWN_NUMBERS for rule in rules.values())


def test_the_second_derivative_of_the_lesson_comes_as_a_formula_beside_its_value():
    data = second(LESSON, {"x": 2})
    (formula,) = data["formulas"]
    assert (formula["variable"], formula["text"], formula["value"]) == ("x", "30*x + 4", 64.0)
    assert formula["grad"] == data["second"]["x"] == 64.0 and formula["agrees"] is True
    assert "<math" in formula["mathml"]


@pytest.mark.parametrize("expression, point", [
    ("sin(x)*x", 0.7), ("exp(2*x)", 0.5), ("log(x)*x**3", 1.5), ("x**2*y + sin(y)", 0.5),
    ("sigmoid(x)*tanh(x)", 0.4), ("2**x*cos(x)", 0.9),
])
def test_the_second_derivative_formula_is_sympy_s_and_agrees_with_pytorch(expression, point):
    inputs = {"x": point, "y": 2.0} if "y" in expression else {"x": point}
    data = second(expression, inputs)
    f = oracle.to_sympy(parse(expression).tree)
    at = {oracle.symbol(k): v for k, v in inputs.items()}
    for formula in data["formulas"]:
        x = oracle.symbol(formula["variable"])
        exact = sympy.diff(f, x, 2)
        assert float(exact.subs(at)) == pytest.approx(formula["value"], rel=1e-6)
        assert sympy.simplify(sympy.sympify(formula["text"], locals={
            n: oracle.symbol(n) for n in inputs}) - exact) == 0, formula["text"]
        assert formula["agrees"] is True
    assert {f["variable"] for f in data["formulas"]} == set(inputs)


@pytest.mark.parametrize("expression, inputs", [
    ("sin(x)*x", {"x": 0.7}), ("x**3/(1 + x)", {"x": 1.5}), ("exp(x)*cos(x) - x**4", {"x": 0.3}),
    ("sqrt(x)*x**2", {"x": 2.0}), ("x*y**3", {"x": 2.0, "y": 1.0}), ("(2 - x)**3", {"x": 0.5}),
])
def test_the_rules_of_the_gradient_graph_agree_with_pytorch_and_name_their_operands(expression, inputs):
    rules = sent_rules(second(expression, inputs)["graph"])
    derived = [r for _, _, r in rules if r["formula"] != OWN_NUMBERS]
    assert derived, rules  # most steps get a formula; the rest say whose numbers they are
    for node, target, rule in rules:
        assert not PLACEHOLDER.search(rule["formula"]), (node, target, rule["formula"])
        assert node and target and not PLACEHOLDER.search(node + target), (node, target)
    assert all(r["agrees"] is True for r in derived), derived


def test_the_first_order_s_names_name_the_same_values_in_the_gradient_graph():
    # sin(x)*x: dy/dx = x·cos(x) + sin(x), and sin(x) is the node y's graph made.
    labels = {n["source"] for n in second("sin(x)*x", {"x": 0.7})["graph"]["nodes"]}
    assert {"sin(x)", "cos(x)", "x*cos(x)", "x*cos(x) + sin(x)"} <= labels


def test_a_program_s_gradient_graph_reads_with_the_program_s_names():
    program = "z = w*x + b\nh = tanh(z)\nloss = (h - t)**2"
    graph = second(program, {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1.0})["graph"]
    labels = {n["source"] for n in graph["nodes"] if n["source"]}
    assert {"h", "z", "w*x", "h - t", "2*h - 2*t"} <= labels
    rules = {(a, b): r for a, b, r in sent_rules(graph)}
    assert rules[("h", "z")]["formula"] == "1 − tanh(z)²" and rules[("h", "z")]["agrees"]
    # tanh's own backward (tanh_backward) has no form here: PyTorch's numbers, never a blank.
    own = [r for r in rules.values() if r["formula"] == OWN_NUMBERS]
    assert own and all(r["value"] is not None for r in own)


def test_tensors_keep_the_second_derivative_without_a_formula():
    data = second("sum(x**3)", {"x": [1, 2]})
    assert data["second"]["x"] == [6.0, 12.0] and data["formulas"] == []


def test_a_backward_op_without_a_form_is_still_named_by_its_value():
    # tanh's backward in dy/dx of tanh(x)*x computes x·(1 − tanh(x)²): its rule is
    # PyTorch's own, but the node and its operands read as values, in the language's names.
    labels = {n["name"]: n["source"] for n in second("tanh(x)*x", {"x": 0.5})["graph"]["nodes"]}
    assert labels["TanhBackwardBackward0"] == "x*(1 - tanh(x)**2)"
    labels = {n["name"]: n["source"] for n in second("sigmoid(x)", {"x": 0.5})["graph"]["nodes"]}
    assert labels["SigmoidBackward0"] == "sigmoid(x)"
