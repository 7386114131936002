"""Round trips through the worker pool: what a small task costs, after a pause and back to back.

Two workers from the engine's fork server, a task that adds two numbers: rounds
of 20 round trips after a 0.5 s pause each, and 1000 back to back; prints the
median and p95 of each, and the threads the pool keeps. ``--pool FILE`` measures
another version of app/serve/pool.py in the same run, interleaved with this one,
so that machine noise hits both alike, e.g. the one before a change:

    git show HEAD~1:app/serve/pool.py > /tmp/pool_before.py
    .venv/bin/python bench/pool_round_trip.py [--pool /tmp/pool_before.py] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import operator
import pickle
import statistics
import threading
import time
from types import ModuleType

from autograd_playground.serve import pool as current
from autograd_playground.serve.worker import fork_context

PAYLOAD = pickle.dumps((operator.add, (2, 3)))


def load(path: str) -> ModuleType:
    """Another version of the pool module, imported beside the package's own."""
    spec = importlib.util.spec_from_file_location("autograd_playground.serve.pool_other", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def round_trips(pool, count: int, pause: float) -> list[float]:
    """Milliseconds of each of ``count`` round trips, ``pause`` s apart."""
    times = []
    for _ in range(count):
        if pause:
            await asyncio.sleep(pause)
        start = time.perf_counter()
        assert await pool.run(PAYLOAD, 5.0) == 5
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(module: ModuleType, after_pause: list[float], back_to_back: list[float]) -> int:
    """One round for ``module``'s pool; the threads it kept while it ran."""
    pool = module.WorkerPool(2, 0, int, (), fork_context())
    pool.start()
    try:
        asyncio.run(round_trips(pool, 20, 0.0))  # the workers are up and warm
        threads = threading.active_count()
        after_pause += asyncio.run(round_trips(pool, 20, 0.5))
        back_to_back += asyncio.run(round_trips(pool, 1000, 0.0))
        return threads
    finally:
        pool.stop()
        pool.join()


def summary(name: str, label: str, times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[-1]
    return f"{name:>8} {label:<13} median {statistics.median(times):6.3f} ms   p95 {p95:6.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", help="another pool.py to measure beside this one")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    versions = {"current": current}
    if args.pool:
        versions["other"] = load(args.pool)
    results = {name: ([], [], []) for name in versions}
    for _ in range(args.rounds):
        for name, module in versions.items():
            paused, busy, threads = results[name]
            threads.append(measure(module, paused, busy))
    for name, (paused, busy, threads) in results.items():
        print(summary(name, "after a pause", paused))
        print(summary(name, "back to back", busy))
        print(f"{name:>8} threads while running: {max(threads)}")


if __name__ == "__main__":
    main()
