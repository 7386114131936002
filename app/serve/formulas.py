"""Formulas worked out once per server, not once per worker.

sympy's formulas for a function (dy/dx derived, simplified and printed: 30 to 150 ms
on this machine, a program's over a second) are the one part of an answer a worker
cannot redo cheaply. Each worker keeps those it derived (core.teach.calculus); so
that a function a class uses is not derived again by every worker, and again by
each worker started after recycling while the class's results wait, a worker that
derives formulas returns them with its result, pickled (Derived). The engine keeps
the newest per function, within a bound in bytes, and lends them to the next job of
that function that asks for formulas, whose worker adopts them (calculus.adopt)
before it computes.

The web process keeps these bytes as it keeps results, and never unpickles them:
only workers do, and only what workers made (with workers=0, for development and
tests, the one process is both).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cachetools import LRUCache

from .cache import Encoded

if TYPE_CHECKING:
    from .jobs import Job

# Bytes of pickled formulas kept: the lesson's are about 600, a three-variable
# function's about 1,500, so this holds those of several hundred functions.
MAX_BYTES = 1024 * 1024
# Seconds a job waits for the formulas another job is deriving, before it derives them
# itself: simplify() alone may take 0.4 s (calculus.SIMPLIFY_SECONDS).
WAIT = 1.0


@dataclass(frozen=True)
class Derived(Encoded):
    """A result, and the formulas its worker derived while computing it (calculus.derived)."""

    formulas: bytes = b""

    @property
    def size(self) -> int:
        return super().size + len(self.formulas)


class Formulas:
    """The newest formulas derived for each function, by its normalized text, and the
    functions whose formulas a job is deriving now."""

    def __init__(self, max_bytes: int = MAX_BYTES, wait: float = WAIT):
        self._kept: LRUCache[str, bytes] = LRUCache(max_bytes, getsizeof=len)
        self._deriving: dict[str, asyncio.Future[None]] = {}
        self.wait = wait

    async def through(
        self, job: Job, compute: Callable[[Job], Awaitable[tuple[Encoded, str]]],
    ) -> tuple[Encoded, str]:
        """``compute(job)``, lent the formulas known for its function if it asks for formulas.

        While another job derives them, it waits for them (``wait`` s at most), rather
        than derive them again beside it: a class's first students open one function's
        panels together. A job that takes only known formulas (``known_only``) waits
        for nothing.
        """
        function = job.function if job.heavy else None
        if function is None:
            return await compute(job)
        deriving = self._deriving.get(function)
        if deriving is not None and function not in self._kept and not job.extras.known_only:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(deriving), self.wait)
        known = self._kept.get(function)
        if known:
            job = replace(job, formulas=known)
        # The first job that may derive them says so, for the others to wait on.
        first = known is None and not job.extras.known_only and function not in self._deriving
        if first:
            done = self._deriving[function] = asyncio.get_running_loop().create_future()
        try:
            result, how = await compute(job)
        finally:
            if first:
                del self._deriving[function]
                done.set_result(None)
        if isinstance(result, Derived) and len(result.formulas) <= self._kept.maxsize:
            self._kept[function] = result.formulas
        elif first:
            # Nothing derived: the workers knew them (warm-up), or the function has none
            # (a tensor function's finite differences). No later job need wait for it.
            self._kept[function] = b""
        return result, how
