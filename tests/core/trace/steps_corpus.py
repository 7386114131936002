"""The requests whose trace records must not change when the backward steps get cheaper.

Each entry is (label, expression, inputs, requires_grad). :func:`records` traces
one and keeps what the trace stage makes: the steps with their rules, the nodes, the
variables, the forward ops, a program's values and the output. (A program's collapsed
lines change only the picture, drawn after the trace: no entry of their own.)
test_steps_same.py holds digests of these records as the code before the steps got
cheaper made them; a change meant to alter the records prints the new digests with

    .venv/bin/python -m tests.core.trace.steps_corpus
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any

from autograd_playground.core.language.expr import checked
from autograd_playground.core.language.rules import Limits
from autograd_playground.core.trace.graph import trace
from tests.core.worker_corpus import MLP, MLP_VALUES

TRACED = ("steps", "nodes", "variables", "forward", "intermediates", "output", "gradients")

POLY = " + ".join(f"{21 - k}*v**{k}" for k in range(20, 0, -1))
MLP_GRADS = {n: n != "t" for n in MLP_VALUES}

CORPUS: list[tuple[str, str, dict[str, Any], dict[str, bool] | None]] = [
    ("lesson", "5*x**3 + 2*x**2 + 4*x + 8", {"x": 2}, None),
    ("lesson, new value", "5*x**3 + 2*x**2 + 4*x + 8", {"x": -1.37}, None),
    ("20-term polynomial", POLY, {"v": 0.5}, None),
    ("two variables", "x**2*y + sin(y)", {"x": 1.5, "y": 0.3}, None),
    ("vector mse", "mse(v, w)", {"v": [0.5, 2.0, 1.0], "w": [1, 1, 1.5]}, None),
    ("neuron", "sigmoid(sum(w*x) + b)",
     {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 3.0], "b": 0.1}, None),
    ("two-layer MLP", MLP, MLP_VALUES, MLP_GRADS),
    ("relu at 0", "relu(x) + relu(x*y)", {"x": 0, "y": 2}, None),
    ("division by zero", "x/y + 1/y + 2/x", {"x": 1.0, "y": 0}, None),
    ("log and sqrt at 0", "log(x) + sqrt(x) + abs(x) + x**0.5", {"x": 0}, None),
    ("outside the domain", "log(x) + sqrt(x)", {"x": -1.0}, None),
    ("powers", "x**y + 2**x + x**0 + x**-1 + pow(3, x*y)", {"x": 0, "y": 2.0}, None),
    ("powers, constant y", "x**y", {"x": 2.0, "y": 3.0}, {"x": True, "y": False}),
    ("overflow", "exp(x) * 0 + exp(x)", {"x": 100.0}, None),
    ("ties and bounds", "maximum(x, y) + minimum(x, y) + clamp(x, -1, 2) + clamp(y, -1, 2) + maximum(2, x)",
     {"x": 2.0, "y": 2.0}, None),
    ("vector ties", "max(v) - min(v*v) + sum(v)", {"v": [1.0, 3.0, 3.0]}, None),
    ("constants", "x*e + pi*x + sqrt(2)*x - 2 - x + 0.1*x/3", {"x": 0.7}, None),
    ("named constant", "x*(y + 1) + tanh(x) + cos(x) + tan(x)", {"x": 0.4, "y": 2.0},
     {"x": True, "y": False}),
    ("tensor ops", "cross_entropy(v, 1) + mse(v, w) + w @ v + sum(transpose(M) @ v) + sum(M @ M)",
     {"v": [0.5, -1.0], "w": [2.0, 1.0], "M": [[1.0, 2.0], [3.0, -1.0]]}, None),
    ("softmax", "sum(softmax(v) * w) + logsumexp(v) + sum(log_softmax(v))",
     {"v": [0.5, -1.0, 2.0], "w": [1.0, 2.0, 3.0]}, None),
    ("broadcast", "sum(v * x + x)", {"v": [1.0, 2.0], "x": 3.0}, None),
    ("nan arriving", "sqrt(x) * log(y)", {"x": -1.0, "y": -1.0}, None),
    ("inf arriving", "exp(exp(x)) + relu(x - 9)*log(x - 9)", {"x": 5.0}, None),
    ("kernel order", "sqrt(x)*3.7 + sqrt(x*1.3)*7.1 + x/y", {"x": 3.3, "y": 0.3}, None),
    ("program", "a = x*y\nb = sin(a) + a**2\nz = b*x", {"x": 0.5, "y": 1.5}, None),
]


def records(expression: str, inputs: dict[str, Any], grads: dict[str, bool] | None) -> dict:
    """What the trace stage made for one request, as JSON holds it."""
    parsed = checked(expression, Limits())
    made = trace(parsed, parsed.with_values(inputs), parsed.with_grads(grads))
    data = {key: getattr(made, key) for key in TRACED}
    plain = {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else
             [dataclasses.asdict(r) for r in v] if isinstance(v, tuple) else v
             for k, v in data.items()}
    return json.loads(json.dumps(plain))


def renamed(expression: str, inputs: dict[str, Any], grads: dict[str, bool] | None,
            suffix: str) -> tuple[str, dict[str, Any], dict[str, bool] | None, dict[str, str]]:
    """The same request with every variable and line name given ``suffix``: never seen."""
    names = set(inputs) | {m.group(1) for m in re.finditer(r"^(\w+) =", expression, re.M)}
    new = {n: n + suffix for n in names}
    text = re.sub(r"[A-Za-z_]\w*", lambda m: new.get(m.group(), m.group()), expression)
    return (text, {new[n]: v for n, v in inputs.items()},
            None if grads is None else {new[n]: g for n, g in grads.items()}, new)


def digest(data: dict) -> str:
    """The records' digest as test_steps_same.py keeps it (JSON: -0.0 is not 0.0 there)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


if __name__ == "__main__":
    for label, e, i, g in CORPUS:
        print(f'    "{label}": "{digest(records(e, i, g))}",')
