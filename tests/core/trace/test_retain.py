"""retain_grad: h.grad is None for a program's intermediate unless h.retain_grad() is called.

The kept gradients are checked three ways: against the gradient that arrived at the
node computing the name in the backward walk, against the sympy oracle built from
the lines' trees (∂loss/∂h = 2(h − t)), and against the generated PyTorch program run.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import sympy

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import Extras
from autograd_playground.core.pipeline import compute
from autograd_playground.core.trace.graph import trace
from tests import oracle

NEURON = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
AT = {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1.0}


def oracle_gradient(text: str, name: str, at: dict[str, float]) -> float:
    """d(text)/d(name) at ``at``, by the test oracle's sympy built from the parsed tree."""
    expr = oracle.to_sympy(parse(text).tree)
    d = sympy.diff(expr, oracle.symbol(name))
    return float(sympy.N(d.subs({oracle.symbol(k): v for k, v in at.items()})))


def test_without_retain_grad_the_intermediates_have_no_grad():
    t = trace(parse(NEURON), AT)
    assert [(i.name, i.grad) for i in t.intermediates] == [("z", None), ("h", None)]
    assert t.intermediates[1].value == pytest.approx(math.tanh(0.85), rel=1e-6)
    # The leaves' gradients are there either way.
    assert all(v.grad is not None for v in t.variables)


def test_retained_grads_are_the_gradients_that_arrived_and_the_oracles():
    t = trace(parse(NEURON), AT, retain=True)
    kept = {i.name: i.grad for i in t.intermediates}
    # What arrived at the node that computes each name, in the recorded backward walk.
    named = {n.id: n.name_of for n in t.nodes if n.name_of}
    arrived = {named[s.node]: s.grad_outputs[0] for s in t.steps if s.node in named}
    assert kept["h"] == pytest.approx(arrived["h"]) and kept["z"] == pytest.approx(arrived["z"])
    # The oracle: loss = (h − t)², so ∂loss/∂h = 2(h − t); through h = tanh(z) for z.
    h = math.tanh(0.5 * 1.5 + 0.1)
    assert kept["h"] == pytest.approx(oracle_gradient("(h - t)^2", "h", {"h": h, "t": 1}), rel=1e-5)
    assert kept["z"] == pytest.approx(
        oracle_gradient("(tanh(z) - t)^2", "z", {"z": 0.85, "t": 1}), rel=1e-5
    )
    # Retaining changes nothing else.
    plain = trace(parse(NEURON), AT)
    assert [v.grad for v in t.variables] == [v.grad for v in plain.variables]


def test_a_constant_line_keeps_no_grad_even_with_retain_grad():
    t = trace(parse("c = 2*3\nh = c*x\ny = h*h"), {"x": 1.5}, retain=True)
    kept = {i.name: i.grad for i in t.intermediates}
    assert kept["c"] is None  # no requires_grad: PyTorch could not retain it
    assert kept["h"] == pytest.approx(2 * 6 * 1.5 * 1)  # ∂(h²)/∂h = 2h, h = 9


def test_a_single_function_has_no_intermediates():
    assert trace(parse("x**2 + 1"), {"x": 2}, retain=True).intermediates == ()


def test_the_generated_program_retains_and_prints_the_same_grads():
    off = compute(NEURON, AT)["code"]
    assert "retain_grad" not in off and "print(h.grad)" not in off
    result = compute(NEURON, AT, extras=Extras(retain_grad=True))
    program = result["code"]
    lines = program.splitlines()
    # retain_grad() after the assignments, before backward(); the grads printed after it.
    assert lines.index("z.retain_grad()") > lines.index("loss = (h - t)**2")
    assert lines.index("h.retain_grad()") < lines.index("loss.backward()") < lines.index("print(h.grad)")
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    printed = run.stdout.splitlines()
    # The last two lines print z.grad and h.grad: tensor(-0.3228) and tensor(-0.6179).
    shown = [float(line[len("tensor(") : -1]) for line in printed[-2:]]
    kept = [i["grad"] for i in result["intermediates"]]
    assert shown == pytest.approx(kept, abs=1e-4)
