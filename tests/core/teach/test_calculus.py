"""autograd_playground.core.teach.calculus: dy/dx beside autograd, as a formula or a finite difference.

Every expected number is derived by hand in the comment or the lambda next to
it, or comes from the tests' own sympy oracle (tests/oracle.py), never from the
app's symbolic module. The lesson's function is 5*x**3 + 2*x**2 + 4*x + 8:
dy/dx = 15x² + 4x + 4 = 72 at x = 2.
"""

from __future__ import annotations

import gc
import math
import re
import signal
import sys
import time

import numpy as np
import pytest
import sympy

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import Extras
from autograd_playground.core.pipeline import compute
from autograd_playground.core.teach import calculus, deadline
from autograd_playground.core.trace.graph import trace
from autograd_playground.core.trace.symbolic import evaluate, symbol
from autograd_playground.web.markup import inline_mathml
from tests import oracle

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"


def sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# (function, point, {variable: hand-derived derivative as a function of the point}).
# Every whitelisted function of language.FUNCTIONS is here at least once.
HAND = [
    (LESSON, {"x": 2.0}, {"x": lambda x: 15 * x**2 + 4 * x + 4}),
    ("sin(x)", {"x": 0.7}, {"x": lambda x: math.cos(x)}),
    ("cos(x)", {"x": 0.7}, {"x": lambda x: -math.sin(x)}),
    ("tan(x)", {"x": 0.7}, {"x": lambda x: 1 / math.cos(x) ** 2}),
    ("exp(x)", {"x": 0.7}, {"x": lambda x: math.exp(x)}),
    ("log(x)", {"x": 0.7}, {"x": lambda x: 1 / x}),
    ("sqrt(x)", {"x": 0.7}, {"x": lambda x: 1 / (2 * math.sqrt(x))}),
    ("abs(x)", {"x": -0.7}, {"x": lambda x: -1.0}),
    ("tanh(x)", {"x": 0.7}, {"x": lambda x: 1 - math.tanh(x) ** 2}),
    ("sigmoid(x)", {"x": 0.7}, {"x": lambda x: sig(x) * (1 - sig(x))}),
    ("relu(x)", {"x": 0.7}, {"x": lambda x: 1.0}),
    ("relu(x)", {"x": -0.7}, {"x": lambda x: 0.0}),
    ("pow(x, 3)", {"x": 0.7}, {"x": lambda x: 3 * x**2}),
    ("sum(x*x)", {"x": 0.7}, {"x": lambda x: 2 * x}),
    ("mean(3*x)", {"x": 0.7}, {"x": lambda x: 3.0}),
    ("2**x", {"x": 3.0}, {"x": lambda x: 2**x * math.log(2)}),
    ("1/x", {"x": 0.5}, {"x": lambda x: -1 / x**2}),
    ("x**2*y + sin(y)", {"x": 3.0, "y": 0.5},
     {"x": lambda x, y: 2 * x * y, "y": lambda x, y: x**2 + math.cos(y)}),
    ("x**y", {"x": 2.0, "y": 3.0},
     {"x": lambda x, y: y * x ** (y - 1), "y": lambda x, y: x**y * math.log(x)}),
]


def f32(value: float) -> float:
    """The input as PyTorch holds it (float32): the formula is evaluated there."""
    return float(np.float32(value))


def symbolic(expression: str, inputs: dict) -> dict:
    return compute(expression, inputs, extras=Extras(symbolic=True))


