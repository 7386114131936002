"""The equivalent PyTorch program: running it prints the same numbers the app shows."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import output_name
from autograd_playground.core.pipeline import compute

CASES = [
    ("5*x**3 + 2*x**2 + 4*x + 8", {"x": 2}, None),
    ("x^2*y + sin(y)", {"x": 3, "y": 0.5}, None),
    ("sigmoid(w*x + b)", {"w": 0.5, "x": 2, "b": -1}, {"x": False}),
    ("mean((w*x - t)**2)", {"w": 1.5, "x": [1, 2, 3], "t": [2, 4, 6]}, {"x": False, "t": False}),
    ("sum(sqrt(2)*[1, 2]*x + pow(2, 3)*x + pow(x, 2))", {"x": [1, 2]}, None),
    ("-x**2 + (-x)**2 + 2**-1*x + x/(y*y)", {"x": 1.5, "y": -2}, None),
    ("w @ x + relu(b) - abs(b)", {"w": [1, -2, 0.5], "x": [2, 1, 4], "b": -0.5}, None),
    ("sum(softmax(v)*w) + logsumexp(v) + sum(log_softmax(v))", {"v": [1, 2, 3], "w": [1, 0, 2]}, None),
    ("max(v) + min(v) + sum(maximum(v, 2)*minimum(v, 1.5))", {"v": [1, 5, 2]}, None),
    ("clamp(x, 0, 1)*x + clamp(3, 0, 1) + pi*x + e", {"x": 0.5}, None),
    ("mse(w*x, t) + cross_entropy(W @ x, 1) + cross_entropy(W @ x, k)",
     {"w": 2, "x": [1, -1], "t": [1, 1], "W": [[1, 2], [0, 1], [3, 1]], "k": 2}, {"k": False}),
    ("sum(transpose(W) @ x)", {"W": [[1, 2], [0, 1]], "x": [1, -1]}, None),
]

# Appended to the generated program: print what the app reports, as JSON.
PROBE = """
import json as _json
_grads = {{n: (v.grad.tolist() if v.grad is not None else None)
          for n, v in list(globals().items()) if isinstance(v, torch.Tensor) and v.is_leaf}}
_y = {output}
print("PROBE" + _json.dumps({{"y": _y.tolist(), "repr": repr(_y), "grads": _grads}}))
"""


@pytest.mark.parametrize("expr, inputs, grads", CASES, ids=[c[0] for c in CASES])
def test_the_program_prints_what_the_app_shows(expr, inputs, grads):
    result = compute(expr, inputs, grads)
    program = result["code"]
    y = output_name(parse(expr).variables)
    assert "requires_grad=True" in program and f"{y}.backward()" in program
    run = subprocess.run(
        [sys.executable, "-c", program + PROBE.format(output=output_name(parse(expr).variables))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    printed = run.stdout.splitlines()
    assert printed[0] == result["output"]["repr"]  # print(y)
    probe = json.loads(next(line for line in printed if line.startswith("PROBE"))[5:])
    assert probe["y"] == pytest.approx(result["output"]["value"])
    for name, grad in result["gradients"].items():
        if grad is None:
            assert probe["grads"][name] is None
        else:
            assert np.allclose(probe["grads"][name], grad, rtol=1e-6, atol=1e-7)
    # And print(x.grad) shows the same tensor the program itself computed.
    on = [n for n, g in result["gradients"].items() if g is not None]
    # (a matrix prints over several lines, each tensor starts one)
    assert sum(line.startswith("tensor(") for line in printed) == 1 + len(on)
    assert printed[-1].startswith("PROBE")
