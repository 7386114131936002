"""The fault drill in CI: the real server survives every request that once broke it.

bench/fault_drill.py starts uvicorn with the real worker pool and sends each
hostile request, then bursts of all of them at once, then repeated big
requests, while polling /healthz. Asserted here: liveness and correctness, not
speed. No 5xx; after every hostile request a new computation gives the right
gradient; /healthz answered 200 throughout, each within a generous 5 s (against
hangs, not a latency target); the web process grew by less than a generous
200 MiB over the big requests. The figures themselves are printed by the
benchmark.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.fault_drill import HOSTILE, run_drill, serve

HEALTH_BOUND_MS = 5_000
MEMORY_BOUND_MB = 200


@pytest.fixture(scope="module")
def drill():
    with serve() as server:
        # A loop of its own in a thread: the browser tests keep one in the main thread.
        with ThreadPoolExecutor(1) as pool:
            yield pool.submit(asyncio.run, run_drill(server, big=4, burst=2)).result()


def test_no_hostile_request_gets_a_5xx(drill):
    failed = {name: status for name, status in drill.statuses.items() if status >= 500}
    assert not failed
    assert len(drill.statuses) == len(HOSTILE) * 3 + 4


def test_each_hostile_request_gets_its_answer(drill):
    expected = {
        "page-deep-500": 200,  # the page, with the sentence in its alert
        "api-deep-500": 422,
        "api-unused-deep-500": 200,  # dropped, not passed on
        "api-deep-5000": 422,
        "api-overflow": 422,
        "oembed-bad-url": 404,
        "big-result": 200,  # its big values as summaries
    }
    answered = {name: drill.statuses[name] for name in expected}
    assert answered == expected, drill.details.get("big-result")


def test_a_new_computation_is_right_after_every_hostile_request(drill):
    assert drill.wrong == []


def test_healthz_answered_throughout(drill):
    assert drill.health_failures == []
    assert len(drill.health_ms) >= 10
    assert max(drill.health_ms) < HEALTH_BOUND_MS


def test_the_web_process_memory_stays_bounded_under_big_requests(drill):
    assert drill.rss_after_mb - drill.rss_before_mb < MEMORY_BOUND_MB
