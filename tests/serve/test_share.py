"""Each client's share of the workers, admission priced by size, and remembered timeouts."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from fastapi.testclient import TestClient

from autograd_playground.core.language.rules import Extras, Limits
from autograd_playground.serve.aside import Aside
from autograd_playground.serve.cache import Encoded
from autograd_playground.serve.engine import Busy, Engine, Overrun
from autograd_playground.serve.jobs import job_cost, make_job, make_train_job
from autograd_playground.serve.settings import Settings
from autograd_playground.serve.share import OverShare, Shares
from autograd_playground.web.main import create_app
from tests.conftest import run_on_own_loop as run
from tests.conftest import until


def in_process_engine(**overrides) -> Engine:
    options = dict(workers=0, timeout=5.0, limits=Limits(), dot_timeout=5.0, max_queue=1000,
                   max_tasks=0, memory_mb=0, cache_bytes=2**20)
    options.update(overrides)
    return Engine(**options)


def held_until(gate: threading.Event, label: str) -> Encoded:
    """A task that holds its worker until ``gate`` opens."""
    gate.wait(10)
    return Encoded.of(label)


# --- prices ----------------------------------------------------------------------


def test_expensive_jobs_cost_more_than_a_plain_one() -> None:
    plain = make_job("x**2", {"x": 1.0}, None, "torchviz", Limits())
    symbolic = make_job("x**2", {"x": 1.0}, None, "torchviz", Limits(), Extras(symbolic=True))
    second = make_job("x**2", {"x": 1.0}, None, "torchviz", Limits(), Extras(order=2))
    big = make_job("sum(v)", {"v": [1.0] * 5000}, None, "torchviz", Limits())
    train = make_train_job("(w - 3)**2", {"w": 0.0}, ["w"], 0.1, 100, True, Limits())
    assert plain.cost == 1 and not plain.heavy
    assert symbolic.cost > plain.cost and symbolic.heavy
    assert second.cost > plain.cost and second.heavy
    assert big.cost == 1 + 5
    assert train.cost > plain.cost and train.heavy
    assert job_cost(100, {"v": [0.0] * 100_000}, Extras(symbolic=True, order=2)) == 16


# --- the share per client ----------------------------------------------------------


def test_a_client_over_its_share_waits_while_another_is_admitted() -> None:
    shares = Shares(units=1, max_wait=5.0)

    async def play() -> list[str]:
        order: list[str] = []
        release = asyncio.Event()

        async def job(client: str, label: str) -> None:
            async with shares.hold(client, 1):
                order.append(label)
                await release.wait()

        first = asyncio.ensure_future(job("a", "a1"))
        await until(lambda: shares.held("a") == 1)
        second = asyncio.ensure_future(job("a", "a2"))
        other = asyncio.ensure_future(job("b", "b1"))
        await until(lambda: shares.held("b") == 1)
        assert order == ["a1", "b1"]  # a2 waits behind a1; b is not kept waiting
        release.set()
        await asyncio.gather(first, second, other)
        assert shares.held("a") == shares.held("b") == 0
        return order

    assert run(play()) == ["a1", "b1", "a2"]


def test_a_job_alone_is_admitted_whatever_its_price() -> None:
    shares = Shares(units=1, max_wait=1.0)

    async def play() -> int:
        async with shares.hold("a", 16):
            return shares.held("a")

    assert run(play()) == 16


def test_too_many_waiting_jobs_of_one_client_are_refused_at_once() -> None:
    shares = Shares(units=1, max_wait=30.0, max_waiting=2)

    async def play() -> OverShare:
        release = asyncio.Event()

        async def job() -> None:
            async with shares.hold("a", 1):
                await release.wait()

        jobs = [asyncio.ensure_future(job()) for _ in range(3)]  # one runs, two wait
        await until(lambda: len(shares._waiting.get("a", [])) == 2)
        with pytest.raises(OverShare) as refused:
            async with shares.hold("a", 1):
                pass
        release.set()
        await asyncio.gather(*jobs)
        return refused.value

    assert run(play()).retry_after >= 1


def test_the_engine_refuses_a_client_past_its_share_and_serves_another() -> None:
    engine = in_process_engine(workers=0, client_units=1, max_wait=0.2)
    gate = threading.Event()

    async def play() -> tuple[Busy, str]:
        slow = asyncio.ensure_future(
            engine.cached("k1", held_until, gate, "slow", client="127.0.0.2")
        )
        await until(lambda: engine.pending == 1)
        with pytest.raises(Busy) as refused:  # its second job waited 0.2 s, then 503
            await engine.cached("k2", held_until, gate, "again", client="127.0.0.2")
        assert engine.pending == 1  # the refused job never reached a worker
        gate.set()
        other, how = await engine.cached("k3", held_until, gate, "other", client="127.0.0.3")
        await slow
        return refused.value, f"{other.data()} {how}"

    busy, other = run(play())
    assert busy.retry_after >= 1
    assert other == "other miss"


def test_a_cache_hit_holds_no_share() -> None:
    engine = in_process_engine(workers=0, client_units=1, max_wait=0.2)
    gate = threading.Event()
    gate.set()
    run(engine.cached("kept", held_until, gate, "kept", client="a"))
    gate.clear()

    async def play() -> str:
        slow = asyncio.ensure_future(engine.cached("k1", held_until, gate, "slow", client="a"))
        await until(lambda: engine.pending == 1)
        found, how = await engine.cached("kept", held_until, gate, "never", client="a")
        gate.set()
        await slow
        return f"{found.data()} {how}"

    assert run(play()) == "kept hit"


# --- admission priced by size ----------------------------------------------------------


def test_admission_prices_heavy_jobs_by_their_size_not_by_the_plain_mean() -> None:
    """30 heavy jobs at once from 30 clients while plain jobs take 5 ms: not all admitted."""
    engine = in_process_engine(max_wait=2.0, first_estimate=0.005)

    async def crowd() -> tuple[int, int]:
        jobs = [
            asyncio.ensure_future(engine.submit(time.sleep, 0.01, cost=4, heavy=True))
            for _ in range(30)
        ]
        outcomes = await asyncio.gather(*jobs, return_exceptions=True)
        refused = sum(isinstance(o, Busy) for o in outcomes)
        return len(outcomes) - refused, refused

    admitted, refused = run(crowd())
    assert refused > 0 and admitted >= 2
    assert engine.pending == 0 and engine.pending_seconds == 0.0


# --- remembered timeouts ----------------------------------------------------------------


def timed_out_engine(calls: list[str]) -> Engine:
    engine = in_process_engine(timeout_memory=60.0)

    async def times_out(fn, *args, **kwargs):
        calls.append("ran")
        raise Overrun("timeout")

    engine.submit = times_out  # type: ignore[method-assign]
    return engine


def test_a_job_that_timed_out_is_refused_again_at_once() -> None:
    calls: list[str] = []
    engine = timed_out_engine(calls)
    for _ in range(3):
        with pytest.raises(Overrun) as stopped:
            run(engine.cached("slow", held_until, threading.Event(), "never"))
        assert stopped.value.reason == "timeout"
    assert calls == ["ran"]  # a worker's time was spent once


def test_the_api_answers_a_remembered_timeout_with_the_same_422() -> None:
    app = create_app(Settings(workers=0, warm_cache=False, timeout_memory_seconds=60))
    calls: list[str] = []
    with TestClient(app) as client:

        async def times_out(fn, *args, **kwargs):
            calls.append("ran")
            raise Overrun("timeout")

        app.state.engine.submit = times_out
        body = {"expression": "x**2 + 1", "inputs": {"x": 4}, "symbolic": True}
        first = client.post("/api/graph", json=body)
        again = client.post("/api/graph", json=body)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert "longer than" in first.json()["detail"]
    assert calls == ["ran"]


# --- work aside leaves a worker to the results ---------------------------------------------


def started_until(gate: threading.Event, started: list[str], label: str) -> Encoded:
    """A task that says it started, then holds its worker until ``gate`` opens."""
    started.append(label)
    gate.wait(10)
    return Encoded.of(label)


def test_panels_aside_leave_a_worker_to_the_results() -> None:
    engine = in_process_engine()
    engine.aside = Aside(1, wait=30.0)  # longer than the test: panel 2 waits for its turn
    gate, started = threading.Event(), []

    async def play() -> list[str]:
        def submit(label: str, aside: bool) -> asyncio.Future:
            return asyncio.ensure_future(engine.submit(
                started_until, gate, started, label, heavy=True, aside=aside))

        first = submit("panel 1", True)
        await until(lambda: started == ["panel 1"])
        second = submit("panel 2", True)
        result = submit("result with its panel", False)
        await until(lambda: "result with its panel" in started)
        assert started == ["panel 1", "result with its panel"]  # panel 2 waits its turn
        gate.set()
        answers = await asyncio.gather(first, second, result)
        assert [a.data() for a in answers] == ["panel 1", "panel 2", "result with its panel"]
        return started

    assert run(play()) == ["panel 1", "result with its panel", "panel 2"]


def test_a_job_aside_runs_anyway_once_it_has_waited_its_while() -> None:
    engine = in_process_engine()
    engine.aside = Aside(1, wait=0.05)
    gate, started = threading.Event(), []

    async def play() -> None:
        first = asyncio.ensure_future(engine.submit(
            started_until, gate, started, "panel 1", heavy=True, aside=True))
        await until(lambda: started == ["panel 1"])
        second = asyncio.ensure_future(engine.submit(
            started_until, gate, started, "panel 2", heavy=True, aside=True))
        await until(lambda: "panel 2" in started)  # while panel 1 still holds the turn
        assert not first.done()
        gate.set()
        await asyncio.gather(first, second)

    run(play())
    # Its turn was never taken, so none is given back: both turns are free again.
    assert engine.aside._turns is not None and engine.aside._turns._value == 1


def test_work_aside_keeps_one_worker_free_by_default() -> None:
    assert in_process_engine(workers=2).aside.slots == 1
    assert in_process_engine(workers=4).aside.slots == 3
    # One worker cannot be shared out; in-process (development) nothing is bounded.
    assert in_process_engine(workers=1).aside.slots == 0
    assert in_process_engine(workers=0).aside.slots == 0


def test_the_page_asks_for_its_derivative_panel_aside(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings(workers=0, rate_limit_per_minute=0))
    asked: list[tuple[str, bool]] = []
    with TestClient(app) as client:
        engine = app.state.engine
        real = engine.compute

        async def compute(job, missed=False, client=None, aside=False):
            asked.append((job.expression, aside))
            return await real(job, missed, client, aside)

        monkeypatch.setattr(engine, "compute", compute)
        query = {"expr": "x**3 + sin(x)", "x": "0.7", "grad": "x", "rg": "1"}
        assert client.get("/", params=query, headers={"HX-Request": "true",
                                                       "HX-Target": "result"}).status_code == 200
        assert client.get("/calculus", params=query, headers={"HX-Request": "true"}
                          ).status_code == 200
    assert asked == [("x**3 + sin(x)", False), ("x**3 + sin(x)", True)]
