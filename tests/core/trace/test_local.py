"""autograd_playground.core.trace.local: every step's rule is derived, printed as the student wrote it, and checked.

Oracles: the tests' own sympy builder (tests/oracle.py) for scalar functions, central
finite differences (also tests/oracle.py) for tensors, and formulas written out by
hand. Two checks per op:

- the shown local derivatives, evaluated by the app and multiplied along every path
  of the graph, give the oracle's gradient (so each formula is right, not only
  consistent with PyTorch), at several points;
- the app's own check against PyTorch agrees, and a deliberately wrong rule fails it.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import CONSTANTS, FUNCTIONS
from autograd_playground.core.trace import forms, numeric
from autograd_playground.core.trace.graph import trace
from tests import oracle

# One function per element-wise node class, each op on the variables directly.
SCALAR_OPS = {
    "AddBackward0": "x + y",
    "SubBackward0": "x - y",
    "RsubBackward1": "2 - x",
    "MulBackward0": "x*y",
    "DivBackward0": "x/y",
    "ReciprocalBackward0": "3/x",
    "NegBackward0": "-x",
    "PowBackward0": "x**3",
    "PowBackward1": "x**y",
    "PowBackward2": "2**x",
    "SinBackward0": "sin(x)",
    "CosBackward0": "cos(x)",
    "TanBackward0": "tan(x)",
    "ExpBackward0": "exp(x)",
    "LogBackward0": "log(x)",
    "SqrtBackward0": "sqrt(x)",
    "AbsBackward0": "abs(x)",
    "TanhBackward0": "tanh(x)",
    "SigmoidBackward0": "sigmoid(x)",
    "ReluBackward0": "relu(x)",
    "MaximumBackward0": "maximum(x, y)",
    "MinimumBackward0": "minimum(x, y)",
    "ClampBackward1": "clamp(x, 0.5, 1.8)",
}

# More spellings: constants on either side, pow(), nesting, powers of sums.
MORE_SCALAR = [
    "5*x**3 + 2*x**2 + 4*x + 8", "pow(3, x)", "2**(x*y)", "pow(x, 2.5)", "x**-2", "x/2",
    "1/x", "0.1*x", "x - 2", "2 + x", "sin(x)*x", "log(sqrt(x))", "(x + 1)**3*y",
    "exp(-x*y)/(1 + x**2)", "sigmoid(x*y) - tanh(x/y)", "abs(x - y) + relu(y - x)",
    "x**x", "x/x", "sqrt(2)*x", "pow(x, y)*cos(y)",
    "maximum(x, 1) + minimum(y, x)", "clamp(x*y, 0, 2)", "maximum(2, x*y)", "pi*x + e*y",
]

POINTS = [{"x": 0.7, "y": 1.3}, {"x": 2.0, "y": 0.5}, {"x": 1.5, "y": 2.5}]


def rules_by_step(t):
    """(step, target node id, rule) for every gradient a step sends."""
    return [
        (step, target, rule)
        for step in t.steps
        for target, rule in zip(step.targets, step.rules, strict=False)
        if target is not None and rule is not None
    ]


def gradients_from_the_shown_formulas(t) -> dict[str, float]:
    """Backward pass redone with the app's formulas: sum over paths of products of locals."""
    nodes = {n.id: n for n in t.nodes}
    grad = {t.nodes[0].id: 1.0}
    for step in t.steps:  # the engine's order is topological
        for target, rule in zip(step.targets, step.rules, strict=False):
            if target is None or rule is None:
                continue
            assert rule.kind == "local", (step.name, rule)
            grad[target] = grad.get(target, 0.0) + grad[step.node] * float(rule.value)
    return {nodes[i].variable: g for i, g in grad.items() if nodes[i].kind == "leaf"}


