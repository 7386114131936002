"""The worker side of the pool: how a worker process is made and set up.

Workers fork from one fork server that has imported the pipeline and computed the
warm-up functions (autograd_playground.serve.prewarm); each new worker then limits
itself to one thread and its memory cap (init_worker).
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from typing import Any, Callable

from .jobs import WARM_UP


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """``fn(*args)`` and the seconds it took, measured where it ran."""
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def init_worker(memory_mb: int) -> None:
    """Runs once in each new worker process, before any task."""
    import torch

    # pipeline brings in sympy (autograd_playground.core.trace.local) too: no request pays for that import.
    from ..core.pipeline import compute

    torch.set_num_threads(1)
    if memory_mb > 0:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Forked warm from the fork server (autograd_playground.serve.prewarm), this costs a millisecond;
    # should that warm-up have failed, the first slow backward is paid here, not by a
    # student. (autograd_playground.serve.prewarm is never imported here: it computes on import.)
    expression, inputs = WARM_UP[0]
    compute(expression, dict(inputs))


def fork_context() -> multiprocessing.context.BaseContext:
    """Where workers come from: one fork server per process, started by the first pool.

    The fork server imports torch once, and sympy (the calculus panels need it, and
    loading it per worker would cost seconds), and computes a few functions
    (autograd_playground.serve.prewarm): each worker forks from it already warm.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([
        "autograd_playground.core.pipeline",
        "autograd_playground.core.trace.symbolic",
        "autograd_playground.serve.prewarm",
    ])
    return context
