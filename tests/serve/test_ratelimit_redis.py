"""The Lua token bucket, run by a real Redis: the limit that replicas share.

tests/serve/test_ratelimit.py checks the in-process bucket against a fake clock; this
file checks that the script in Redis keeps the same promises. Redis's own clock
moves, so the figures are bounds, not exact values.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from autograd_playground.serve.ratelimit import RedisRateLimiter
from tests.conftest import run_on_own_loop as run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> str:
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed; make test installs it from Debian"
    port = free_port()
    tmp: Path = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)




async def takes(url: str, key: str, count: int, per_minute: int, burst: int) -> list[float]:
    limiter = RedisRateLimiter(url, per_minute, burst)
    try:
        return [await limiter.take(key) for _ in range(count)]
    finally:
        await limiter.close()


def test_a_full_bucket_lets_the_burst_through_then_asks_to_wait(redis_url):
    waits = run(takes(redis_url, "burst", 6, per_minute=60, burst=5))
    assert waits[:5] == [0.0] * 5
    # One token a second: the sixth waits about a second (less the moments gone by).
    assert 0.5 < waits[5] <= 1.0


def test_a_refused_request_costs_no_token(redis_url):
    # As in the in-process bucket: asking again while refused does not push the
    # wait further out, it only shrinks as time passes.
    waits = run(takes(redis_url, "refused", 4, per_minute=60, burst=1))
    assert waits[0] == 0.0
    assert 1.0 >= waits[1] >= waits[2] >= waits[3] > 0.5


def test_addresses_have_buckets_of_their_own(redis_url):
    async def both() -> tuple[list[float], list[float]]:
        return (await takes(redis_url, "a", 2, 60, 1), await takes(redis_url, "b", 2, 60, 1))

    first, second = run(both())
    assert first[0] == 0.0 and first[1] > 0
    assert second[0] == 0.0 and second[1] > 0


def test_tokens_come_back_with_time(redis_url):
    async def later() -> tuple[float, list[float]]:
        limiter = RedisRateLimiter(redis_url, 600, 1)  # ten tokens a second
        try:
            await limiter.take("refill")
            refused = await limiter.take("refill")
            # Ask again (a refusal takes nothing) until a token is back, or give up.
            deadline = time.monotonic() + 10
            waits = [await limiter.take("refill")]
            while waits[-1] > 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
                waits.append(await limiter.take("refill"))
            return refused, waits
        finally:
            await limiter.close()

    refused, waits = run(later())
    assert 0 < refused <= 0.1
    assert waits[-1] == 0.0  # the token came back
    assert waits[:-1] == sorted(waits[:-1], reverse=True)  # the wait only ever shrank


def test_the_bucket_expires_so_redis_does_not_fill_up(redis_url):
    import redis

    run(takes(redis_url, "expiry", 1, per_minute=60, burst=5))
    client = redis.Redis.from_url(redis_url)
    ttl = client.ttl(RedisRateLimiter.PREFIX + "expiry")
    client.close()
    assert 0 < ttl <= 6  # burst / rate + 1 seconds


def test_no_limit_never_asks_redis(redis_url):
    waits = run(takes("redis://127.0.0.1:1/0", "off", 3, per_minute=0, burst=0))
    assert waits == [0.0, 0.0, 0.0]


def test_an_unreachable_redis_lets_requests_through():
    waits = run(takes(f"redis://127.0.0.1:{free_port()}/0", "down", 3, per_minute=60, burst=1))
    assert waits == [0.0, 0.0, 0.0]


def test_each_request_let_through_is_logged_once_and_counted(caplog):
    from autograd_playground.serve.metrics import Metrics

    metrics = Metrics()
    try:
        with caplog.at_level(logging.WARNING, logger="autograd_playground"):
            waits = run(takes(f"redis://127.0.0.1:{free_port()}/0", "down", 3, 60, 1))
        body, _ = metrics.render()
    finally:
        metrics.close()
    assert waits == [0.0, 0.0, 0.0]
    warnings = [r for r in caplog.records if r.name == "autograd_playground.serve.ratelimit"]
    assert len(warnings) == 3 and all(r.levelno == logging.WARNING for r in warnings)
    assert "let through" in warnings[0].getMessage()
    counted = {
        (sample.labels["logger"], sample.labels["level"]): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "playground_logged_problems_total"
    }
    assert counted[("autograd_playground.serve.ratelimit", "WARNING")] == 3


def test_a_costly_request_takes_its_weight_in_redis_too(redis_url):
    async def weighted() -> list[float]:
        limiter = RedisRateLimiter(redis_url, 60, 10)
        try:
            return [await limiter.take("weighted", cost=4) for _ in range(3)]
        finally:
            await limiter.close()

    waits = run(weighted())
    assert waits[:2] == [0.0, 0.0]
    assert 1.5 < waits[2] <= 2.0  # two tokens short, at one a second
