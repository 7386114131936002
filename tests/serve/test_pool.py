"""The worker pool on its own: answers, limits, deaths, retirement, and a pool that cannot start.

Real processes from the fork server, as the engine starts them. Each test runs its
requests on fresh event loops, as a test client does. A test that needs a task to be
running in its worker waits for the file the task writes when it starts.
"""

from __future__ import annotations

import asyncio
import logging
import operator
import os
import pickle
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from autograd_playground.serve.pool import (
    PoolBroken,
    PoolStalled,
    PoolStuck,
    TaskTimeout,
    WorkerDied,
    WorkerPool,
)
from autograd_playground.serve.worker import fork_context
from tests.conftest import run_on_own_loop as run


def task(fn, *args) -> bytes:
    return pickle.dumps((fn, args))


def new_pool(workers: int = 1, max_tasks: int = 0, initializer=int, initargs=(), **kw) -> WorkerPool:
    # The engine's context: whichever test starts the fork server, it starts warm.
    pool = WorkerPool(workers, max_tasks, initializer, initargs, fork_context(), **kw)
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


def mark_and_sleep(path: str, seconds: float) -> int:
    """Runs in a worker: say it started (a file holding its pid), then sleep."""
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


async def started(path: Path, deadline: float = 30.0) -> int:
    """The pid of the worker that wrote ``path``, once it has; polled with a deadline."""
    end = time.monotonic() + deadline
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < end, f"no task started ({path.name})"
        await asyncio.sleep(0.01)
    return int(path.read_text())


