"""The chain rule's line, arrived · local = sent, is PyTorch's own float32 arithmetic (issue 23).

The oracle is IEEE float32 itself: numpy multiplies the step's numbers in float32,
and the product must be exactly what PyTorch sent (nan matching nan), or the rule
carries the ``kernel-order`` note that says PyTorch computed it otherwise. The line
prints those numbers with the step's one number writer (explain.brief). The local
derivative's own line keeps the mathematical value, with its ✗ and note.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.core.pipeline import compute
from autograd_playground.core.result import from_json
from autograd_playground.core.teach import explain
from autograd_playground.core.trace import numeric
from autograd_playground.core.trace.graph import trace
from tests.core.trace.test_local import MORE_SCALAR, SCALAR_OPS


def f32(value) -> np.ndarray:
    """A record's value as float32: its "inf"/"nan" strings too."""
    if isinstance(value, list):
        return np.array([f32(v) for v in value], dtype=np.float32)
    return np.float32(float(value))


def exactly(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    return a.shape == b.shape and bool(((a == b) | (np.isnan(a) & np.isnan(b))).all())


def chain_lines(steps):
    """Every (arrived, local shown, sent, rule) of a local rule whose chain line the page shows."""
    for step in steps:
        for rule, sent in zip(step.rules, step.grad_inputs, strict=False):
            if rule is None or rule.kind != "local" or rule.value is None or "broadcast" in rule.notes:
                continue
            yield step.grad_outputs[0], rule.torch, sent, rule


KERNEL_NOTES = {"kernel-order", "kernel-own"}


def check_chain(steps) -> int:
    """Assert every chain line holds in float32, or says why not; return how many said so.

    ``kernel-order``: the product differs from what was sent by float32 rounding only;
    ``kernel-own``: PyTorch set what it sent (0 where nan · 0 would be nan)."""
    differing = 0
    for arrived, shown, sent, rule in chain_lines(steps):
        with np.errstate(all="ignore"):  # 0 · inf is nan, as in PyTorch
            product = f32(arrived) * f32(shown)
        holds = exactly(product, f32(sent))
        assert holds == (not KERNEL_NOTES & set(rule.notes)), (arrived, shown, sent, rule)
        if "kernel-order" in rule.notes:
            assert np.allclose(product, f32(sent), rtol=4e-7, atol=0), (arrived, shown, sent)
        if "kernel-own" in rule.notes:
            assert not np.allclose(product, f32(sent), rtol=1e-6, atol=0, equal_nan=True)
        differing += not holds
    return differing


# The symptoms of issue 23: the float64 formula overflows where float32 holds inf.
SYMPTOMS = [
    # (function, inputs, node, the chain line as the page prints it)
    ("exp(x)", {"x": 100.0}, "ExpBackward0", "1 · inf = inf"),
    ("0*exp(x)", {"x": 100.0}, "ExpBackward0", "0 · inf = nan"),
    ("x**3", {"x": -1e20}, "PowBackward0", "1 · inf = inf"),  # 3·(1e40 → inf in float32)
    ("1/x", {"x": 1e-30}, "ReciprocalBackward0", "1 · -inf = -inf"),
]


@pytest.mark.parametrize("expression, inputs, node, line", SYMPTOMS, ids=[s[0] for s in SYMPTOMS])
def test_the_chain_line_multiplies_float32s_numbers(expression, inputs, node, line):
    result = from_json(compute(expression, inputs))
    step = next(s for s in result.steps if s.name == node)
    rule = step.rules[0]
    # The local derivative's line keeps the mathematics: finite in float64, a ✗ with its note.
    assert rule.agrees is False and "float32-overflow" in rule.notes
    assert isinstance(rule.value, float) and np.isfinite(rule.value)
    view = next(v for v in explain.steps(result) if v.node == step.node)
    (out,) = view.sent
    assert out.chain == explain.brief(rule.torch) and out.value == explain.brief(step.grad_inputs[0])
    assert f"{view.arrived} · {out.chain} = {out.value}" == line
    assert check_chain(result.steps) == 0


POINTS = [{"x": 0.7, "y": 1.3}, {"x": -1.9, "y": 0.45}, {"x": 2.0, "y": 3.0}, {"x": 0.0, "y": 0.0}]
FUNCTIONS = list(SCALAR_OPS.values()) + MORE_SCALAR


@pytest.mark.parametrize("expression", FUNCTIONS)
def test_every_chain_line_holds_in_float32_or_says_why(expression):
    # A factor in front makes what arrives other than 1, as inside any larger function.
    for point in POINTS:
        check_chain(trace(parse(f"1.37*({expression})"), point).steps)
        check_chain(trace(parse(f"sin(y)*({expression})"), point).steps)


def test_tensors_are_checked_element_by_element():
    t = trace(parse("sum(exp(v)*w) + sum(sqrt(v)/w)"), {"v": [0.5, 100.0, 2.0], "w": [3.0, 0.0, 1.7]})
    check_chain(t.steps)
    exp = next(s for s in t.steps if s.name == "ExpBackward0")
    assert exp.rules[0].torch[1] == "inf" and exp.grad_inputs[0][1] == "nan"  # 0 · inf


def test_a_kernel_that_divides_is_named_not_shown_as_a_false_product():
    # sqrt sends arrived / (2·√x): at x = 2 with 3 arriving that is one rounding away
    # from 3 · (1/(2·√2)) in float32 (checked by numpy here, not assumed).
    result = from_json(compute("3*sqrt(x)", {"x": 2.0}))
    step = next(s for s in result.steps if s.name == "SqrtBackward0")
    local32 = np.float32(1) / (np.float32(2) * np.sqrt(np.float32(2)))
    assert f32(step.rules[0].torch) == local32
    assert np.float32(3) * local32 != f32(step.grad_inputs[0])
    assert np.float32(3) / (np.float32(2) * np.sqrt(np.float32(2))) == f32(step.grad_inputs[0])
    assert "kernel-order" in step.rules[0].notes and step.rules[0].agrees is True
    assert check_chain(result.steps) == 1


def test_a_multiplying_kernel_never_gets_the_note():
    for point in POINTS:
        for expression in ("1.37*exp(x)", "sin(y)*tanh(x)", "1.37*x**3", "sin(y)*cos(x)*x"):
            assert check_chain(trace(parse(expression), point).steps) == 0


def test_a_kernel_that_sets_what_it_sends_shows_no_product():
    # relu at −1 with −inf arriving (from log(0)): −inf · 0 is nan, but PyTorch sends 0.
    result = from_json(compute("relu(x)*log(y)", {"x": -1.0, "y": 0.0}))
    step = next(s for s in result.steps if s.name == "ReluBackward0")
    assert step.grad_outputs == ("-inf",) and step.grad_inputs == (0.0,) and step.rules[0].torch == 0.0
    assert "kernel-own" in step.rules[0].notes
    assert "inf-arrived" not in step.rules[0].notes  # its "inf times 0 is nan" is not what happened
    assert check_chain(result.steps) == 1


def test_chain_parting_is_exact_and_matches_nan():
    assert numeric.chain_parting(0.0, np.inf, np.nan) is None
    assert numeric.chain_parting(np.array([1.0, 0.0]), np.array([np.inf, np.inf]),
                                 np.array([np.inf, np.nan])) is None
    next_up = float(np.nextafter(np.float32(2), np.float32(3)))
    assert numeric.chain_parting(1.0, 2.0, next_up) == "kernel-order"
    assert numeric.chain_parting(np.nan, 0.0, 0.0) == "kernel-own"
    assert numeric.chain_parting(np.ones(2), np.ones(2), np.ones(3)) == "kernel-own"
