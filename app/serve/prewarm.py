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

import gc
import logging

from .jobs import WARM_UP

# How many of the warm-up functions also get their derivative panel here: sympy's
# simplify() imports sympy.physics on its first call (about 0.1 to 0.2 s), and its
# first derivations fill sympy's caches; without this, every new worker paid that on
# its first panel of a function that is not a polynomial, beside the class's results.
WARM_FORMULAS = 3


def warm() -> None:
    """Compute each warm-up function once in this process, in both views, and the first
    few with their derivative panel."""
    import torch

    from ..core.language.rules import Extras
    from ..core.pipeline import compute
    from ..core.teach import calculus

    torch.set_num_threads(1)
    for expression, inputs in WARM_UP:
        for view in ("torchviz", "annotated"):
            compute(expression, dict(inputs), view=view)
    for expression, inputs in WARM_UP[:WARM_FORMULAS]:
        compute(expression, dict(inputs), extras=Extras(symbolic=True))
    calculus.derived()  # every worker knows these: none is sent back (serve.formulas)


try:
    warm()
except Exception:  # see the module's docstring
    logging.getLogger(__name__).exception("warming the fork server failed")
# Every object so far leaves the collector's generations: a worker's full collection
# walks only the objects it made itself, not the 300,000 it inherits (about 0.1 s
# each time, and a write to every page it shares with the fork server).
gc.freeze()
