"""The worker side of the pool: how a worker process is made, set up, and answers a task.

Workers fork from one fork server that has imported the pipeline and computed the
warm-up functions (autograd_playground.serve.prewarm); each new worker then limits
itself to one thread and its memory cap (init_worker).

A task crosses to the worker as the bytes of ``pickle.dumps((fn, args))`` (pickled
by the engine, where a value that cannot be pickled fails its request alone), and
its answer comes back as ``(pid, pickle.dumps((error, result)))``: the pid lets the
pool count each worker's tasks, and an error or result the caller could not take
or unpickle is turned into a RuntimeError with its text here, in the worker.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import resource
import signal
import time
from collections.abc import Callable
from typing import Any

from .jobs import WARM_UP


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """``fn(*args)`` and the seconds it took, measured where it ran."""
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def start_worker(initializer: Callable[..., None], initargs: tuple) -> None:
    """The pool's initializer: stop at once when told to, then ``initializer(*initargs)``.

    pebble stops a worker past its time limit with SIGTERM, and its handler would
    wait for C code (a Graphviz layout) to return before exiting; the default
    action ends the process at once, as SIGKILL does.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    initializer(*initargs)


def run_task(payload: bytes) -> tuple[int, bytes]:
    """Run the pickled ``(fn, args)``; this worker's pid and the pickled ``(error, result)``."""
    try:
        fn, args = pickle.loads(payload)
        answer: tuple[BaseException | None, Any] = (None, fn(*args))
    except BaseException as exc:  # every failure goes back to the caller
        answer = (_sendable(exc), None)
    try:
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an unpicklable result
        data = pickle.dumps((RuntimeError(f"the answer could not be sent: {exc!r}"), None))
    return os.getpid(), data


def _takeable(error: BaseException) -> Exception:
    """``error``, or a RuntimeError with its text where the caller's loop could not take it:
    SystemExit would stop the server, StopIteration breaks the future it is set on."""
    if isinstance(error, Exception) and not isinstance(error, StopIteration):
        return error
    return RuntimeError(f"the task ended with {error!r}")


def _sendable(error: BaseException) -> Exception:
    """``error`` as the caller can take it (see _takeable), and surviving pickling both
    ways: an error that cannot be rebuilt from its pickle would be lost."""
    error = _takeable(error)
    try:
        pickle.loads(pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # any way it fails, the text still goes back
        return RuntimeError(f"the task failed with {error!r}")
    return error


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

    The fork server imports torch once, sympy (the calculus panels need it, and
    loading it per worker would cost seconds) and pebble's worker loop, and
    computes a few functions (autograd_playground.serve.prewarm): each worker forks
    from it already warm, and shares those pages with it until it writes to them.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([
        "autograd_playground.core.pipeline",
        "autograd_playground.core.trace.symbolic",
        "autograd_playground.serve.prewarm",
        "pebble.pool.process",
    ])
    return context
