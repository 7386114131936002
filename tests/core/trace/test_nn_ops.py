"""The operations of a first neural-network lesson, against independent oracles.

Forward values against numpy in float64 (tests/oracle.py evaluates the checked
tree itself), gradients against central finite differences, and the scalar
cases against sympy. Each refusal is a sentence naming the place.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import ExprError
from autograd_playground.core.trace.graph import trace
from tests.oracle import (
    evaluate,
    finite_difference_gradients,
    sympy_value_and_gradients,
)

V = [0.5, -1.0, 2.0]
W = [[1.0, 2.0], [0.0, 1.0], [3.0, -1.0]]
CASES = [
    ("sum(softmax(v)*w)", {"v": V, "w": [1.0, 0.0, 2.0]}),
    ("sum(log_softmax(v)*w)", {"v": V, "w": [1.0, 0.0, 2.0]}),
    ("logsumexp(v)", {"v": V}),
    ("sum(logsumexp(M))", {"M": W}),
    ("sum(softmax(M)*M)", {"M": W}),
    ("max(v)*min(v)", {"v": V}),
    ("max(M) - min(M)", {"M": W}),
    ("sum(maximum(v, 0.5)*minimum(v, w))", {"v": [0.1, 1.0, 2.0], "w": [0.0, 1.5, 1.0]}),
    ("sum(clamp(v, -0.5, 1)*v)", {"v": [-2.0, 0.25, 3.0]}),
    ("mse(w*v, t)", {"w": 1.5, "v": V, "t": [1.0, 1.0, 1.0]}),
    ("cross_entropy(M @ x, 2)", {"M": W, "x": [0.5, -0.25]}),
    ("cross_entropy(M @ x, k)", {"M": W, "x": [0.5, -0.25], "k": 0}),
    ("sum(transpose(M) @ v)", {"M": W, "v": V}),
    ("pi*x**2 + e**x", {"x": 1.25}),
]


@pytest.mark.parametrize("expr, inputs", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_agree_with_the_oracles(expr, inputs) -> None:
    parsed = parse(expr)
    grads = {name: name != "k" for name in inputs}
    result = trace(parsed, inputs, grads)
    assert result.output.value == pytest.approx(float(evaluate(parsed.tree, inputs)), rel=1e-5)
    wrt = [name for name in inputs if grads[name]]
    expected = finite_difference_gradients(parsed.tree, inputs, wrt)
    for name in wrt:
        assert np.allclose(result.gradients[name], expected[name], rtol=1e-3, atol=1e-4), name


@pytest.mark.parametrize(
    "expr, x, expected",
    [
        ("maximum(x, 1)*x", 2.0, 2 * 2.0),
        ("minimum(x, 1)*x", 2.0, 1.0),
        ("clamp(x, 0, 1)*x", 0.5, 1.0),
        ("clamp(x, 0, 1)*x", 3.0, 1.0),
        ("mse(x, 3)", 1.0, 2 * (1.0 - 3.0)),
        ("logsumexp(x) + max(x) + min(x)", 0.3, 3.0),
        ("softmax(x)*x + log_softmax(x)", 0.3, 1.0),
        ("pi*x + e", 2.0, math.pi),
    ],
)
def test_scalar_cases_agree_with_sympy(expr, x, expected) -> None:
    parsed = parse(expr)
    value, grads = sympy_value_and_gradients(parsed.tree, {"x": x}, ["x"])
    result = trace(parsed, {"x": x})
    assert result.output.value == pytest.approx(value, rel=1e-6)
    assert result.gradients["x"] == pytest.approx(grads["x"], rel=1e-5)
    assert grads["x"] == pytest.approx(expected)  # and sympy agrees with the hand-derived value


def test_pi_and_e_are_constants_not_variables() -> None:
    parsed = parse("pi*r**2 + e")
    assert parsed.variables == ("r",)
    assert parsed.normalized == "pi*r**2 + e"


@pytest.mark.parametrize(
    "expr, inputs, words",
    [
        ("cross_entropy(v, 3)", {"v": V}, "whole number from 0 to 2"),
        ("cross_entropy(v, 0.5)", {"v": V}, "whole number"),
        ("cross_entropy(v, -1)", {"v": V}, "whole number"),
        ("cross_entropy(M, 0)", {"M": W}, "vector of logits"),
        ("cross_entropy(v, k)", {"v": V, "k": 1.0}, "without requires_grad"),
        ("transpose(v)", {"v": V}, "needs a matrix"),
        ("clamp(x, 1, 0)", {"x": 0.5}, "above its high bound"),
        ("clamp(x, x, 1)", {"x": 0.5}, "must be numbers"),
        ("mse(v, w)", {"v": V, "w": [1.0, 2.0]}, "same shape"),
        ("sum(maximum(v, w))", {"v": V, "w": [1.0, 2.0]}, "do not fit"),
        ("softmax(v, 1)", {"v": V}, "takes 1 argument"),
    ],
)
def test_misuse_is_refused_with_a_sentence_and_a_place(expr, inputs, words) -> None:
    with pytest.raises(ExprError) as refused:
        trace(parse(expr), inputs)
    assert words in refused.value.message
    assert refused.value.start is not None