def check_against_the_oracle(text: str, at: dict[str, float]) -> None:
    parsed = parse(text)
    values = {name: at[name] for name in parsed.variables}
    t = trace(parsed, values)
    _, expected = oracle.sympy_value_and_gradients(parsed.tree, values, list(parsed.variables))
    ours = gradients_from_the_shown_formulas(t)
    for name in parsed.variables:
        assert ours[name] == pytest.approx(expected[name], rel=1e-5, abs=1e-6), (text, name)
    for step, _, rule in rules_by_step(t):
        assert rule.agrees is True, (text, step.name, rule)


@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
@pytest.mark.parametrize("at", POINTS, ids=["a", "b", "c"])
def test_each_element_wise_node_class_has_a_right_formula(name, at):
    text = SCALAR_OPS[name]
    t = trace(parse(text), {k: at[k] for k in parse(text).variables})
    assert name in {s.name for s in t.steps}
    check_against_the_oracle(text, at)


@pytest.mark.parametrize("text", MORE_SCALAR)
@pytest.mark.parametrize("at", POINTS, ids=["a", "b", "c"])
def test_formulas_compose_to_the_oracles_gradient(text, at):
    check_against_the_oracle(text, at)


@pytest.mark.parametrize(
    "text, inputs, grads, node, expected, where",
    [
        ("2**x", {"x": 3.0}, None, "PowBackward2", ["2^x·ln(2)"], {}),
        ("pow(3, x)", {"x": 3.0}, None, "PowBackward2", ["3^x·ln(3)"], {}),
        ("2**(x*y)", {"x": 1.0, "y": 2.0}, None, "PowBackward2", ["2^(x*y)·ln(2)"], {}),
        ("x**y", {"x": 2.0, "y": 3.0}, {"y": False}, "PowBackward1", ["y·x^(y − 1)"], {"y": 3.0}),
        ("x**y", {"x": 2.0, "y": 3.0}, None, "PowBackward1", ["y·x^(y − 1)", "x^y·ln(x)"], {}),
        ("1/x", {"x": 2.0}, None, "ReciprocalBackward0", ["−1/x²"], {}),
        ("2/x", {"x": 2.0}, None, "MulBackward0", ["2"], {}),
        ("x**3", {"x": 2.0}, None, "PowBackward0", ["3·x²"], {}),
        ("x**0.5", {"x": 4.0}, None, "PowBackward0", ["0.5/x^0.5"], {}),
        ("sqrt(x)", {"x": 4.0}, None, "SqrtBackward0", ["1/(2·√x)"], {}),
        ("x/y", {"x": 2.0, "y": 4.0}, None, "DivBackward0", ["1/y", "−x/y²"], {}),
        ("sigmoid(x)", {"x": 1.0}, None, "SigmoidBackward0", ["σ(x)·(1 − σ(x))"], {}),
        ("tanh(x)", {"x": 1.0}, None, "TanhBackward0", ["1 − tanh(x)²"], {}),
        ("relu(x)", {"x": 1.0}, None, "ReluBackward0", ["[x > 0]"], {}),
        ("abs(x)", {"x": 1.0}, None, "AbsBackward0", ["sign(x)"], {}),
        ("log(x)", {"x": 1.0}, None, "LogBackward0", ["1/x"], {}),
        ("cos(x + 1)", {"x": 1.0}, None, "CosBackward0", ["−sin(x + 1)"], {}),
        ("(x + 1)**2", {"x": 1.0}, None, "PowBackward0", ["2·(x + 1)"], {}),
        ("2 - x", {"x": 1.0}, None, "RsubBackward1", ["−1"], {}),
        ("x/0", {"x": 1.0}, None, "DivBackward0", ["1/0"], {}),
    ],
)
def test_formulas_read_as_the_student_wrote_the_operands(text, inputs, grads, node, expected, where):
    t = trace(parse(text), inputs, grads)
    step = next(s for s in t.steps if s.name == node)
    rules = [r for r in step.rules if r is not None]
    assert [r.formula for r in rules] == expected
    assert all(r.where == where for r in rules)
    assert all(r.agrees for r in rules)


