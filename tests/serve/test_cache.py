"""The result cache: encoded once, bounded in bytes, sent as it is kept."""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import pytest
from fastapi.testclient import TestClient

from autograd_playground.core.language.rules import Limits
from autograd_playground.serve.cache import Encoded, MemoryCache
from autograd_playground.serve.engine import Busy, Engine

SEED_BODY = {"expression": "5*x**3 + 2*x**2 + 4*x + 8", "inputs": {"x": 2}}


from tests.conftest import run_on_own_loop as run
from tests.conftest import until


def test_encoded_is_compact_json_and_its_gzip() -> None:
    data = {"b": [1.5, "é"], "a": {"nested": True}}
    encoded = Encoded.of(data)
    assert encoded.body == '{"b":[1.5,"é"],"a":{"nested":true}}'.encode()
    assert gzip.decompress(encoded.gzip) == encoded.body
    assert encoded.data() == data
    assert Encoded.from_gzip(encoded.gzip) == encoded
    assert encoded.size == len(encoded.body) + len(encoded.gzip)


def test_encoded_is_always_strict_json() -> None:
    # Results carry non-finite numbers as strings (values.finite); a float nan that
    # slipped through is null, never the NaN token that strict JSON parsers refuse.
    encoded = Encoded.of({"value": float("nan"), "big": float("inf")})
    assert encoded.body == b'{"value":null,"big":null}'
    assert json.loads(encoded.body, parse_constant=lambda token: pytest.fail(token)) == {
        "value": None, "big": None}


def test_the_memory_cache_is_bounded_in_bytes_and_drops_the_least_recently_used() -> None:
    cache: MemoryCache[bytes] = MemoryCache(100, size_of=len)

    async def scenario() -> None:
        await cache.put("a", b"x" * 40)  # 41 bytes with its key
        await cache.put("b", b"y" * 40)  # 82
        assert await cache.get("a") == b"x" * 40  # a is now the most recently used
        await cache.put("c", b"z" * 40)  # 123 > 100: b goes
        assert await cache.get("b") is None
        assert await cache.get("a") is not None and await cache.get("c") is not None
        assert cache.bytes == 82 and len(cache) == 2
        await cache.put("a", b"w" * 10)  # replacing counts the new size only
        assert cache.bytes == 52
        await cache.put("huge", b"h" * 200)  # larger than the whole cache: not kept
        assert await cache.get("huge") is None and cache.bytes == 52

    run(scenario())


def test_the_memory_cache_never_holds_more_bytes_than_its_bound() -> None:
    import random

    chance = random.Random(3)
    cache: MemoryCache[bytes] = MemoryCache(10_000, size_of=len)
    kept: dict[str, int] = {}

    async def scenario() -> None:
        for _ in range(3000):
            key = f"k{chance.randrange(300)}" + "-" * chance.randrange(50)
            value = b"v" * int(chance.expovariate(1 / 800))
            await cache.put(key, value)
            if len(key) + len(value) <= cache.max_bytes:
                kept[key] = len(key) + len(value)
            assert cache.bytes <= cache.max_bytes
            if chance.random() < 0.3:
                await cache.get(key)
        held = {key: size for key, size in kept.items() if await cache.get(key) is not None}
        assert cache.bytes == sum(held.values()) and len(held) == len(cache) > 1

    run(scenario())


def test_a_zero_sized_cache_keeps_nothing() -> None:
    cache = MemoryCache(0)
    run(cache.put("k", Encoded.of({"a": 1})))
    assert run(cache.get("k")) is None


def test_the_api_sends_gzip_to_clients_that_take_it(client: TestClient) -> None:
    plain = client.post("/api/graph", json=SEED_BODY, headers={"Accept-Encoding": "identity"})
    packed = client.post("/api/graph", json=SEED_BODY, headers={"Accept-Encoding": "gzip"})
    assert plain.headers.get("content-encoding") is None
    assert packed.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["vary"]
    assert packed.json() == plain.json()  # httpx undoes the gzip
    assert plain.json()["gradients"] == {"x": 72.0}
    assert int(packed.headers["content-length"]) < len(plain.content) / 2


