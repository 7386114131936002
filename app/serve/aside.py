"""Work a student asked for beside a result holds at most some of the workers.

The page's derivative panel, loaded apart from the result, runs sympy: a teacher's
new function's first panels take a tenth of a second or more each. If they held
every worker at once in a class's first second, every student's result would
queue behind them. So a job *aside* waits for one of ``slots`` turns (by default
all workers but one, Engine), leaving a worker to the results; but only for
``wait`` seconds: past that it runs anyway, so that a panel is not held behind a
queue of other panels longer than it would have waited for a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Aside:
    """At most ``slots`` jobs aside at once (0: no bound), each waiting ``wait`` s at most."""

    def __init__(self, slots: int, wait: float):
        self.slots = slots
        self.wait = wait
        self._turns = asyncio.Semaphore(slots) if slots > 0 else None

    @contextlib.asynccontextmanager
    async def turn(self, aside: bool) -> AsyncIterator[None]:
        """A turn for a job aside; any other job (``aside`` False) goes at once."""
        turns = self._turns if aside else None
        held = False
        if turns is not None:
            with contextlib.suppress(TimeoutError):
                # wait_for gives the turn back as acquired if it came as the wait ended.
                held = await asyncio.wait_for(turns.acquire(), self.wait)
        try:
            yield
        finally:
            if held and turns is not None:
                turns.release()
