"""The app's sympy builder: trees become the right sympy objects, and evaluate like PyTorch.

Oracles: hand-written sympy expressions, the tests' own independent builder
(tests/oracle.py) and numpy values computed by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import Limits
from autograd_playground.core.language.tree import Call, Var
from autograd_playground.core.trace.symbolic import (
    NotScalar,
    evaluate,
    is_scalar,
    number,
    symbol,
    to_sympy,
)
from tests import oracle

x, y = symbol("x"), symbol("y")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5*x**3 + 2*x**2 + 4*x + 8", 5 * x**3 + 2 * x**2 + 4 * x + 8),
        ("x^5 + 0.25", x**5 + sympy.Rational(1, 4)),
        ("2**x", 2**x),
        ("pow(3, x)", 3**x),
        ("2**(x*y)", 2 ** (x * y)),
        ("1/x", 1 / x),
        ("-x*y", -x * y),
        ("+x", x),
        ("log(sqrt(x))", sympy.log(sympy.sqrt(x))),
        ("sigmoid(x)", 1 / (1 + sympy.exp(-x))),
        ("relu(x)", sympy.Max(0, x)),
        ("abs(x) + tanh(y)", sympy.Abs(x) + sympy.tanh(y)),
        ("sin(x)*cos(y)*tan(x)*exp(y)", sympy.sin(x) * sympy.cos(y) * sympy.tan(x) * sympy.exp(y)),
        ("sum(x) + mean(y)", x + y),
        # The lesson's ops of single numbers.
        ("maximum(x, y) - minimum(x, 2)", sympy.Max(x, y) - sympy.Min(x, 2)),
        ("clamp(x, 0, 1)", sympy.Min(sympy.Max(x, 0), 1)),
        ("mse(x, y)", (x - y) ** 2),
        ("max(x) + min(y)", x + y),
        ("softmax(x) + log_softmax(y) + logsumexp(x)", 1 + x),
        ("pi*x + e", sympy.pi * x + sympy.E),
    ],
)
def test_trees_become_the_expected_sympy_expression(text, expected):
    assert sympy.simplify(to_sympy(parse(text).tree) - expected) == 0


def test_variables_are_real_symbols_named_as_written():
    expr = to_sympy(parse("x*y + x").tree)
    assert expr.free_symbols == {sympy.Symbol("x", real=True), sympy.Symbol("y", real=True)}
    assert sympy.Symbol("x") not in expr.free_symbols  # not the plain, complex one


@pytest.mark.parametrize(
    "value, expected",
    [(3, sympy.Integer(3)), (2.0, sympy.Integer(2)), (0.25, sympy.Rational(1, 4)),
     (0.1, sympy.Rational(1, 10)), (-1.5, sympy.Rational(-3, 2)), (1e-7, sympy.Rational(1, 10**7))],
)
def test_numbers_are_exact(value, expected):
    assert number(value) == expected
    assert type(number(value)) is type(expected)


@pytest.mark.parametrize(
    "text, what",
    [("sum([1, 2]*(A @ v))", "a list"), ("A @ v", "'@'"), ("x*[1, 2]", "a list"),
     ("cross_entropy(x, 1)", "cross_entropy"), ("sum(transpose(A))", "transpose")],
)
def test_tensor_operations_are_refused_with_their_place(text, what):
    parsed = parse(text)
    with pytest.raises(NotScalar) as info:
        to_sympy(parsed.tree)
    assert info.value.what == what
    assert info.value.start is not None and text[info.value.start : info.value.end]
    assert not is_scalar(parsed.tree)


def test_a_variable_given_as_a_tensor_is_not_scalar():
    tree = parse("sum(x*y)").tree
    assert is_scalar(tree) and is_scalar(tree, {"x": ()})
    with pytest.raises(NotScalar, match="tensor variable x"):
        to_sympy(tree, {"x": (3,), "y": ()})
    assert not is_scalar(tree, {"x": (3,)})


def test_a_tree_deeper_than_the_parser_allows_builds():
    # Built by hand, beyond the parser's depth limit. (sympy's own assumption
    # queries recurse, so sympy, not this builder, bounds how deep a tree can go.)
    depth = 3 * Limits().max_depth
    tree = Var("x", 0, 1)
    for _ in range(depth):
        tree = Call("sin", (tree,), 0, 1)
    expr = to_sympy(tree)
    assert evaluate(expr, {x: 0.5}) == pytest.approx(_nested_sin(0.5, depth))


def _nested_sin(v: float, depth: int) -> float:
    for _ in range(depth):
        v = math.sin(v)
    return v


@pytest.mark.parametrize(
    "text",
    ["5*x**3 + 2*x**2 + 4*x + 8", "2**(x*y)", "sigmoid(x)*tanh(y) - x/y", "log(abs(x)) + exp(-y)",
     "sqrt(x)*pow(y, 3) + tan(x)", "cos(x**y)", "maximum(x, y)*minimum(x*y, 1)",
     "clamp(x*y, -1, 2) + mse(x, y)", "max(x) - min(y*y)"],
)
@pytest.mark.parametrize("at", [(0.7, 1.3), (2.0, -0.5), (1.5, 2.5)])
def test_agrees_with_the_independent_oracle(text, at):
    tree = parse(text).tree
    values = {"x": at[0], "y": at[1]}
    ours = to_sympy(tree)
    theirs = oracle.to_sympy(tree)
    expected = float(sympy.N(theirs.subs({oracle.symbol(k): v for k, v in values.items()})))
    assert float(evaluate(ours, {symbol(k): v for k, v in values.items()})) == pytest.approx(expected, rel=1e-9)
    for name in ("x", "y"):
        d = sympy.diff(theirs, oracle.symbol(name))
        expected_d = float(sympy.N(d.subs({oracle.symbol(k): v for k, v in values.items()})))
        got = float(evaluate(sympy.diff(ours, symbol(name)), {symbol(k): v for k, v in values.items()}))
        assert got == pytest.approx(expected_d, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    "expr, at, expected",
    [
        (sympy.log(x), -1.0, math.nan),
        (sympy.log(x), 0.0, -math.inf),
        (1 / x, 0.0, math.inf),
        (1 / (2 * sympy.sqrt(x)), 0.0, math.inf),
        (x * sympy.log(x), 0.0, math.nan),  # 0·(−inf), as PyTorch computes it
        (sympy.sign(x), 0.0, 0.0),
        (sympy.Heaviside(x), 0.0, 0.5),
        (sympy.cos(x), 0.0, 1.0),
    ],
)
def test_evaluates_with_ieee_arithmetic(expr, at, expected):
    got = float(evaluate(expr, {x: at}))
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == expected


def test_evaluates_arrays_element_wise():
    got = evaluate(x**2 * y, {x: np.array([1.0, 2.0, 3.0]), y: 2.0})
    assert got.tolist() == [2.0, 8.0, 18.0]


def test_a_symbol_without_a_value_is_an_error():
    with pytest.raises(KeyError):
        evaluate(x + y, {x: 1.0})