def test_gzip_q_zero_is_a_refusal(client: TestClient) -> None:
    response = client.post("/api/graph", json=SEED_BODY,
                           headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert response.headers.get("content-encoding") is None
    assert response.json()["gradients"] == {"x": 72.0}


def test_a_hit_sends_the_bytes_the_miss_sent(client: TestClient) -> None:
    headers = {"Accept-Encoding": "identity"}
    first = client.post("/api/graph", json=SEED_BODY, headers=headers)
    again = client.post("/api/graph", json=SEED_BODY, headers=headers)
    assert first.headers["x-cache"] == "miss" and again.headers["x-cache"] == "hit"
    assert again.content == first.content
    json.loads(again.content)


# --- admission by expected wait ------------------------------------------------


def in_process_engine(**overrides) -> Engine:
    options = dict(workers=0, timeout=5.0, limits=Limits(), dot_timeout=5.0, max_queue=1000,
                   max_tasks=0, memory_mb=0, cache_bytes=0)
    options.update(overrides)
    return Engine(**options)


def test_the_running_mean_learns_the_time_of_one_job() -> None:
    engine = in_process_engine(first_estimate=1.0)
    for _ in range(40):
        run(engine.submit(time.sleep, 0.01))
    # Each job took 0.01 s at least; forty of them pulled the mean far below 1 s.
    assert 0.01 <= engine.service_time < 0.5


def test_the_first_measurements_replace_the_first_estimate() -> None:
    # The first estimate is a guess (heavy jobs: ten plain ones a unit); an average that
    # started from it kept a heavy guess of 0.5 s for twenty jobs, and refused plain jobs
    # queued behind a few heavy ones at a class's first minute.
    engine = in_process_engine(first_estimate=0.05)
    engine._observe(0.2, cost=4, heavy=True)
    assert engine.heavy_time == pytest.approx(0.05)  # 0.2 s over 4 units, not 0.455
    engine._observe(0.01)
    engine._observe(0.03)
    assert engine.service_time == pytest.approx(0.02)  # the plain mean of the two
    for _ in range(30):
        engine._observe(0.01)
    engine._observe(1.0)  # then a running mean: one slow job moves it a tenth of the way
    assert engine.service_time == pytest.approx(0.01 + 0.1 * 0.99, rel=0.01)


def test_a_burst_of_short_jobs_is_queued_not_refused() -> None:
    """200 jobs that the server finishes well within max_wait: none is refused."""
    engine = in_process_engine(max_wait=2.0, first_estimate=0.005)

    async def burst() -> list:
        return await asyncio.gather(*(engine.submit(abs, -k) for k in range(200)))

    assert run(burst()) == list(range(200))
    assert engine.pending == 0


def test_work_that_would_wait_past_max_wait_is_refused_at_once() -> None:
    engine = in_process_engine(max_wait=0.5, first_estimate=0.2)

    async def crowd() -> tuple[int, Busy]:
        running = [asyncio.ensure_future(engine.submit(time.sleep, 0.3)) for _ in range(3)]
        await until(lambda: engine.pending == 3)
        # 3 ahead on one worker at 0.2 s each: 0.6 s expected, past the 0.5 s allowed.
        assert engine.expected_wait() == pytest.approx(0.6)
        with pytest.raises(Busy) as info:
            await engine.submit(time.sleep, 0.01)
        # At once, not after waiting: the three ahead of it are all still running.
        assert engine.pending == 3 and not any(job.done() for job in running)
        await asyncio.gather(*running)
        return len(running), info.value

    admitted, busy = run(crowd())
    assert admitted == 3 and busy.retry_after >= 1
    assert engine.pending == 0


def test_the_hard_cap_still_holds() -> None:
    engine = in_process_engine(max_queue=2, first_estimate=0.0001)

    async def crowd() -> None:
        running = [asyncio.ensure_future(engine.submit(time.sleep, 0.2)) for _ in range(3)]
        await until(lambda: engine.pending == 3)
        with pytest.raises(Busy):
            await engine.submit(time.sleep, 0.01)
        await asyncio.gather(*running)

    run(crowd())


# --- compression ----------------------------------------------------------------


def test_pages_are_gzipped_for_clients_that_take_gzip(client: TestClient) -> None:
    packed = client.get("/?expr=x**2&x=3", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/?expr=x**2&x=3", headers={"Accept-Encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip"
    assert plain.headers.get("content-encoding") is None
    assert packed.text == plain.text and "<svg" in plain.text
    assert int(packed.headers["content-length"]) < len(plain.content) / 3


def test_an_api_result_is_compressed_once_not_twice() -> None:
    from autograd_playground.serve.settings import Settings
    from autograd_playground.web.main import create_app

    # A raw ASGI call: the bytes as they leave the app, before any client undoes gzip.
    app = create_app(Settings(workers=0, warm_cache=False))
    sent: list[dict] = []
    body = json.dumps(SEED_BODY).encode()

    async def call() -> None:
        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": "/api/graph", "raw_path": b"",
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
                 "server": ("testserver", 80), "state": {},
                 "headers": [(b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode()),
                             (b"accept-encoding", b"gzip")]}
        await app(scope, receive, send)

    run(call())
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = [(k.decode(), v.decode()) for k, v in start["headers"]]
    assert start["status"] == 200
    assert [v for k, v in headers if k == "content-encoding"] == ["gzip"]
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(gzip.decompress(payload))["gradients"] == {"x": 72.0}


# --- the same page asked for at once ------------------------------------------


def test_single_flight_runs_identical_work_once_and_shares_errors_too() -> None:
    from autograd_playground.serve.cache import SingleFlight

    flights = SingleFlight()
    calls: list[str] = []
    gate = asyncio.Event()

    async def make(key: str, fail: bool = False) -> str:
        calls.append(key)
        await gate.wait()
        if fail:
            raise ValueError("no")
        return key.upper()

    async def together(key: str, count: int, fail: bool = False) -> list:
        """``count`` identical runs, let go once all of them wait."""
        gate.clear()
        runs = [asyncio.ensure_future(flights.run(key, lambda: make(key, fail)))
                for _ in range(count)]
        await until(lambda: flights.waiting(key) == count)
        gate.set()
        return await asyncio.gather(*runs, return_exceptions=True)

    async def scenario() -> None:
        answers = await together("a", 10)
        assert [value for value, _ in answers] == ["A"] * 10
        assert [shared for _, shared in answers].count(False) == 1
        assert calls == ["a"]
        failed = await together("b", 3, fail=True)
        assert all(isinstance(f, ValueError) for f in failed) and calls == ["a", "b"]
        assert (await flights.run("a", lambda: make("a")))[1] is False  # done: a new run
        # running() says whether a run now would share: while one is under way, and not after.
        gate.clear()
        first = asyncio.ensure_future(flights.run("c", lambda: make("c")))
        await until(lambda: flights.waiting("c") == 1)
        assert flights.running("c")
        gate.set()
        await first
        assert not flights.running("c")

    run(scenario())


def test_a_class_opening_one_embed_link_renders_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    import autograd_playground.web.pages
    from autograd_playground.serve.settings import Settings
    from autograd_playground.web.main import create_app

    rendered: list[int] = []
    real = autograd_playground.web.pages.render
    monkeypatch.setattr(autograd_playground.web.pages, "render",
                        lambda *a, **k: rendered.append(1) or real(*a, **k))
    web = create_app(Settings(workers=0, warm_cache=False, rate_limit_per_minute=0))

    async def class_opens_link() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            url = "/embed?expr=x**2%2B1&x=3&readonly=1"
            return await asyncio.gather(*(client.get(url) for _ in range(20)))

    answers = run(class_opens_link())
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1 and "<svg" in answers[0].text
    assert rendered == [1]
    # One computed it; the others shared that rendering, or (arriving after it) hit the cache.
    how = [a.headers["x-cache"] for a in answers]
    assert how.count("miss") == 1 and set(how) - {"miss"} <= {"shared", "hit"}