def until(condition, deadline: float = 30.0) -> bool:
    """Whether ``condition()`` comes true within ``deadline`` s (polled)."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def gone(process_id: int, deadline: float = 10.0) -> bool:
    """Whether the process ends within ``deadline`` s (polled)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            os.kill(process_id, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_a_task_is_answered_by_a_worker_process(pool):
    assert run(pool.run(task(operator.mul, 6, 7), 5.0)) == 42
    assert pid(pool) != os.getpid()


def test_the_tasks_own_error_arrives_whole(pool):
    with pytest.raises(ZeroDivisionError):
        run(pool.run(task(operator.truediv, 1, 0), 5.0))
    assert run(pool.run(task(operator.add, 1, 1), 5.0)) == 2


def raise_timeout_error():
    raise TimeoutError("the task's own")


def test_a_tasks_own_timeout_error_is_not_the_limit(pool):
    with pytest.raises(TimeoutError, match="the task's own"):
        run(pool.run(task(raise_timeout_error), 5.0))


def test_an_answer_that_cannot_be_pickled_is_an_error_not_a_dead_worker(pool):
    first = pid(pool)
    with pytest.raises(RuntimeError, match="the answer could not be sent"):
        run(pool.run(task(threading.Lock), 5.0))
    assert pid(pool) == first


def test_a_task_past_its_limit_is_killed_and_its_worker_replaced(pool):
    first = pid(pool)
    with pytest.raises(TaskTimeout):
        run(pool.run(task(time.sleep, 60), 0.3))
    assert gone(first)  # killed, not left running for 60 s
    assert pid(pool, timeout=60) != first


def test_a_worker_killed_during_a_task_fails_that_task_alone(pool, tmp_path):
    async def killed_midway():
        running = asyncio.ensure_future(
            pool.run(task(mark_and_sleep, str(tmp_path / "a"), 30), 60.0)
        )
        os.kill(await started(tmp_path / "a"), signal.SIGKILL)
        return await running

    with pytest.raises(WorkerDied):
        run(killed_midway())
    assert run(pool.run(task(operator.add, 2, 3), 60.0)) == 5


def test_pebble_gives_up_a_pool_whose_only_worker_was_killed_while_idle(caplog):
    # pebble reads a worker lost while no task runs as "all workers expired". The
    # pool's watch tells its owner at once, with no task asked, so that the owner
    # can build the next pool before a student waits for it; a task that never
    # reached a worker may run on a new pool (the engine's, in
    # tests/serve/test_engine_recovery.py), and the break is logged once.
    told: list[str] = []
    pool = new_pool(on_fail=lambda _, reason: told.append(reason))
    try:
        with caplog.at_level(logging.WARNING, logger="autograd_playground.serve.pool"):
            os.kill(pid(pool, timeout=60), signal.SIGKILL)
            assert until(lambda: told == ["broken"])
            for _ in range(3):
                with pytest.raises(PoolBroken) as broken:
                    run(pool.run(task(operator.add, 2, 3), 60.0))
                assert not broken.value.started
        assert not pool.active
        assert pool.ended == "broken"
        assert len([r for r in caplog.records if "worker pool broken" in r.message]) == 1
    finally:
        pool.stop()
        pool.join()


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
    with pytest.raises(RuntimeError) as failed:
        run(pool.run(task(fn, *args), 300.0))  # answered: the limit would fail the test
    assert str(failed.value) == text
    assert pid(pool) == first  # and the worker serves on


def test_a_caller_that_gives_up_does_not_keep_the_worker(pool, tmp_path):
    async def give_up():
        running = asyncio.ensure_future(
            pool.run(task(mark_and_sleep, str(tmp_path / "a"), 600), 900.0)
        )
        worker = await started(tmp_path / "a")
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        return worker

    worker = run(give_up())  # its loop is closed now
    assert gone(worker)  # pebble stopped the worker: it does not sleep on for 600 s
    assert pid(pool, timeout=60) != worker


def test_workers_are_retired_after_max_tasks_and_each_retirement_is_counted():
    retired: list[int] = []
    pool = new_pool(max_tasks=3, on_recycle=lambda: retired.append(1))
    try:
        pids = [pid(pool, timeout=60) for _ in range(7)]
    finally:
        pool.stop()
        pool.join()
    assert pids[0] == pids[1] == pids[2] != pids[3] == pids[4] == pids[5] != pids[6]
    assert pool.recycled == len(retired) == 2


def test_tasks_wait_for_a_busy_worker_and_a_cancelled_wait_loses_nothing(pool, tmp_path):
    async def scenario():
        busy = asyncio.ensure_future(pool.run(task(mark_and_sleep, str(tmp_path / "a"), 0.3), 5.0))
        await started(tmp_path / "a")
        given_up = asyncio.ensure_future(pool.run(task(operator.add, 0, 0), 5.0))
        queued = [asyncio.ensure_future(pool.run(task(operator.add, i, 1), 5.0)) for i in range(3)]
        await asyncio.sleep(0)  # let them be scheduled
        given_up.cancel()
        await busy
        return await asyncio.gather(*queued)

    assert run(scenario()) == [1, 2, 3]
    # The one worker still serves: the cancelled wait did not keep it.
    assert run(pool.run(task(operator.add, 1, 2), 5.0)) == 3


def meet(folder: str, count: int, deadline: float) -> bool:
    """Runs in a worker: leave a mark, then wait for ``count`` marks (another worker's)."""
    Path(folder, str(os.getpid())).touch()
    end = time.monotonic() + deadline
    while len(os.listdir(folder)) < count:
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def test_two_workers_run_two_tasks_at_once(tmp_path):
    pool = new_pool(workers=2)
    try:

        async def two():
            return await asyncio.gather(
                *(pool.run(task(meet, str(tmp_path), 2, 30.0), 60.0) for _ in range(2))
            )

        # Each saw the other's mark while it ran: side by side, not one after the other.
        assert run(two()) == [True, True]
    finally:
        pool.stop()
        pool.join()


def test_a_pool_whose_workers_cannot_start_says_so_instead_of_hanging(caplog):
    told: list[str] = []
    with caplog.at_level(logging.WARNING, logger="autograd_playground.serve.pool"):
        pool = new_pool(initializer=operator.truediv, initargs=(1, 0), on_fail=lambda _, r: told.append(r))
        try:
            with pytest.raises(PoolBroken):
                run(pool.run(task(operator.add, 1, 1), 5.0))
            assert not pool.active
            with pytest.raises(PoolBroken):  # and refuses from then on
                run(pool.run(task(operator.add, 1, 1), 5.0))
            assert until(lambda: pool.ended == "broken")  # its watch saw it too
        finally:
            pool.stop()
            pool.join()
    # A pool that never started a task is not reported by its watch: its owner
    # would build another that cannot start, and so on, with nobody asking.
    assert told == []
    assert [r.levelno for r in caplog.records if "worker pool broken" in r.message] == [
        logging.WARNING
    ]


def test_stopping_from_another_thread_ends_running_and_waiting_tasks(pool, tmp_path):
    # As the engine does when it rebuilds a broken pool: stop() runs on a thread of its own.
    async def stopped_from_outside():
        running = asyncio.ensure_future(
            pool.run(task(mark_and_sleep, str(tmp_path / "a"), 30), 60.0)
        )
        waiting = asyncio.ensure_future(pool.run(task(operator.add, 1, 1), 60.0))
        worker = await started(tmp_path / "a")
        threading.Thread(target=pool.stop).start()
        return worker, await asyncio.gather(running, waiting, return_exceptions=True)

    worker, (running, waiting) = run(stopped_from_outside())
    assert type(running) is PoolBroken
    # pebble's threads may hand the waiting task to a new worker while they wind down:
    # it is answered rightly, or told the pool is gone, never left waiting.
    assert waiting == 2 or type(waiting) is PoolBroken
    pool.join()
    assert gone(worker)


def test_a_task_that_holds_its_worker_past_the_limit_and_grace_is_a_stuck_pool(pool, tmp_path):
    # As when pebble cannot stop the worker (its channel lock held by a dead worker):
    # here pebble is given no limit, so only the guard sees the task overstay.
    async def overstay():
        return await pool.run(task(mark_and_sleep, str(tmp_path / "a"), 60), None, 0.5)

    with pytest.raises(PoolStuck):
        run(overstay())


def test_a_big_task_and_a_big_answer_cross_whole(pool):
    payload = bytes(range(256)) * 20_000  # 5 MB
    assert run(pool.run(task(bytes, payload), 30.0)) == payload
    assert run(pool.run(task(len, payload), 30.0)) == len(payload)


def hold_the_channel(path: str) -> None:
    """Runs in a worker: take pebble's channel lock, say so (a file holding the pid), sleep.

    Killed now, the worker leaves the lock taken for good, as a worker killed
    between taking a task and acknowledging it does (pebble issue #163): no
    worker can take a task again, though each is alive and free.
    """
    import gc

    from pebble.pool.channel import WorkerChannel

    channel = next(o for o in gc.get_objects() if isinstance(o, WorkerChannel))
    channel.mutex.acquire()
    Path(path).write_text(str(os.getpid()))
    time.sleep(600)


def test_a_pool_whose_channel_a_killed_worker_holds_is_found_stalled(tmp_path):
    told: list[str] = []
    pool = new_pool(workers=2, stall=0.5, on_fail=lambda _, reason: told.append(reason))

    async def wedged():
        holder = asyncio.ensure_future(pool.run(task(hold_the_channel, str(tmp_path / "a")), 60.0, 60.0))
        os.kill(await started(tmp_path / "a"), signal.SIGKILL)
        with pytest.raises(WorkerDied):
            await holder
        # Two workers are free, yet none can take these. Limits of a minute each:
        # only the stall can end them before the deadline.
        waiting = [pool.run(task(operator.add, i, 1), 60.0, 60.0) for i in range(3)]
        return await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 30.0)

    try:
        outcomes = run(wedged())
    finally:
        pool.stop()
        pool.join()
    assert [type(o) for o in outcomes] == [PoolStalled] * 3
    assert not any(o.started for o in outcomes)  # so each may run again elsewhere
    assert told == ["stalled"]
    assert pool.ended == "stalled"


def test_tasks_waiting_for_busy_workers_are_not_a_stall(tmp_path):
    # Two workers held by tasks of 1.5 s, three more tasks waiting three times as
    # long as the stall: the pool is full, not stalled.
    told: list[str] = []
    pool = new_pool(workers=2, stall=0.5, on_fail=lambda _, reason: told.append(reason))
    try:

        async def queue():
            return await asyncio.gather(
                *(pool.run(task(mark_and_sleep, str(tmp_path / str(i)), 1.5), 60.0) for i in range(5))
            )

        assert len(run(queue())) == 5
        assert told == []
        assert pool.ended is None
    finally:
        pool.stop()
        pool.join()
