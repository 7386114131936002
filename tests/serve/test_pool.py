"""The worker pool on its own: answers, limits, deaths, retirement, and a pool that cannot start.

Real processes from the fork server, as the engine starts them. Each test runs its
requests on fresh event loops, as a test client does, so waiting spans loops too.
"""

from __future__ import annotations

import asyncio
import operator
import os
import pickle
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from autograd_playground.serve.pool import (
    PoolBroken,
    TaskTimeout,
    WorkerDied,
    WorkerPool,
)
from autograd_playground.serve.worker import fork_context


def run(coro):
    """On a fresh loop in its own thread (the browser tests keep a loop in the main one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def task(fn, *args) -> bytes:
    return pickle.dumps((fn, args))


def new_pool(workers: int = 1, max_tasks: int = 0, initializer=int, initargs=()) -> WorkerPool:
    # The engine's context: whichever test starts the fork server, it starts warm.
    pool = WorkerPool(workers, max_tasks, initializer, initargs, fork_context())
    pool.start()
    return pool


@pytest.fixture
def pool():
    pool = new_pool()
    yield pool
    pool.stop()
    pool.join()


def pid(pool: WorkerPool, timeout: float = 5.0) -> int:
    return run(pool.run(task(os.getpid), timeout))


def test_a_task_is_answered_by_a_worker_process(pool):
    assert run(pool.run(task(operator.mul, 6, 7), 5.0)) == 42
    assert pid(pool) != os.getpid()


def test_the_tasks_own_error_arrives_whole(pool):
    with pytest.raises(ZeroDivisionError):
        run(pool.run(task(operator.truediv, 1, 0), 5.0))
    assert run(pool.run(task(operator.add, 1, 1), 5.0)) == 2


def test_an_answer_that_cannot_be_pickled_is_an_error_not_a_dead_worker(pool):
    first = pid(pool)
    with pytest.raises(RuntimeError, match="the answer could not be sent"):
        run(pool.run(task(threading.Lock), 5.0))
    assert pid(pool) == first


def test_a_task_past_its_limit_is_killed_and_its_worker_replaced(pool):
    first = pid(pool)
    start = time.monotonic()
    with pytest.raises(TaskTimeout):
        run(pool.run(task(time.sleep, 60), 0.3))
    assert time.monotonic() - start < 5
    replacement = pid(pool, timeout=60)  # waits for the new worker to start
    assert replacement != first
    with pytest.raises(ProcessLookupError):  # the old one is gone, not left running
        for _ in range(50):
            os.kill(first, 0)
            time.sleep(0.1)


def test_a_worker_killed_during_a_task_fails_that_task_alone(pool):
    first = pid(pool)

    async def killed_midway():
        running = asyncio.ensure_future(pool.run(task(time.sleep, 5), 30.0))
        await asyncio.sleep(0.3)
        os.kill(first, signal.SIGKILL)
        return await running

    with pytest.raises(WorkerDied):
        run(killed_midway())
    assert pid(pool, timeout=60) != first


def test_a_worker_killed_while_idle_is_replaced_when_next_needed(pool):
    for _ in range(5):
        first = pid(pool, timeout=60)
        # The next task comes at once, while the process may still be dying: it must
        # go to a new worker, not fail as if it had killed this one.
        os.kill(first, signal.SIGKILL)
        assert run(pool.run(task(operator.add, 2, 3), 60.0)) == 5
        assert pid(pool) != first


class Rebuilt(Exception):
    """An error that cannot be rebuilt from its pickle: its __init__ wants two arguments."""

    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")


def raise_rebuilt():
    raise Rebuilt(1, 2)


def raise_stop_iteration():
    return next(iter(()))


@pytest.mark.parametrize(
    "fn, args, text",
    [
        (raise_stop_iteration, (), "the task ended with StopIteration()"),
        (sys.exit, (3,), "the task ended with SystemExit(3)"),
        (raise_rebuilt, (), "the task failed with Rebuilt('1/2')"),
    ],
    ids=["StopIteration", "SystemExit", "unpicklable error"],
)
def test_an_error_the_caller_could_not_take_arrives_as_a_runtime_error(pool, fn, args, text):
    first = pid(pool)
    start = time.monotonic()
    with pytest.raises(RuntimeError) as failed:
        run(pool.run(task(fn, *args), 30.0))
    assert str(failed.value) == text
    assert time.monotonic() - start < 5  # answered, not waited out to the limit
    assert pid(pool) == first  # and the worker serves on


def test_a_caller_that_gives_up_does_not_keep_the_worker(pool):
    first = pid(pool)

    async def give_up():
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.run(task(time.sleep, 30), 60.0), 0.3)

    run(give_up())  # its loop is closed now, with the reader and the limit it set
    start = time.monotonic()
    assert pid(pool, timeout=60) != first  # a new worker, at once: not after 30 s
    assert time.monotonic() - start < 20


def test_a_worker_is_retired_after_max_tasks():
    pool = new_pool(max_tasks=3)
    try:
        pids = [pid(pool, timeout=60) for _ in range(6)]
    finally:
        pool.stop()
        pool.join()
    assert pids[0] == pids[1] == pids[2] != pids[3] == pids[4] == pids[5]


def test_tasks_wait_in_order_for_a_busy_worker_and_a_cancelled_wait_loses_nothing(pool):
    async def scenario():
        busy = asyncio.ensure_future(pool.run(task(time.sleep, 0.3), 5.0))
        await asyncio.sleep(0.05)
        given_up = asyncio.ensure_future(pool.run(task(operator.add, 0, 0), 5.0))
        queued = [asyncio.ensure_future(pool.run(task(time.monotonic), 5.0)) for _ in range(3)]
        await asyncio.sleep(0.05)
        given_up.cancel()
        await busy
        return await asyncio.gather(*queued)

    times = run(scenario())
    assert times == sorted(times)
    # The one worker still serves: the cancelled wait did not keep it.
    assert run(pool.run(task(operator.add, 1, 2), 5.0)) == 3


def test_two_workers_run_two_tasks_at_once():
    pool = new_pool(workers=2)
    try:
        pid(pool, timeout=60)

        async def two():
            start = time.monotonic()
            await asyncio.gather(*(pool.run(task(time.sleep, 0.5), 5.0) for _ in range(2)))
            return time.monotonic() - start

        assert run(two()) < 0.95  # side by side, not one after the other
    finally:
        pool.stop()
        pool.join()


def test_a_pool_whose_workers_cannot_start_says_so_instead_of_hanging():
    pool = new_pool(initializer=operator.truediv, initargs=(1, 0))
    try:
        start = time.monotonic()
        with pytest.raises(PoolBroken):
            run(pool.run(task(operator.add, 1, 1), 5.0))
        assert time.monotonic() - start < 30
        assert not pool.active
        with pytest.raises(PoolBroken):  # and refuses at once from then on
            run(pool.run(task(operator.add, 1, 1), 5.0))
    finally:
        pool.stop()
        pool.join()


def test_stopping_ends_a_running_task_and_kills_the_worker(pool):
    worker = pid(pool)

    async def stopped_midway():
        running = asyncio.ensure_future(pool.run(task(time.sleep, 30), 60.0))
        await asyncio.sleep(0.3)
        pool.stop()
        return await running

    with pytest.raises(PoolBroken):
        run(stopped_midway())
    pool.join()
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)


def test_stopping_from_another_thread_ends_running_and_waiting_tasks(pool):
    # As the engine does when it rebuilds a broken pool: stop() runs on a thread of its own.
    async def stopped_from_outside():
        running = asyncio.ensure_future(pool.run(task(time.sleep, 30), 60.0))
        waiting = asyncio.ensure_future(pool.run(task(operator.add, 1, 1), 60.0))
        await asyncio.sleep(0.3)
        threading.Thread(target=pool.stop).start()
        return await asyncio.gather(running, waiting, return_exceptions=True)

    outcomes = run(stopped_from_outside())
    assert [type(o) for o in outcomes] == [PoolBroken, PoolBroken]


def test_a_big_task_and_a_big_answer_cross_whole(pool):
    # Far past a socket's buffer both ways: the loop sends and gathers them in pieces.
    payload = bytes(range(256)) * 20_000  # 5 MB
    assert run(pool.run(task(bytes, payload), 30.0)) == payload
    assert run(pool.run(task(len, payload), 30.0)) == len(payload)
