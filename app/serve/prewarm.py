"""Imported once by the worker pool's fork server, so that every worker starts warm.

Each worker is forked from the fork server (see Engine._new_pool), and a worker is
replaced after ``worker_max_tasks`` tasks. A worker that warmed itself up spent its
first 120 ms on PyTorch's first backward and on sympy's derivations of each op's
local derivative, and a class computing its own values felt every replacement as
a stall (p95 610 ms with a replacement every 150 tasks, against 48 ms without).
Done here, once, before the first fork, every worker inherits the warm process.

A failure here must not stop the fork server: the workers then warm up as they go.
"""

from __future__ import annotations

import logging

# Functions of the page's examples and the ops a first lesson uses: the cost of each
# op's first derivation is paid here, not by a student.
WARM_UP: tuple[tuple[str, dict[str, object]], ...] = (
    ("5*x**3 + 2*x**2 + 4*x + 8", {"x": 2.0}),
    ("x**2*y + sin(y)", {"x": 3.0, "y": 0.5}),
    ("sigmoid(w*x + b)", {"w": 0.5, "x": 2.0, "b": -1.0}),
    ("sigmoid(sum(w*x) + b)", {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 3.0], "b": 0.1}),
    ("mean((w*x - t)**2)", {"w": 1.5, "x": [1.0, 2.0, 3.0], "t": [2.0, 4.0, 6.0]}),
    ("w @ x + b", {"w": [1.0, -2.0, 0.5], "x": [2.0, 1.0, 4.0], "b": 0.5}),
    ("z = w*x + b\nh = tanh(z)\nloss = (h - t)^2", {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1.0}),
    ("relu(x) + exp(x) + log(x) + sqrt(x) + cos(x) + x/2", {"x": 1.5}),
)


def warm() -> None:
    """Compute each warm-up function once in this process, in both views."""
    import torch

    from app.core.pipeline import compute

    torch.set_num_threads(1)
    for expression, inputs in WARM_UP:
        for view in ("torchviz", "annotated"):
            compute(expression, dict(inputs), view=view)


try:
    warm()
except Exception:  # noqa: BLE001 - see the module's docstring
    logging.getLogger("playground.engine").exception("warming the fork server failed")