@pytest.mark.parametrize("expression, point, derivatives", HAND, ids=[h[0] + str(h[1]) for h in HAND])
def test_dy_dx_at_the_inputs_is_the_hand_derived_value_and_agrees_with_autograd(
    expression, point, derivatives
):
    data = symbolic(expression, point)["symbolic"]
    assert data["kind"] == "formula" and data["reason"] is None
    by_name = {d["variable"]: d for d in data["derivatives"]}
    assert set(by_name) == set(derivatives)
    for name, hand in derivatives.items():
        expected = hand(*map(f32, point.values()))
        assert by_name[name]["value"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        assert by_name[name]["grad"] == pytest.approx(expected, rel=1e-5, abs=1e-6)
        assert by_name[name]["agrees"] is True
        assert by_name[name]["mathml"].startswith("<math")


@pytest.mark.parametrize("expression, point, derivatives", HAND, ids=[h[0] + str(h[1]) for h in HAND])
def test_the_formula_is_the_derivative_everywhere_not_only_at_the_inputs(
    expression, point, derivatives
):
    """The shown formula, evaluated at other points, still matches the hand derivative."""
    parsed = parse(expression)
    forms = {f.variable: f for f in calculus.forms(parsed, tuple(derivatives))}
    for shift in (0.13, 0.61):
        moved = {name: value + shift for name, value in point.items()}
        at = {symbol(name): value for name, value in moved.items()}
        for name, hand in derivatives.items():
            value = float(evaluate(forms[name].expr, at))
            assert value == pytest.approx(hand(*moved.values()), rel=1e-9, abs=1e-12)


def test_the_lessons_derivative_reads_as_a_student_writes_it():
    (d,) = symbolic(LESSON, {"x": 2})["symbolic"]["derivatives"]
    assert d["text"] == "15*x**2 + 4*x + 4"
    assert d["simplified"] is True
    numbers = re.findall(r"<mn>([^<]*)</mn>", d["mathml"])
    assert numbers == ["15", "2", "4", "4"]


def test_relu_at_zero_uses_the_subgradient_pytorch_picks():
    (d,) = symbolic("relu(x)", {"x": 0.0})["symbolic"]["derivatives"]
    assert d["value"] == 0.0 and d["grad"] == 0.0 and d["agrees"] is True


def test_a_simplified_form_never_brings_in_functions_the_student_did_not_write():
    (d,) = symbolic("sigmoid(x)", {"x": 0.3})["symbolic"]["derivatives"]
    assert "cosh" not in d["text"]


def test_forms_are_kept_per_normalized_function():
    first = calculus.forms(parse("x^5 + 0.25"), ("x",))
    again = calculus.forms(parse("x**5+0.25"), ("x",))
    assert again is first
    assert first[0].text == "5*x**4"


def test_the_formulas_kept_stay_under_their_byte_bound(monkeypatch):
    bound = 8_000  # a few of these functions' entries, not all twenty
    monkeypatch.setattr(calculus, "_FORMS", calculus.new_forms_cache(bound))
    functions = [parse(f"sin({k}*x)*x**{k}") for k in range(2, 22)]
    for parsed in functions:
        calculus.forms(parsed, ("x",))
        held = list(calculus._FORMS.values())
        assert sum(calculus.form_bytes(entry) for entry in held) <= bound
    # The estimate counts at least every character an entry holds.
    for function, made in held:
        assert calculus.form_bytes((function, made)) >= len(function) + sum(
            len(f.text) + len(f.mathml) for f in made)
    assert 1 < len(held) < len(functions)
    assert (functions[-1].normalized, ("x",)) in calculus._FORMS  # the newest stays
    assert (functions[0].normalized, ("x",)) not in calculus._FORMS  # the oldest went


def test_a_formula_larger_than_the_whole_bound_is_given_but_not_kept(monkeypatch):
    monkeypatch.setattr(calculus, "_FORMS", calculus.new_forms_cache(100))
    (form,) = calculus.forms(parse("x**5 + 0.25"), ("x",))
    assert form.text == "5*x**4"
    assert len(calculus._FORMS) == 0


def test_a_large_derivative_is_shown_unsimplified():
    # d/dx of a product of 8 different factors has 8 terms of 8 factors: over the bound.
    expression = "*".join(f"sin({k}*x)" for k in range(1, 9))
    (form,) = calculus.forms(parse(expression), ("x",))
    assert sympy.count_ops(form.expr) > calculus.SIMPLIFY_MAX_OPS
    assert form.simplified is False
    # Unsimplified is still right: the oracle's own derivative at a point.
    at = 0.3
    exact = sympy.diff(oracle.to_sympy(parse(expression).tree), oracle.symbol("x"))
    assert float(evaluate(form.expr, {symbol("x"): at})) == pytest.approx(
        float(exact.subs(oracle.symbol("x"), at)), rel=1e-9
    )


def test_simplify_gives_up_at_its_deadline(monkeypatch):
    """A simplification over its time is dropped for the unsimplified form (main thread)."""
    monkeypatch.setattr(calculus, "SIMPLIFY_SECONDS", 1e-6)
    x = symbol("x")
    derivative = sympy.diff(sympy.sin(x) ** 2 * sympy.cos(x) / (1 + sympy.exp(-x)), x)
    shown, simplified = calculus.simplest(derivative)
    assert simplified is False and shown is derivative


def test_tensor_functions_are_compared_with_a_central_finite_difference():
    data = symbolic("mean((w*x - t)**2)", {"w": 1.5, "x": [1, 2, 3], "t": [2, 4, 6]})["symbolic"]
    assert data["kind"] == "finite_difference"
    assert data["reason"] == calculus.NO_FORMULA_TENSOR
    by_name = {d["variable"]: d for d in data["derivatives"]}
    # By hand: w*x - t = [-0.5, -1, -1.5]; d/dw = mean(2(wx - t)x) = (-1 - 4 - 9)/3.
    assert by_name["w"]["value"] == pytest.approx(-14 / 3, rel=1e-6)
    # d/dx_i = 2(wx_i - t_i)w/3 = [-0.5, -1, -1.5]; d/dt_i = -2(wx_i - t_i)/3.
    assert by_name["x"]["value"] == pytest.approx([-0.5, -1.0, -1.5], rel=1e-6)
    assert by_name["t"]["value"] == pytest.approx([1 / 3, 2 / 3, 1.0], rel=1e-6)
    assert all(d["agrees"] and d["text"] is None for d in data["derivatives"])


@pytest.mark.parametrize(
    "expression, inputs",
    [("cross_entropy(v*w, 1)", {"w": 1.5, "v": [0.5, 2.0, -1.0]}),
     ("sum(softmax(v)*[1, 2, 3])", {"v": [0.5, 2.0, -1.0]}),
     ("sum(transpose(A) @ v)", {"A": [[1, 2], [3, 4]], "v": [1.0, 2.0]})],
)
def test_the_lessons_tensor_functions_fall_back_to_finite_differences(expression, inputs):
    data = symbolic(expression, inputs)["symbolic"]
    assert data["kind"] == "finite_difference" and data["reason"] == calculus.NO_FORMULA_TENSOR
    parsed = parse(expression)
    fd = oracle.finite_difference_gradients(parsed.tree, inputs, list(parsed.variables))
    for d in data["derivatives"]:
        assert d["agrees"] is True
        value = np.array(d["value"], dtype=float).reshape(-1)
        assert np.allclose(value, np.ravel(fd[d["variable"]]), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "expression, point, expected",
    [("maximum(x, y)*2", {"x": 1.5, "y": 0.5}, {"x": 2.0, "y": 0.0}),
     ("clamp(x*y, 0, 1)", {"x": 1.5, "y": 0.5}, {"x": 0.5, "y": 1.5}),
     ("mse(x, y)", {"x": 1.5, "y": 0.5}, {"x": 2.0, "y": -2.0})],
)
def test_the_lessons_scalar_ops_get_a_formula(expression, point, expected):
    data = symbolic(expression, point)["symbolic"]
    assert data["kind"] == "formula"
    for d in data["derivatives"]:
        assert d["value"] == pytest.approx(expected[d["variable"]]) and d["agrees"] is True


def test_a_function_too_large_for_a_formula_falls_back_to_finite_differences():
    expression = " + ".join(["x*x"] * 40)  # 119 nodes; dy/dx = 80x
    data = symbolic(expression, {"x": 1.5})["symbolic"]
    assert data["kind"] == "finite_difference" and data["reason"] == calculus.NO_FORMULA_LARGE
    (d,) = data["derivatives"]
    assert d["value"] == pytest.approx(120.0, rel=1e-6) and d["agrees"] is True


def test_a_program_that_uses_each_line_twice_is_counted_as_sympy_sees_it():
    # 7 short lines, 22 nodes as written; each line doubles what sympy must differentiate.
    lines = ["a0 = x*x"] + [f"a{i} = a{i - 1}*a{i - 1} + x" for i in range(1, 7)]
    data = symbolic("\n".join(lines), {"x": 0.5})["symbolic"]
    assert data["kind"] == "finite_difference" and data["reason"] == calculus.NO_FORMULA_LARGE


def test_a_program_small_when_expanded_still_gets_a_formula():
    data = symbolic("a = x*x\nb = a*a + x", {"x": 0.5})["symbolic"]
    assert data["kind"] == "formula"


def test_a_variable_without_requires_grad_gets_no_derivative_row():
    data = compute("c*x**2", {"c": 3, "x": 2}, {"c": False, "x": True},
                   extras=Extras(symbolic=True))["symbolic"]
    assert [d["variable"] for d in data["derivatives"]] == ["x"]
    assert data["derivatives"][0]["value"] == 12.0  # 2cx


@pytest.mark.parametrize("inputs, kind, expected", [
    ({"x": 1.5, "y": 2.0}, "formula", 3.0),  # dz/dx = 3
    ({"x": [1.0, 2.0], "y": 2.0}, "finite_difference", [3.0, 3.0]),
])
def test_a_variable_the_output_does_not_reach_gets_no_derivative_row(inputs, kind, expected):
    # y requires grad, but z never uses a: PyTorch leaves y.grad None.
    data = compute("a = y*2\nz = sum(x*3)", inputs, extras=Extras(symbolic=True))["symbolic"]
    assert data["kind"] == kind
    assert [d["variable"] for d in data["derivatives"]] == ["x"]
    assert data["derivatives"][0]["value"] == pytest.approx(expected, rel=1e-6)


def test_agreement_is_within_float32_tolerance_only():
    assert calculus.agrees(72.0, 72.000001)
    assert not calculus.agrees(72.0, 72.1)
    assert calculus.agrees(float("nan"), float("nan"))
    assert not calculus.agrees(float("inf"), 1e30)


# --- MathML ---------------------------------------------------------------------


def test_mathml_is_checked_where_it_becomes_markup():
    good = inline_mathml('<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>x</mi></math>')
    assert str(good).startswith('<math xmlns="http://www.w3.org/1998/Math/MathML"')
    assert "<mi>x</mi>" in good
    for bad in ("<math><script>alert(1)</script></math>",
                '<math><mi onclick="alert(1)">x</mi></math>',
                "<math><mi>x</mi>", "<svg/>"):
        assert str(inline_mathml(bad)) == ""


def test_the_default_answer_has_none_of_the_extras():
    data = compute(LESSON, {"x": 2})
    assert not {"symbolic", "plot", "second_order", "accumulation"} & set(data)


def test_trace_is_untouched_by_the_extras():
    parsed = parse(LESSON)
    assert trace(parsed, {"x": 2}).gradients == {"x": 72.0}


def test_finite_differences_are_bounded_over_all_variables():
    names = [f"v{k}" for k in range(8)]
    inputs = {name: [0.5] * 100 for name in names}
    data = symbolic("sum(" + " + ".join(f"{n}*{n}" for n in names) + ")", inputs)["symbolic"]
    compared = [d["compared"] for d in data["derivatives"]]
    assert compared == [calculus.FD_MAX_TOTAL // 8] * 8
    # By hand: d/dv_i of sum(v*v) is 2v = 1 for every number.
    assert all(v == pytest.approx(1.0, rel=1e-6) for d in data["derivatives"] for v in d["value"])



def test_an_unsimplified_derivative_is_shown_with_its_powers_gathered(monkeypatch):
    # When simplify() runs out of time diff()'s x**y*y/x is left, which reads 0/0 at x = 0.
    monkeypatch.setattr(calculus, "_FORMS", calculus.new_forms_cache(10_000))
    monkeypatch.setattr(calculus, "simplest", lambda derivative: (derivative, False))
    dx, _ = calculus.forms(parse("x**y"), ("x", "y"))
    assert dx.text == "x**(y - 1)*y"


def test_a_deadline_that_falls_in_a_garbage_collection_is_not_lost():
    # An exception raised inside a gc callback is only "ignored"; the deadline must
    # come back after the collection instead of vanishing (seen in the whole suite,
    # where hypothesis keeps a gc callback).
    def slow_callback(phase, info):
        if phase == "start":
            time.sleep(0.05)  # the alarm falls in here

    gc.callbacks.append(slow_callback)
    try:
        with pytest.raises(deadline.Late), deadline.deadline(0.01):
            give_up = time.monotonic() + 5
            while time.monotonic() < give_up:
                gc.collect()  # 50 ms in a collection, where the first alarm falls
                work = time.monotonic() + 0.02
                while time.monotonic() < work:  # then Python's own work, as simplify's
                    pass
    finally:
        gc.callbacks.remove(slow_callback)


def test_an_alarm_on_the_gc_callbacks_own_lines_waits_for_the_next():
    # The first line of the callback that marks a collection runs before the mark: an
    # alarm there would raise inside the callback, and be lost (seen once in CI).
    with deadline.deadline(60):
        late = signal.getsignal(signal.SIGALRM)
        starts, ends = gc.callbacks[0], gc.callbacks[-1]
        raised = []

        def profile(frame, event, arg):
            if event == "call" and frame.f_code in (starts.__code__, ends.__code__):
                try:
                    late(signal.SIGALRM, frame)  # as if the alarm fell on its first line
                except deadline.Late:
                    raised.append(frame.f_code.co_name)

        sys.setprofile(profile)
        try:
            starts("start", {})
            ends("stop", {})
        finally:
            sys.setprofile(None)
        assert raised == []
        with pytest.raises(deadline.Late):  # anywhere else, it raises
            late(signal.SIGALRM, sys._getframe())
