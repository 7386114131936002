"""Formulas worked out once per server, not once per worker.

sympy's formulas for a function (dy/dx derived, simplified and printed: 30 to 150 ms
on this machine) are the one part of an answer a worker cannot redo cheaply, and
each worker kept its own (core.teach.calculus). A function a class used was derived
again by every worker, and again by each worker started after recycling, while the
class's results waited behind it. Now a worker that derives formulas returns them
with its result, pickled (Derived); the engine keeps the newest per function,
within a bound in bytes, and lends them to the next job of that function that
asks for formulas, whose worker adopts them (calculus.adopt) before it computes.

The web process keeps these bytes as it keeps results, and never unpickles them:
only workers do, and only what workers made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from cachetools import LRUCache

from .cache import Encoded

if TYPE_CHECKING:
    from .jobs import Job

# Bytes of pickled formulas kept: the lesson's are about 600, a three-variable
# function's about 1,500, so this holds those of several hundred functions.
MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Derived(Encoded):
    """A result, and the formulas its worker derived while computing it (calculus.derived)."""

    formulas: bytes = b""

    @property
    def size(self) -> int:
        return super().size + len(self.formulas)


class Formulas:
    """The newest formulas derived for each function, by its normalized text."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self._kept: LRUCache[str, bytes] = LRUCache(max_bytes, getsizeof=len)

    def lend(self, job: Job) -> Job:
        """``job`` with the formulas known for its function, if it asks for formulas."""
        function = job.function
        if not job.heavy or function is None:
            return job
        known = self._kept.get(function)
        return job if known is None else replace(job, formulas=known)

    def learn(self, job: Job, result: Encoded) -> None:
        """Keep the formulas ``result`` brought, if its worker derived any."""
        function = job.function
        if isinstance(result, Derived) and function is not None \
                and len(result.formulas) <= self._kept.maxsize:
            self._kept[function] = result.formulas
