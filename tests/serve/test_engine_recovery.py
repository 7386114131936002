"""The engine refuses bad values before they are queued, and its pool survives what a task does.

Values are checked in the web process before anything is pickled, queued or
cached (make_job); the pool survives arguments that cannot be pickled, and
workers that die; a pool that cannot start workers is reported, not waited on;
a result is bounded in the worker. The pool tests
start real workers.
"""

from __future__ import annotations

import asyncio
import math
import operator
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from autograd_playground.core.language.rules import ExprError, Limits
from autograd_playground.serve.engine import Busy, Engine, Overrun
from autograd_playground.serve.jobs import make_job
from autograd_playground.serve.pool import WorkerPool
from autograd_playground.serve.worker import fork_context
from tests.conftest import run_on_own_loop as run

SEED = "5*x**3 + 2*x**2 + 4*x + 8"


def nested(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value




# --- values are checked before they are queued ------------------------------


@pytest.mark.parametrize("depth", [5, 450, 500, 5_000, 100_000])
def test_a_deep_value_is_refused_with_the_nesting_sentence(depth):
    with pytest.raises(ExprError) as refused:
        make_job("x+1", {"x": nested(depth)}, None, "torchviz", Limits())
    assert refused.value.message == "The value of 'x' is nested more than 4 deep."


@pytest.mark.parametrize("depth", [500, 100_000])
def test_an_unused_deep_value_is_dropped_not_queued(depth):
    job = make_job("x+1", {"x": 2, "z": nested(depth)}, None, "torchviz", Limits())
    assert job.inputs == {"x": 2}
    # Same job, same key, as without the unused value: a cache hit, not a new computation.
    assert job.key == make_job("x+1", {"x": 2}, None, "torchviz", Limits()).key


@pytest.mark.parametrize(
    "value, sentence",
    [
        (True, "The value of 'x' must be a number or a list of numbers."),
        ("2", "The value of 'x' must be a number or a list of numbers."),
        (None, "The value of 'x' must be a number or a list of numbers."),
        ({"a": 1}, "The value of 'x' must be a number or a list of numbers."),
        ([1, True], "The value of 'x' must contain only numbers."),
        ([1, "2"], "The value of 'x' must contain only numbers."),
        ([1, None], "The value of 'x' must contain only numbers."),
        ([[1, 2], [3]], "The value of 'x' is not rectangular: its rows differ in length."),
        ([[1], 2], "The value of 'x' is not rectangular: its rows differ in length."),
        ([], "The value of 'x' contains an empty list."),
        ([1, 10**16], "A number in the value of 'x' is too large."),
        (10**400, "A number in the value of 'x' is too large."),
        (math.inf, "A number in the value of 'x' is not finite (nan or inf); use ordinary numbers."),
        ([1.0, math.nan], "A number in the value of 'x' is not finite (nan or inf); use ordinary numbers."),
        ([0.0] * 10_001, "The value of 'x' has more than 10000 numbers."),
        ([[0.0] * 1000] * 1000, "The value of 'x' has more than 10000 numbers."),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_values_are_refused_with_a_sentence_in_the_web_process(value, sentence):
    with pytest.raises(ExprError) as refused:
        make_job("sum(x)", {"x": value}, None, "torchviz", Limits())
    assert refused.value.message == sentence


def test_the_variable_limit_holds_for_every_caller():
    text = "+".join(f"v{i}" for i in range(21))
    with pytest.raises(ExprError) as refused:
        make_job(text, {}, None, "torchviz", Limits())
    assert refused.value.message == "Too many variables: 21; the limit is 20."
    make_job("+".join(f"v{i}" for i in range(20)), {}, None, "torchviz", Limits())


def test_a_result_over_the_byte_limit_is_refused_in_the_worker():
    from autograd_playground.serve.jobs import _run_job

    job = make_job("sum(x*x)", {"x": [1.0] * 100}, None, "torchviz", Limits())
    limits = Limits(max_result_bytes=10_000)
    with pytest.raises(ExprError) as refused:
        _run_job(job, limits, 5.0)
    assert "more than the 10000 one answer may have" in refused.value.message
    assert _run_job(job, Limits(), 5.0).data()["gradients"]["x"] == [2.0] * 100


# --- the pool survives its arguments, and is rebuilt if it breaks ------------


@pytest.fixture(scope="module")
def engine():
    events: list[tuple[str, str]] = []
    engine = Engine(
        workers=1, timeout=5.0, limits=Limits(), dot_timeout=5.0, max_queue=4, max_tasks=0,
        memory_mb=0, cache_bytes=0, on_event=lambda kind, value: events.append((kind, value)),
    )
    engine.events = events
    engine.start()
    yield engine
    engine.close()


def gradient(engine: Engine, x: float) -> float:
    result, _ = run(engine.compute(make_job("x**2", {"x": x}, None, "torchviz", Limits())))
    return result.data()["gradients"]["x"]


@pytest.mark.parametrize(
    "argument", [nested(100_000), threading.Lock(), lambda: 1], ids=["deep", "lock", "lambda"]
)
def test_an_argument_that_cannot_be_pickled_fails_alone(engine, argument):
    with pytest.raises(ExprError) as refused:
        run(engine.submit(len, [argument]))
    assert refused.value.message == "The request could not be handed to a worker; make it simpler."
    assert engine.healthy
    assert gradient(engine, 3.0) == 6.0


def worker_pid(engine: Engine) -> int:
    return run(engine.submit(os.getpid))


def test_a_worker_killed_from_outside_is_replaced_and_work_goes_on(engine):
    # The kernel's OOM killer, or an admin's kill -9, while the worker waits for work.
    os.kill(worker_pid(engine), signal.SIGKILL)
    assert gradient(engine, 4.0) == 8.0  # at once: the task goes to a new worker
    assert engine.healthy


def raise_timeout_error():
    raise TimeoutError("the task's own")


def test_a_tasks_own_timeout_error_is_its_error_not_a_stuck_pool(engine):
    engine.events.clear()
    with pytest.raises(TimeoutError, match="the task's own"):
        run(engine.submit(raise_timeout_error))
    assert not [e for e in engine.events if e[0] == "restart"]
    assert gradient(engine, 6.0) == 12.0


def mark_and_sleep(path: str, seconds: float) -> None:
    """Runs in a worker: say it started (a file holding its pid), then sleep."""
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)


async def started(path: Path, deadline: float = 30.0) -> int:
    """The pid of the worker that wrote ``path``, once it has; polled with a deadline."""
    end = time.monotonic() + deadline
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < end, "the task did not start"
        await asyncio.sleep(0.01)
    return int(path.read_text())


def test_a_worker_that_dies_during_a_task_fails_that_request_alone(engine, tmp_path):
    async def scenario():
        running = asyncio.ensure_future(engine.submit(mark_and_sleep, str(tmp_path / "a"), 30))
        victim = await started(tmp_path / "a")
        queued = asyncio.ensure_future(engine.submit(operator.add, 2, 3))
        os.kill(victim, signal.SIGKILL)
        outcomes = []
        for request in (running, queued):
            try:
                outcomes.append(await request)
            except Overrun as stopped:
                outcomes.append(stopped.reason)
        return outcomes

    assert run(scenario()) == ["crash", 5]  # the queued request waited for the new worker
    assert ("restart", "crash") in engine.events
    assert gradient(engine, 5.0) == 10.0


def test_a_pool_whose_workers_cannot_start_is_reported_busy_and_unhealthy(monkeypatch):
    def pool_that_cannot_start(self: Engine) -> WorkerPool:
        # Each worker's set-up fails (as when a fork fails, or the warm-up cannot run).
        pool = WorkerPool(1, 0, operator.truediv, (1, 0), fork_context())
        pool.start()
        return pool

    monkeypatch.setattr(Engine, "_new_pool", pool_that_cannot_start)
    events: list[tuple[str, str]] = []
    engine = Engine(
        workers=1, timeout=5.0, limits=Limits(), dot_timeout=5.0, max_queue=4, max_tasks=0,
        memory_mb=0, cache_bytes=0, on_event=lambda kind, value: events.append((kind, value)),
    )
    engine.start()
    try:
        with pytest.raises(Busy):  # told, not left waiting
            run(engine.submit(operator.add, 1, 1))
        assert ("restart", "broken") in events  # and a new pool is tried for the next request
        with pytest.raises(Busy):
            run(engine.submit(operator.add, 1, 1))
        deadline = time.monotonic() + 30
        while engine.healthy and time.monotonic() < deadline:  # the new pool fails too
            time.sleep(0.05)
        assert not engine.healthy  # /healthz turns red
    finally:
        engine.close()


def hold_the_channel(path: str) -> None:
    """Runs in a worker: take pebble's channel lock, say so (a file holding the pid), sleep.

    Killed now, the worker leaves the lock taken for good, as a worker killed
    between taking a task and acknowledging it does (pebble issue #163).
    """
    import gc

    from pebble.pool.channel import WorkerChannel

    channel = next(o for o in gc.get_objects() if isinstance(o, WorkerChannel))
    channel.mutex.acquire()
    Path(path).write_text(str(os.getpid()))
    time.sleep(600)


def new_engine(events: list[tuple[str, str]], stall: float) -> Engine:
    engine = Engine(
        workers=1, timeout=5.0, limits=Limits(), dot_timeout=5.0, max_queue=4, max_tasks=0,
        memory_mb=0, cache_bytes=0, on_event=lambda kind, value: events.append((kind, value)),
    )
    engine.stall = stall
    engine.start()
    return engine


def test_a_request_waiting_on_a_stalled_pool_is_answered_by_a_new_one(tmp_path):
    # The worker dies holding pebble's channel lock: its replacement can never take
    # a task. The request behind it must not wait out the limit and the grace
    # (15 s here) to be told Busy: it is run on a new pool.
    events: list[tuple[str, str]] = []
    engine = new_engine(events, stall=0.5)

    async def scenario():
        holder = asyncio.ensure_future(engine.submit(hold_the_channel, str(tmp_path / "a")))
        os.kill(await started(tmp_path / "a"), signal.SIGKILL)
        with pytest.raises(Overrun):
            await holder
        return await engine.submit(operator.add, 2, 3)

    try:
        assert run(scenario()) == 5
        assert [e for e in events if e[0] == "restart"] == [("restart", "crash"), ("restart", "stalled")]
        assert gradient(engine, 7.0) == 14.0
        assert engine.healthy
    finally:
        engine.close()


def test_a_pool_that_lost_its_idle_worker_is_replaced_before_the_next_request():
    events: list[tuple[str, str]] = []
    engine = new_engine(events, stall=3.0)
    try:
        os.kill(worker_pid(engine), signal.SIGKILL)
        # Nobody asks: the pool's watch has the engine build the next one.
        deadline = time.monotonic() + 30
        while ("restart", "broken") not in events and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ("restart", "broken") in events
        assert engine.healthy
        assert gradient(engine, 4.0) == 8.0
        assert events.count(("restart", "broken")) == 1  # one new pool, not one per request
    finally:
        engine.close()
