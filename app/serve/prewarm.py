"""Imported once by the worker pool's fork server, so that every worker starts warm.

Each worker is forked from the fork server (see Engine._new_pool), and a worker is
replaced after ``worker_max_tasks`` tasks. A worker that warmed itself up spent its
first task on PyTorch's first backward and on sympy's derivations of each op's
local derivative, and a class computing its own values felt every replacement as
a stall. Done here, once, before the first fork, every worker inherits the warm
process.

A failure here must not stop the fork server: the workers then warm up as they go.
"""

from __future__ import annotations

import logging

from .jobs import WARM_UP


def warm() -> None:
    """Compute each warm-up function once in this process, in both views."""
    import torch

    from ..core.pipeline import compute

    torch.set_num_threads(1)
    for expression, inputs in WARM_UP:
        for view in ("torchviz", "annotated"):
            compute(expression, dict(inputs), view=view)


try:
    warm()
except Exception:  # see the module's docstring
    logging.getLogger(__name__).exception("warming the fork server failed")