@pytest.mark.parametrize(
    "text, inputs, node, formulas",
    [
        ("sum(A @ v)", {"A": [[1, 2], [3, 4]], "v": [1, 2]}, "MvBackward0", ["G·vᵀ", "Aᵀ·G"]),
        ("sum(A @ B)", {"A": [[1, 2], [3, 4]], "B": [[0, 1], [1, 0]]}, "MmBackward0",
         ["G·Bᵀ", "Aᵀ·G"]),
        ("sum(v @ A)", {"A": [[1, 2], [3, 4]], "v": [1, 2]}, "MmBackward0", ["G·Aᵀ", "vᵀ·G"]),
        ("v @ w", {"v": [1, 2], "w": [3, 5]}, "DotBackward0", ["g·w", "g·v"]),
        ("sum(T @ T)", {"T": [[[1, 2], [3, 4]], [[0, 1], [2, 1]]]}, "BmmBackward0",
         ["G·Tᵀ", "Tᵀ·G"]),
        ("sum(v*v)", {"v": [1, 2, 3]}, "SumBackward0", ["g·1"]),
        ("mean(v*v)", {"v": [1, 2, 3]}, "MeanBackward0", ["g·1/n"]),
        ("sum((A @ B) @ v)", {"A": [[1, 2], [3, 4]], "B": [[0, 1], [1, 0]], "v": [1, 2]},
         "MvBackward0", ["G·vᵀ", "(A @ B)ᵀ·G"]),
    ],
)
def test_tensor_ops_name_the_rule_pytorch_applies(text, inputs, node, formulas):
    t = trace(parse(text), inputs)
    step = next(s for s in t.steps if s.name == node)
    rules = [r for r in step.rules if r is not None]
    assert [r.formula for r in rules] == formulas
    assert all(r.kind != "local" and r.agrees for r in rules), rules
    # The rule, computed from what arrived, is what PyTorch sent.
    for rule, sent in zip(rules, [g for g in step.grad_inputs if g is not None], strict=False):
        assert np.allclose(np.array(rule.value, dtype=float), np.array(sent, dtype=float))


@pytest.mark.parametrize(
    "text, inputs",
    [
        ("sum([1, 2]*(A @ v))", {"A": [[1, 2], [3, 4]], "v": [1, 2]}),
        ("mean(v**2 + 3*v)", {"v": [1, 2, 3]}),
        ("sum(x*v) + x", {"x": 2.0, "v": [1, 2, 3]}),
        ("sum(sin(v)/w - 2**v)", {"v": [0.5, 1.5], "w": [2, 3]}),
        ("sum(T @ v)", {"T": [[[1, 2], [3, 4]]], "v": [1, 2]}),
        ("sum(v @ T)", {"T": [[[1, 2], [3, 4]]], "v": [1, 2]}),
        ("sum(T @ U)", {"T": [[[1, 2], [3, 4]], [[0, 1], [2, 1]]], "U": [[[1, 0], [0, 2]]]}),
        ("mean(Q @ T)", {"Q": [[[[1, 2], [3, 4]]]], "T": [[[1, 2], [3, 4]], [[0, 1], [1, 0]]]}),
        ("sum(relu(v - 1)*abs(v))", {"v": [0.5, 1.5, 2.0]}),
        ("sum(pow(v, x))", {"v": [1.5, 2.0], "x": 2.0}),
    ],
)
def test_every_node_of_tensor_functions_has_a_rule_that_agrees(text, inputs):
    t = trace(parse(text), inputs)
    for step in t.steps:
        assert step.name in forms.KNOWN, step.name
        if step.name == "AccumulateGrad":
            continue
        for target, sent, rule in zip(step.targets, step.grad_inputs, step.rules, strict=False):
            if target is None or sent is None:
                continue
            assert rule is not None and rule.agrees is True, (step.name, rule)
    # And the gradients themselves are right (finite differences).
    parsed = parse(text)
    fd = oracle.finite_difference_gradients(parsed.tree, inputs, list(parsed.variables))
    for v in t.variables:
        assert np.allclose(np.array(v.grad, dtype=float), fd[v.name], rtol=1e-3, atol=1e-3)


