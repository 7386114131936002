"""A deadline for sympy's work in a worker: simplify() given up after a time.

sympy offers no timeout, so an interval timer raises Late in the main thread,
where a worker runs its task; the alarm waits out a garbage collection, whose
callbacks would swallow it.
"""

from __future__ import annotations

import gc
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Late(Exception):
    """simplify() ran past its sub-deadline."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise Late in this thread after ``seconds``; only where signals can (the main thread).

    A worker runs its task in its main thread; elsewhere (tests, workers=0) the
    size bound alone keeps simplify() short.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    # An exception raised while a gc callback runs is lost ("ignored"), and with it the
    # deadline: so the alarm repeats, and waits out a collection before it raises.
    state = {"collecting": False, "raised": False}

    def collection_starts(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            state["collecting"] = True

    def collection_ends(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            state["collecting"] = False

    # The alarm may also land on the first or last line of those two callbacks, where
    # "collecting" does not say so yet (or any more).
    ours = {collection_starts.__code__, collection_ends.__code__}

    def late(signum: int, frame: Any) -> None:
        if state["collecting"] or state["raised"] or (frame is not None and frame.f_code in ours):
            return  # the repeating alarm comes back in a moment
        state["raised"] = True
        raise Late

    gc.callbacks.insert(0, collection_starts)  # before any other callback's code runs
    gc.callbacks.append(collection_ends)  # after every other callback's code ran
    previous = signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.01)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        gc.callbacks.remove(collection_starts)
        gc.callbacks.remove(collection_ends)
