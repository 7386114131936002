"""The derivative panel writes PyTorch's steps as the step panel does (issue 23).

maximum, minimum, relu and clamp differentiate to sympy's Heaviside, which its
printers write as ``Heaviside(x - y)`` and ``Θ(x − y, 1/2)``: a student cannot read
either. Both the plain text and the MathML of ``symbolic`` write the step as an
Iverson bracket, by the same rule as the step panel (``[x > y] + ½·[x = y]``), and at
a tie or a bound both panels give PyTorch's number. The oracle for each value is
the subgradient PyTorch documents, written out by hand.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from autograd_playground.core.language.rules import Extras
from autograd_playground.core.pipeline import compute
from autograd_playground.web.markup import inline_mathml

# (function, variable, text, what the MathML reads, the step panel's formula)
READS = [
    ("maximum(x, y)", "x", "[x > y] + [x = y]/2", "[x>y]+12\u2062[x=y]", "[x > y] + ½·[x = y]"),
    ("maximum(x, y)", "y", "[y > x] + [y = x]/2", "[y>x]+12\u2062[y=x]", "[y > x] + ½·[y = x]"),
    ("minimum(x, 2)", "x", "[x < 2] + [x = 2]/2", "[x<2]+12\u2062[x=2]", "[x < 2] + ½·[x = 2]"),
    ("relu(x)", "x", "[x > 0]", "[x>0]", "[x > 0]"),
    ("clamp(x, 0, 1)", "x", "[x >= 0]*[x <= 1]", "[x≥0]\u2062[x≤1]", "[x ≥ 0]·[x ≤ 1]"),
    ("maximum(x*x, y)", "x", "2*x*([x**2 > y] + [x**2 = y]/2)",
     "2\u2062x\u2062([x2>y]+12\u2062[x2=y])", None),
    ("-relu(x)", "x", "-[x > 0]", "-[x>0]", None),
]


def symbolic(expression: str, inputs: dict) -> dict:
    return compute(expression, inputs, extras=Extras(symbolic=True))


def derivative(expression: str, inputs: dict, name: str) -> dict:
    return next(d for d in symbolic(expression, inputs)["symbolic"]["derivatives"]
                if d["variable"] == name)


def read(mathml: str) -> str:
    """What the MathML says, its characters in order (a fraction's 1 and 2 read 12)."""
    return "".join(ET.fromstring(mathml).itertext())


@pytest.mark.parametrize("expression, name, text, reads, step", READS, ids=[r[0] + r[1] for r in READS])
def test_a_step_is_written_as_an_iverson_bracket(expression, name, text, reads, step):
    d = derivative(expression, {"x": 0.5, "y": 1.5}, name)
    assert d["text"] == text
    assert "Heaviside" not in d["text"] and "Θ" not in d["mathml"]
    assert read(d["mathml"]) == reads
    assert str(inline_mathml(d["mathml"]))  # the web's check keeps it


@pytest.mark.parametrize("expression, name, text, reads, step",
                         [r for r in READS if r[4]], ids=[r[0] + r[1] for r in READS if r[4]])
def test_both_panels_write_the_step_alike(expression, name, text, reads, step):
    result = symbolic(expression, {"x": 0.5, "y": 1.5})
    formulas = [r["formula"] for s in result["steps"] for r in s["rules"] if r and r["kind"] == "local"]
    assert step in formulas


def test_less_than_is_escaped_in_the_markup():
    d = derivative("minimum(x, 2)", {"x": 0.5}, "x")
    assert "<mo>&lt;</mo>" in d["mathml"]
    assert "<mo>&lt;</mo>" in str(inline_mathml(d["mathml"]))


# At a tie or a bound: PyTorch's subgradient, by its documentation: maximum and minimum
# split a tie evenly (½ each), relu passes 0 at 0, clamp passes 1 on a bound, abs sign(0) = 0.
TIES = [
    ("maximum(x, y)", {"x": 1.0, "y": 1.0}, "x", 0.5),
    ("minimum(x, y)", {"x": 1.0, "y": 1.0}, "y", 0.5),
    ("maximum(x*x, y)", {"x": 2.0, "y": 4.0}, "x", 2.0),  # 2x·½ at x = 2
    ("relu(x)", {"x": 0.0}, "x", 0.0),
    ("clamp(x, 0, 1)", {"x": 1.0}, "x", 1.0),
    ("clamp(x, 0, 1)", {"x": 0.0}, "x", 1.0),
    ("abs(x)", {"x": 0.0}, "x", 0.0),
]


@pytest.mark.parametrize("expression, inputs, name, hand", TIES, ids=[t[0] + str(t[1]) for t in TIES])
def test_both_panels_agree_at_a_tie_or_a_bound(expression, inputs, name, hand):
    result = symbolic(expression, inputs)
    d = next(d for d in result["symbolic"]["derivatives"] if d["variable"] == name)
    assert d["value"] == hand and d["grad"] == hand and d["agrees"] is True
    assert d["note"]  # the subgradient is named
    # The step panel's local derivative of the op that has the corner, at the same point.
    corner = next(s for s in result["steps"]
                  if s["name"].split("Backward")[0] in ("Maximum", "Minimum", "Relu", "Clamp", "Abs"))
    rules = [r for r in corner["rules"] if r is not None]
    assert all(r["agrees"] is True for r in rules)
    assert rules[0]["notes"]  # tie-split, relu-at-zero, clamp-at-bound or abs-at-zero