def every_op_expression():
    """One function per op and whitelisted function, as scalars and as tensors."""
    scalar = list(SCALAR_OPS.values()) + MORE_SCALAR
    tensor = ["sum(" + re.sub(r"\bx\b", "v", f) + ")" for f in SCALAR_OPS.values() if "y" not in f]
    return [(s, {"x": 1.5, "y": 0.5}) for s in scalar] + [(s, {"v": [0.5, 2.0]}) for s in tensor]


# One function per function and constant of the language, with tensors where the op
# wants them: a new function without an entry here fails the tests below.
EVERY_FUNCTION = {
    "sin": ("sum(sin(v))", {"v": [0.5, 2.0]}),
    "cos": ("sum(cos(v))", {"v": [0.5, 2.0]}),
    "tan": ("sum(tan(v))", {"v": [0.5, 1.0]}),
    "exp": ("sum(exp(v))", {"v": [0.5, 2.0]}),
    "log": ("sum(log(v))", {"v": [0.5, 2.0]}),
    "sqrt": ("sum(sqrt(v))", {"v": [0.5, 2.0]}),
    "abs": ("sum(abs(v))", {"v": [-0.5, 2.0]}),
    "tanh": ("sum(tanh(v))", {"v": [0.5, 2.0]}),
    "sigmoid": ("sum(sigmoid(v))", {"v": [0.5, 2.0]}),
    "relu": ("sum(relu(v))", {"v": [-0.5, 2.0]}),
    "pow": ("sum(pow(v, 3))", {"v": [0.5, 2.0]}),
    "sum": ("sum(v*v)", {"v": [0.5, 2.0]}),
    "mean": ("mean(v*v)", {"v": [0.5, 2.0]}),
    "softmax": ("sum(softmax(v)*[1, 2, 4])", {"v": [0.5, 2.0, -1.0]}),
    "log_softmax": ("sum(log_softmax(A)*[[1, 2], [3, 1]])", {"A": [[0.5, 2.0], [1.0, -1.0]]}),
    "logsumexp": ("sum(logsumexp(A)*[1, 3])", {"A": [[0.5, 2.0], [1.0, -1.0]]}),
    "max": ("max(v*v)", {"v": [0.5, -2.0, 1.0]}),
    "min": ("min(v*w)", {"v": [0.5, -2.0, 1.0], "w": [1, 2, 3]}),
    "maximum": ("sum(maximum(v, w))", {"v": [0.5, 2.0, 1.0], "w": [1, 1, 1]}),
    "minimum": ("sum(minimum(v, w)*[1, 2, 3])", {"v": [0.5, 2.0, 1.0], "w": [1, 1, 1.5]}),
    "clamp": ("sum(clamp(v, 0, 1)*[1, 2, 3])", {"v": [0.5, 2.0, -1.0]}),
    "mse": ("mse(v, w)", {"v": [0.5, 2.0, 1.0], "w": [1, 1, 1.5]}),
    "cross_entropy": ("cross_entropy(v*2, 1)", {"v": [0.5, 2.0, -1.0]}),
    "transpose": ("sum(transpose(A) @ v)", {"A": [[1, 2], [3, 4]], "v": [1, 2]}),
    "pi": ("sum(pi*v)", {"v": [0.5, 2.0]}),
    "e": ("sum(e**v)", {"v": [0.5, 2.0]}),
}


def test_every_function_and_constant_of_the_language_has_a_case():
    assert set(EVERY_FUNCTION) == set(FUNCTIONS) | set(CONSTANTS)


