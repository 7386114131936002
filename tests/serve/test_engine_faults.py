"""The engine under load and faults: a queue of slow jobs is not a stuck pool.

Real worker processes. Jobs that sleep in their worker stand in for slow functions.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from autograd_playground.core.language.rules import Limits
from autograd_playground.serve.engine import Engine


def run(coro):
    """On a fresh loop in its own thread (the browser tests keep a loop in the main one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def new_engine(events: list[tuple[str, str]], stuck_grace: float, **overrides) -> Engine:
    options = dict(
        workers=2, timeout=2.0, limits=Limits(), dot_timeout=5.0, max_queue=64, max_tasks=0,
        memory_mb=0, cache_bytes=0, max_wait=1000.0,
        on_event=lambda kind, value: events.append((kind, value)),
    )
    options.update(overrides)
    engine = Engine(**options)
    engine.stuck_grace = stuck_grace
    engine.start()
    return engine


def slow(i: int, seconds: float) -> int:
    time.sleep(seconds)
    return i


def test_more_slow_jobs_than_workers_are_all_answered_without_a_restart():
    # Eight jobs of 0.9 s on two workers: the last ones wait about 2.7 s for a
    # worker, past the limit plus the grace (2.5 s), yet none holds its worker long.
    events: list[tuple[str, str]] = []
    engine = new_engine(events, stuck_grace=0.5)
    try:

        async def crowd():
            return await asyncio.gather(*(engine.submit(slow, i, 0.9) for i in range(8)))

        assert run(crowd()) == list(range(8))
        assert [e for e in events if e[0] == "restart"] == []
        assert engine.healthy
    finally:
        engine.close()
