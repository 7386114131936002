"""The requests a worker's shortcuts are checked on: each shortcut's answer must be the
JSON that computing without it gives, byte for byte.

The lesson, a 20-term polynomial, two variables, the vector MSE, the neuron, the
two-layer MLP program (bench/api_vs_torchviz.py's values), relu at 0, a program with
collapsed lines, one with every extra, and torch's spellings as a notebook cell
writes them. The worker's answer has no language: German is the web's, over the
same JSON.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from autograd_playground.core.language.rules import Extras, Limits
from autograd_playground.core.pipeline import compute

POLYNOMIAL = " + ".join(f"{21 - k}*x**{k}" for k in range(20, 0, -1))
MLP = "h = tanh(W1 @ x + b1)\nout = W2 @ h + b2\nloss = mse(out, t)"
MLP_VALUES = {
    "W1": [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [-0.7, 0.8, 0.9], [0.2, 0.1, -0.1]],
    "x": [1.0, 2.0, -1.0], "b1": [0.1, 0.2, 0.3, 0.4],
    "W2": [[0.5, -0.5, 0.25, 0.1], [-0.3, 0.2, 0.6, -0.4]], "b2": [0.05, -0.05],
    "t": [1.0, 0.0],
}
NEURON = {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 3.0], "b": 0.1}
PROGRAM = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
PROGRAM_VALUES = {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1.0}


class Request(NamedTuple):
    expression: str
    inputs: dict[str, Any]
    requires_grad: dict[str, bool] | None = None
    extras: Extras = Extras()
    collapse: tuple[str, ...] = ()
    view: str = "torchviz"


CORPUS: dict[str, Request] = {
    "lesson": Request("5*x**3 + 2*x**2 + 4*x + 8", {"x": 2.0}),
    "polynomial": Request(POLYNOMIAL, {"x": 0.5}),
    "two variables": Request("x**2*y + sin(y)", {"x": 3.0, "y": 0.5}, view="annotated"),
    "vector mse": Request("mean((w*x - t)**2)",
                          {"w": 1.5, "x": [1.0, 2.0, 3.0], "t": [2.0, 4.0, 6.0]},
                          {"t": False}),
    "neuron": Request("sigmoid(sum(w*x) + b)", NEURON),
    "mlp": Request(MLP, MLP_VALUES, {"t": False}),
    "relu at 0": Request("relu(x) + abs(x)", {"x": 0.0}),
    "collapsed": Request(PROGRAM, PROGRAM_VALUES, collapse=("z", "h")),
    "every extra": Request(PROGRAM, PROGRAM_VALUES, extras=Extras(
        symbolic=True, order=2, accumulate=True, retain_grad=True)),
    "torch spellings": Request("torch.sigmoid((w * x).sum() + b).pow(2)", NEURON),
    "big value": Request("sum(x**2)", {"x": [float(i) for i in range(40)]}),
}


def answer(request: Request, limits: Limits | None = None) -> bytes:
    """The worker's answer to ``request``, as the JSON bytes it sends."""
    return orjson.dumps(compute(
        request.expression, request.inputs, request.requires_grad, request.view,
        limits or Limits(max_shown_elements=30), 10.0, request.extras, request.collapse,
    ))
