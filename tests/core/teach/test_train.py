"""autograd_playground.core.teach.train: gradient descent step by step, against independent oracles.

The oracle runs the same descent in float64 with derivatives from sympy, built
from the checked tree by tests/oracle.py, and with central finite differences
for tensors. The generated program is run and must print the same numbers.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import ExprError, Limits
from autograd_playground.core.language.values import MAX_LEARNING_RATE
from autograd_playground.core.teach.train import train
from tests.oracle import finite_difference_gradients, sympy_value_and_gradients

NEURON = "(tanh(w*x + b) - t)^2"
NEURON_INPUTS = {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1}


def descend_by_sympy(expr, inputs, params, lr, steps, zero_grad=True):
    """The same loop in float64: [(loss, params before, grads used)] per update."""
    tree = parse(expr).tree
    values = {k: float(v) for k, v in inputs.items()}
    grads = {p: 0.0 for p in params}
    out = []
    for _ in range(steps):
        loss, new = sympy_value_and_gradients(tree, values, params)
        grads = {p: new[p] + (0.0 if zero_grad else grads[p]) for p in params}
        out.append((loss, {p: values[p] for p in params}, dict(grads)))
        for p in params:
            values[p] -= lr * grads[p]
    return out


def test_the_lessons_neuron_trains_and_its_loss_falls() -> None:
    run = train(parse(NEURON), NEURON_INPUTS, ["w", "b"], 0.1, 20)

    assert [s.index for s in run.steps] == list(range(1, 21))
    losses = [s.loss for s in run.steps]
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False))
    assert losses[-1] < losses[0] / 5
    assert run.diverged_at is None
    # Entry 1 holds the parameters as given.
    assert run.steps[0].params == pytest.approx({"w": 0.5, "b": 0.1})


def test_every_entry_agrees_with_the_same_descent_in_sympy() -> None:
    run = train(parse(NEURON), NEURON_INPUTS, ["w", "b"], 0.1, 20)
    oracle = descend_by_sympy(NEURON, NEURON_INPUTS, ["w", "b"], 0.1, 20)

    for step, (loss, params, grads) in zip(run.steps, oracle, strict=False):
        assert step.loss == pytest.approx(loss, rel=1e-4, abs=1e-7)
        assert step.params == pytest.approx(params, rel=1e-4)
        assert step.grads == pytest.approx(grads, rel=1e-4, abs=1e-7)
    # And the update between entries is p - lr * grad.
    for before, after in zip(run.steps, run.steps[1:], strict=False):
        for p in ("w", "b"):
            assert after.params[p] == pytest.approx(before.params[p] - 0.1 * before.grads[p], rel=1e-6)


def test_without_zero_grad_the_gradients_accumulate() -> None:
    expr, inputs = "(w*x - 3)^2", {"w": 0.0, "x": 1.0}
    run = train(parse(expr), inputs, ["w"], 0.1, 5, zero_grad=False)
    oracle = descend_by_sympy(expr, inputs, ["w"], 0.1, 5, zero_grad=False)

    for step, (_loss, params, grads) in zip(run.steps, oracle, strict=False):
        assert step.grads["w"] == pytest.approx(grads["w"], rel=1e-5)
        assert step.params["w"] == pytest.approx(params["w"], rel=1e-5, abs=1e-7)
    # Step 2 uses its own gradient plus step 1's: -6 + (-4.8) = -10.8.
    assert run.steps[0].grads["w"] == pytest.approx(-6.0)
    assert run.steps[1].grads["w"] == pytest.approx(-10.8)
    # With zero_grad, step 2 uses only its own.
    clean = train(parse(expr), inputs, ["w"], 0.1, 2)
    assert clean.steps[1].grads["w"] == pytest.approx(-4.8)


def test_a_vector_parameter_matches_finite_differences() -> None:
    expr = "mean((w @ X - t)^2)"
    inputs = {"w": [0.1, -0.2], "X": [[1.0, 2.0], [3.0, 4.0]], "t": [1.0, 2.0]}
    run = train(parse(expr), inputs, ["w"], 0.05, 3)
    tree = parse(expr).tree
    for step in run.steps:
        at = dict(inputs, w=step.params["w"])
        expected = finite_difference_gradients(tree, at, ["w"])["w"]
        assert np.allclose(step.grads["w"], expected, rtol=1e-3, atol=1e-4)


def test_a_run_that_diverges_stops_and_says_where() -> None:
    run = train(parse("x^2"), {"x": 1000.0}, ["x"], MAX_LEARNING_RATE, 100)

    assert run.diverged_at is not None and run.diverged_at < 100
    assert len(run.steps) == run.diverged_at
    last = run.steps[-1]
    assert last.loss == "inf" or any(
        isinstance(v, str) for v in (last.params["x"], last.grads["x"])
    )
    assert all(isinstance(s.loss, float) and math.isfinite(s.loss) for s in run.steps[:-1])


@pytest.mark.parametrize(
    "params, lr, steps, words",
    [
        ([], 0.1, 5, "at least one parameter"),
        (["q"], 0.1, 5, "'q' is not a variable"),
        (["w", "w"], 0.1, 5, "named once"),
        (["w"], 0.0, 5, "learning rate"),
        (["w"], -0.1, 5, "learning rate"),
        (["w"], float("nan"), 5, "learning rate"),
        (["w"], float("inf"), 5, "learning rate"),
        (["w"], MAX_LEARNING_RATE * 2, 5, "learning rate"),
        (["w"], 0.1, 0, "number of steps"),
        (["w"], 0.1, 101, "number of steps"),
        (["w"], 0.1, True, "number of steps"),
    ],
)
def test_what_no_run_could_do_is_refused_with_a_sentence(params, lr, steps, words) -> None:
    with pytest.raises(ExprError) as refused:
        train(parse(NEURON), NEURON_INPUTS, params, lr, steps)
    assert words in refused.value.message


def test_the_step_bound_is_a_setting() -> None:
    assert len(train(parse("x^2"), {"x": 1}, ["x"], 0.1, 150, limits=Limits(max_train_steps=150)).steps) == 150


def test_a_loss_that_is_not_one_number_is_refused() -> None:
    with pytest.raises(ExprError) as refused:
        train(parse("w*x"), {"w": [1.0, 2.0], "x": 1.0}, ["w"], 0.1, 3)
    assert "single number" in refused.value.message


def test_the_generated_loop_prints_the_same_numbers() -> None:
    for zero_grad in (True, False):
        run = train(parse(NEURON), NEURON_INPUTS, ["w", "b"], 0.1, 20, zero_grad=zero_grad)
        assert ("\n    optimizer.zero_grad()\n" in run.code) is zero_grad
        printed = subprocess.run(
            [sys.executable, "-c", run.code], capture_output=True, text=True, timeout=120, check=True
        ).stdout.splitlines()
        assert len(printed) == 20
        for step, line in zip(run.steps, printed, strict=False):
            index, loss, w, w_grad, b, b_grad = (float(v) for v in line.split())
            assert index == step.index
            assert loss == pytest.approx(step.loss, rel=1e-6)
            assert (w, b) == pytest.approx((step.params["w"], step.params["b"]), rel=1e-6)
            assert (w_grad, b_grad) == pytest.approx((step.grads["w"], step.grads["b"]), rel=1e-6)
