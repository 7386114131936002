"""Each client's fair share of the workers: a budget of work in flight, per client.

A client (an address, as the rate limiter reads it) may have at most ``units``
of work in the workers at once. A job's units are its price by size
(jobs.job_cost): a plain computation is 1, a symbolic, second-order, training
or large one costs several, and a cache hit costs nothing, since no worker runs
for it. A client over its share waits, behind its own earlier jobs only, for at
most ``max_wait`` seconds; with ``max_waiting`` of its jobs waiting already, or
once that time is up, the job is refused (engine.Busy, 503 with Retry-After).
Other clients are admitted meanwhile: one student's slow programs hold at most
their share of the workers, never all of them.

A job alone is always admitted, whatever its price: a client with nothing in
flight is never refused here (engine admission may still refuse it).

The counts live in this process (one replica), in an instance, never in a
module global; they hold a client address only while its jobs are in flight.
asyncio.Condition is not used: it binds to the first event loop that uses it,
and tests run each case on a loop of its own.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class OverShare(Exception):
    """The client has used its share; it may come back after ``retry_after`` s."""

    def __init__(self, retry_after: int):
        super().__init__(f"over the client's share, retry after {retry_after} s")
        self.retry_after = retry_after


class Shares:
    """Units of work in flight per client, bounded by ``units``; ``units <= 0``: no bound."""

    def __init__(self, units: int, max_wait: float, max_waiting: int = 8):
        self.units = units
        self.max_wait = max_wait
        self.max_waiting = max_waiting
        self._held: dict[str, int] = {}
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}

    def held(self, client: str) -> int:
        """The units ``client`` has in flight now."""
        return self._held.get(client, 0)

    def _fits(self, client: str, cost: int) -> bool:
        held = self._held.get(client, 0)
        return held == 0 or held + cost <= self.units

    @asynccontextmanager
    async def hold(self, client: str | None, cost: int) -> AsyncIterator[None]:
        """Hold ``cost`` units of ``client``'s share while the block runs.

        Waits while the client is over its share; raises OverShare when too many
        of its jobs wait already, or when the wait would pass ``max_wait``.
        """
        if client is None or self.units <= 0:
            yield
            return
        await self._admit(client, cost)
        self._held[client] = self._held.get(client, 0) + cost
        try:
            yield
        finally:
            left = self._held.get(client, 0) - cost
            if left > 0:
                self._held[client] = left
            else:
                self._held.pop(client, None)
            self._wake(client)

    async def _admit(self, client: str, cost: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        retry = max(1, math.ceil(self.max_wait))
        while not self._fits(client, cost):
            queue = self._waiting.setdefault(client, [])
            left = deadline - loop.time()
            if len(queue) >= self.max_waiting or left <= 0:
                raise OverShare(retry)
            turn: asyncio.Future[None] = loop.create_future()
            queue.append(turn)
            try:
                await asyncio.wait_for(turn, left)
            except TimeoutError:
                raise OverShare(retry) from None
            finally:
                if turn in queue:
                    queue.remove(turn)
                if not queue:
                    self._waiting.pop(client, None)

    def _wake(self, client: str) -> None:
        """Let the client's first waiting job look again whether it fits now."""
        for turn in self._waiting.get(client, []):
            if not turn.done():
                turn.set_result(None)
                return