@pytest.mark.parametrize("name", sorted(EVERY_FUNCTION))
def test_every_function_of_the_language_has_rules_that_agree(name):
    text, inputs = EVERY_FUNCTION[name]
    t = trace(parse(text), inputs)
    for step in t.steps:
        assert step.name in forms.KNOWN, step.name
        for target, sent, rule in zip(step.targets, step.grad_inputs, step.rules or (), strict=False):
            if target is None or sent is None:
                continue
            assert rule is not None and rule.agrees is True, (step.name, rule)
            assert rule.kind != "unknown" and "?" not in rule.formula, (step.name, rule)
            # The rule's own number is PyTorch's sent gradient, not only "agrees".
            if rule.kind != "local":
                assert np.allclose(np.array(rule.value, dtype=float), np.array(sent, dtype=float))
    parsed = parse(text)
    fd = oracle.finite_difference_gradients(parsed.tree, inputs, list(parsed.variables))
    for v in t.variables:
        assert np.allclose(np.array(v.grad, dtype=float), fd[v.name], rtol=1e-3, atol=1e-3)


def test_every_node_class_the_language_makes_is_known():
    seen = set()
    cases = every_op_expression() + list(EVERY_FUNCTION.values())
    for text, inputs in cases:
        parsed = parse(text)
        t = trace(parsed, {k: inputs[k] for k in parsed.variables})
        seen |= {n.name for n in t.nodes}
    seen |= {"MvBackward0", "MmBackward0", "DotBackward0", "BmmBackward0"}
    assert seen <= forms.KNOWN
    assert set(forms.FORMS) <= seen  # every form is reachable from the language


# --- the check catches a wrong rule ------------------------------------------------


@pytest.fixture
def wrong_sine(monkeypatch):
    """sin's form replaced by cos: its derivative would read −sin(x), which is wrong."""
    monkeypatch.setitem(forms.FORMS, "SinBackward0", lambda: sympy.cos(forms.P[0]))
    forms.derived.cache_clear()
    yield
    forms.derived.cache_clear()


def test_a_wrong_local_rule_fails_the_check(wrong_sine):
    t = trace(parse("sin(x)"), {"x": 0.5})
    rule = next(s for s in t.steps if s.name == "SinBackward0").rules[0]
    assert rule.formula == "−sin(x)"
    assert rule.agrees is False
    assert rule.value == pytest.approx(-math.sin(0.5))
    assert rule.torch == pytest.approx(math.cos(0.5))


def test_a_wrong_tensor_rule_fails_the_check(monkeypatch):
    real = numeric.apply
    monkeypatch.setattr(numeric, "apply", lambda kind, i, g, saved, shape: 2 * real(kind, i, g, saved, shape))
    t = trace(parse("sum(A @ v)"), {"A": [[1, 2], [3, 4]], "v": [1, 2]})
    rules = [r for s in t.steps if s.name == "MvBackward0" for r in s.rules if r]
    assert rules and all(r.agrees is False for r in rules)


@pytest.mark.parametrize(
    "ours, theirs, same",
    [(1.0, 1.0 + 1e-7, True), (1.0, 1.01, False), (math.inf, math.inf, True),
     (math.nan, math.nan, True), (math.inf, -math.inf, False), (1e39, math.inf, False),
     ([1.0, 2.0], [1.0, 2.0], True), ([1.0, 2.0], [1.0, 2.5], False)],
)
def test_the_check_compares_within_float32_tolerance(ours, theirs, same):
    assert numeric.close(ours, theirs) is same


# --- non-differentiable points, domains, inf and nan ---------------------------------


