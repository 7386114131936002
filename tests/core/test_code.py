"""The equivalent PyTorch program: running it prints the same numbers the app shows."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.core.language import output_name
from app.core.expr import parse
from app.core.pipeline import compute

CASES = [
    ("5*x**3 + 2*x**2 + 4*x + 8", {"x": 2}, None),
    ("x^2*y + sin(y)", {"x": 3, "y": 0.5}, None),
    ("sigmoid(w*x + b)", {"w": 0.5, "x": 2, "b": -1}, {"x": False}),
    ("mean((w*x - t)**2)", {"w": 1.5, "x": [1, 2, 3], "t": [2, 4, 6]}, {"x": False, "t": False}),
    ("sum(sqrt(2)*[1, 2]*x + pow(2, 3)*x + pow(x, 2))", {"x": [1, 2]}, None),
    ("-x**2 + (-x)**2 + 2**-1*x + x/(y*y)", {"x": 1.5, "y": -2}, None),
    ("w @ x + relu(b) - abs(b)", {"w": [1, -2, 0.5], "x": [2, 1, 4], "b": -0.5}, None),
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
            assert probe["grads"][name] == pytest.approx(grad)
    # And print(x.grad) shows the same tensor the program itself computed.
    on = [n for n, g in result["gradients"].items() if g is not None]
    assert len(printed) == 1 + len(on) + 1
