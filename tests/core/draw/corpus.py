"""The requests whose pictures must not change when drawing gets cheaper: each is
(label, expression, inputs, requires_grad, collapse), computed through the pipeline."""

from __future__ import annotations

from typing import Any

POLY = " + ".join(f"{21 - k}*v**{k}" for k in range(20, 0, -1))
MLP = "h = tanh(W1 @ x + b1)\nout = W2 @ h + b2\nloss = mse(out, t)"
MLP_VALUES = {
    "W1": [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [-0.7, 0.8, 0.9], [0.2, 0.1, -0.1]],
    "x": [1.0, 2.0, -1.0], "b1": [0.1, 0.2, 0.3, 0.4],
    "W2": [[0.5, -0.5, 0.25, 0.1], [-0.3, 0.2, 0.6, -0.4]], "b2": [0.05, -0.05],
    "t": [1.0, 0.0],
}
MLP_GRADS = {n: n != "t" for n in MLP_VALUES}

CORPUS: list[tuple[str, str, dict[str, Any], dict[str, bool] | None, tuple[str, ...]]] = [
    ("lesson", "5*x**3 + 2*x**2 + 4*x + 8", {"x": 2}, None, ()),
    ("20-term polynomial", POLY, {"v": 0.5}, None, ()),
    ("two variables", "x**2*y + sin(y)", {"x": 1.5, "y": 0.3}, None, ()),
    ("vector mse", "mse(v, w)", {"v": [0.5, 2.0, 1.0], "w": [1, 1, 1.5]}, None, ()),
    ("neuron", "sigmoid(sum(w*x) + b)",
     {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 3.0], "b": 0.1}, None, ()),
    ("two-layer MLP", MLP, MLP_VALUES, MLP_GRADS, ()),
    ("MLP, collapsed", MLP, MLP_VALUES, MLP_GRADS, ("h", "out")),
    ("relu at 0", "relu(x) + relu(x*y)", {"x": 0, "y": 2}, None, ()),
    ("a constant y", "x**y", {"x": 2.0, "y": 3.0}, {"x": True, "y": False}, ()),
    ("tensor ops", "cross_entropy(v, 1) + mse(v, w) + w @ v + sum(transpose(M) @ v) + sum(M @ M)",
     {"v": [0.5, -1.0], "w": [2.0, 1.0], "M": [[1.0, 2.0], [3.0, -1.0]]}, None, ()),
    ("German words as names", "Ableitung*Gewicht + sin(Gewicht)",
     {"Ableitung": 2.0, "Gewicht": 0.5}, None, ()),
    ("a program, collapsed", "h = tanh(2*x + 1)\nout = h*h + x\nloss = out*3",
     {"x": 0.5}, None, ("h", "out")),
]