@pytest.mark.parametrize(
    "text, x, node, note, local_value",
    [
        ("relu(x)", 0.0, "ReluBackward0", "relu-at-zero", 0.0),
        ("abs(x)", 0.0, "AbsBackward0", "abs-at-zero", 0.0),
        ("sqrt(x)", 0.0, "SqrtBackward0", "sqrt-at-zero", math.inf),
        ("log(x)", -1.0, "LogBackward0", "outside-domain", -1.0),
        ("log(x)", 0.0, "LogBackward0", "log-at-zero", math.inf),
        ("1/x", 0.0, "ReciprocalBackward0", "division-by-zero", -math.inf),
    ],
)
def test_non_differentiable_points_and_domains_are_flagged(text, x, node, note, local_value):
    t = trace(parse(text), {"x": x})
    rule = next(s for s in t.steps if s.name == node).rules[0]
    assert note in rule.notes
    value = float(rule.value) if not isinstance(rule.value, str) else float(rule.value)
    assert value == local_value
    assert rule.agrees is True


MAX_RULES = ["[x > y] + ½·[x = y]", "[y > x] + ½·[y = x]"]


@pytest.mark.parametrize(
    "text, inputs, node, formulas, local_values, note",
    [
        # A tie: PyTorch splits the gradient, half to each side (sympy's step is 1/2 at 0),
        # which the formula says, rather than a bracket [x > y] that is 0 at the tie.
        ("maximum(x, y)", {"x": 1.5, "y": 1.5}, "MaximumBackward0", MAX_RULES,
         [0.5, 0.5], "tie-split"),
        ("minimum(x, 2)", {"x": 2.0}, "MinimumBackward0", ["[x < 2] + ½·[x = 2]"], [0.5],
         "tie-split"),
        ("maximum(x, y)", {"x": 2.5, "y": 1.5}, "MaximumBackward0", MAX_RULES, [1.0, 0.0], None),
        # On a bound of clamp PyTorch lets the gradient through: 1, not 1/2.
        ("clamp(x, 0, 1)", {"x": 1.0}, "ClampBackward1", ["[x ≥ 0]·[x ≤ 1]"], [1.0],
         "clamp-at-bound"),
        ("clamp(x, 0, 1)", {"x": 0.0}, "ClampBackward1", ["[x ≥ 0]·[x ≤ 1]"], [1.0],
         "clamp-at-bound"),
        ("clamp(x, 0, 1)", {"x": 1.5}, "ClampBackward1", ["[x ≥ 0]·[x ≤ 1]"], [0.0], None),
    ],
)
def test_ties_and_bounds_say_which_subgradient_pytorch_picks(
    text, inputs, node, formulas, local_values, note
):
    t = trace(parse(text), inputs)
    step = next(s for s in t.steps if s.name == node)
    rules = [r for r in step.rules if r is not None]
    assert [r.formula for r in rules] == formulas
    assert [r.value for r in rules] == local_values
    assert all(r.agrees for r in rules)
    assert all((note in r.notes) if note else not r.notes for r in rules)


def test_max_of_a_tensor_splits_the_gradient_evenly_between_ties():
    # torch 2.13: max(t) of the whole tensor sends g/m to each of the m largest elements.
    t = trace(parse("max(v)"), {"v": [1.0, 3.0, 3.0]})
    step = next(s for s in t.steps if s.name == "MaxBackward1")
    (rule,) = [r for r in step.rules if r is not None]
    assert rule.value == [0.0, 0.5, 0.5] and rule.agrees and "tie-split" in rule.notes
    assert t.variables[0].grad == [0.0, 0.5, 0.5]


