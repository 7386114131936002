"""A shared flight: one computation for identical requests, whoever of them goes away."""

from __future__ import annotations

import asyncio

import pytest

from autograd_playground.serve.cache import SingleFlight
from tests.conftest import run_on_own_loop as run
from tests.conftest import until


class Work:
    """A computation the test releases by hand, and what became of it."""

    def __init__(self) -> None:
        self.started = 0
        self.cancelled = False
        self.release = asyncio.Event()

    async def __call__(self) -> str:
        self.started += 1
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return "answer"


def test_the_first_callers_cancellation_leaves_the_others_their_answer() -> None:
    async def scenario() -> None:
        flights, work = SingleFlight(), Work()
        first = asyncio.ensure_future(flights.run("k", work))
        await until(lambda: work.started == 1)
        second = asyncio.ensure_future(flights.run("k", work))
        await until(lambda: flights.waiting("k") == 2)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert not work.cancelled and flights.running("k")
        work.release.set()
        assert await second == ("answer", True)
        assert work.started == 1 and not flights.running("k")

    run(scenario())


def test_the_computation_is_cancelled_when_every_caller_has_gone() -> None:
    async def scenario() -> None:
        flights, work = SingleFlight(), Work()
        callers = [asyncio.ensure_future(flights.run("k", work)) for _ in range(3)]
        await until(lambda: flights.waiting("k") == 3 and work.started == 1)
        callers[0].cancel()
        callers[1].cancel()
        await until(lambda: flights.waiting("k") == 1)
        assert not work.cancelled  # one caller still waits
        callers[2].cancel()
        await until(lambda: work.cancelled)
        assert not flights.running("k")
        # A request arriving now starts afresh, not on the cancelled computation.
        again = Work()
        again.release.set()
        assert await flights.run("k", again) == ("answer", False)

    run(scenario())


def test_an_error_reaches_every_caller_and_is_not_kept() -> None:
    async def scenario() -> None:
        flights = SingleFlight()
        gate = asyncio.Event()

        async def failing() -> str:
            await gate.wait()
            raise ValueError("no")

        callers = [asyncio.ensure_future(flights.run("k", failing)) for _ in range(3)]
        await until(lambda: flights.waiting("k") == 3)
        gate.set()
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
        assert all(isinstance(outcome, ValueError) for outcome in outcomes)
        assert not flights.running("k")

    run(scenario())