def test_mse_and_cross_entropy_say_what_n_and_k_are():
    t = trace(parse("mse(p, q)"), {"p": [1.0, 2.0, 4.0], "q": [0.0, 2.0, 1.0]})
    step = next(s for s in t.steps if s.name == "MseLossBackward0")
    pred, target = step.rules
    assert pred.formula == "2·(p − q)/n·g" and pred.where == {"n": 3.0}
    assert pred.value == pytest.approx([2 / 3, 0.0, 2.0])  # 2(p − q)/3
    assert target.formula == "−2·(p − q)/n·g" and target.value == pytest.approx([-2 / 3, 0.0, -2.0])
    t = trace(parse("cross_entropy(v, 2)"), {"v": [0.5, 1.0, -1.0]})
    step = next(s for s in t.steps if s.name == "NllLossBackward0")
    (rule,) = [r for r in step.rules if r is not None]
    assert rule.formula == "−g at index k" and rule.where == {"k": 2.0}
    assert rule.value == [0.0, 0.0, -1.0]


@pytest.mark.parametrize(
    "text, formula",
    [
        ("mse(w*x, q)", "2·(w*x − q)/n·g"),  # a product needs no parentheses in a difference
        ("mse(w*x - 1, q + 1)", "2·(w*x - 1 − (q + 1))/n·g"),  # only the sum after the minus
        ("mse(w*x, -q)", "2·(w*x − (-q))/n·g"),
        ("mse(w*x, 2*q)", "2·(w*x − 2*q)/n·g"),
    ],
)
def test_mses_rule_puts_parentheses_only_where_the_difference_needs_them(text, formula):
    values = {"w": [1.0, 2.0, 4.0], "x": [1.0, 1.0, 0.5], "q": [0.0, 2.0, 1.0]}
    t = trace(parse(text), values)
    step = next(s for s in t.steps if s.name == "MseLossBackward0")
    first = next(r for r in step.rules if r is not None)
    assert first.formula == formula and first.agrees


def test_where_inf_arrives_the_real_arithmetic_is_shown():
    # log(sqrt(x)) at 0: log sends 1/0 = inf; sqrt's local derivative is 1/(2·√0) = inf.
    t = trace(parse("log(sqrt(x))"), {"x": 0.0})
    sqrt = next(s for s in t.steps if s.name == "SqrtBackward0")
    assert sqrt.grad_outputs == ("inf",)
    assert sqrt.rules[0].value == "inf"  # not nan, as inf/inf would say
    assert sqrt.local_derivatives == ("inf",)
    assert "inf-arrived" in sqrt.rules[0].notes and "sqrt-at-zero" in sqrt.rules[0].notes


def test_the_local_derivative_does_not_need_a_nonzero_gradient_to_arrive():
    t = trace(parse("sin(x)*x"), {"x": 0.0})
    sine = next(s for s in t.steps if s.name == "SinBackward0")
    assert sine.grad_outputs == (0.0,)
    assert sine.rules[0].formula == "cos(x)" and sine.rules[0].value == 1.0
    assert sine.local_derivatives == (1.0,)


def test_mean_says_what_n_is():
    t = trace(parse("mean(v)"), {"v": [1.0, 2.0, 3.0, 4.0]})
    rule = t.steps[0].rules[0]
    assert rule.formula == "g·1/n" and rule.where == {"n": 4.0}
    assert rule.value == [0.25] * 4


def test_broadcasting_sums_what_every_element_sends():
    t = trace(parse("sum(x*v)"), {"x": 2.0, "v": [1.0, 2.0, 3.0]})
    mul = next(s for s in t.steps if s.name == "MulBackward0")
    to_x = mul.rules[mul.targets.index(next(n.id for n in t.nodes if n.variable == "x"))]
    assert to_x.formula == "v" and to_x.value == [1.0, 2.0, 3.0]
    assert "broadcast" in to_x.notes
    assert mul.grad_inputs[mul.targets.index(next(n.id for n in t.nodes if n.variable == "x"))] == 6.0


def test_derived_forms_are_cached_per_op_not_per_text():
    forms.derived.cache_clear()
    trace(parse("5*x**3 + 1"), {"x": 2.0})
    misses = forms.derived.cache_info().misses
    trace(parse("5 * x^3+1"), {"x": 7.0})  # another spelling, another value
    assert forms.derived.cache_info().misses == misses
