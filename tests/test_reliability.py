"""No single request may break, stall or bloat the server.

Values are checked in the web process before anything is pickled, queued or
cached (make_job, values.check_value); the pool survives arguments that cannot
be pickled and is rebuilt if it breaks anyway; results are bounded in the
worker and big values travel as summaries. The pool tests start real workers.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.core.expr import ExprError, Limits
from app.core.pipeline import compute
from app.core.values import check_value, format_value, is_summary, summarize
from app.serve.engine import Busy, Engine, make_job

SEED = "5*x**3 + 2*x**2 + 4*x + 8"


def nested(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def run(coro):
    """On a fresh loop in its own thread (the browser tests keep a loop in the main one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


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


def test_a_shared_row_object_is_still_measured_by_its_shape():
    row = [1.0, 2.0, 3.0]
    assert check_value("x", [row, row], Limits()) == (2, 3)


def test_the_variable_limit_holds_for_every_caller():
    text = "+".join(f"v{i}" for i in range(21))
    with pytest.raises(ExprError) as refused:
        make_job(text, {}, None, "torchviz", Limits())
    assert refused.value.message == "Too many variables: 21; the limit is 20."
    make_job("+".join(f"v{i}" for i in range(20)), {}, None, "torchviz", Limits())


# --- big values become summaries; the result is bounded ----------------------


def test_a_small_value_is_kept_whole():
    assert summarize([1.0, 2.0], 3) == [1.0, 2.0]
    assert summarize(2.0, 0) == 2.0


def test_a_big_value_becomes_its_summary():
    value = [[float(i * 10 + j) for j in range(10)] for i in range(200)]
    summary = summarize(value, 1000)
    assert summary == {
        "shape": [200, 10],
        "first": [0.0, 1.0, 2.0, 3.0, 4.0],
        "min": 0.0,
        "max": 1999.0,
        "mean": 999.5,
    }
    assert is_summary(summary)
    assert format_value(summary) == (
        "[0, 1, 2, 3, 4, ...] (shape [200, 10]; min 0, max 1999, mean 999.5)"
    )


def test_a_summary_keeps_nan_and_inf_readable():
    summary = summarize(["nan", 1.0, "inf", -2.0], 3)
    assert summary["first"] == ["nan", 1.0, "inf", -2.0]
    assert (summary["min"], summary["max"], summary["mean"]) == (-2.0, "inf", "nan")
    assert summarize(["nan"] * 4, 3)["min"] == "nan"


def test_a_computed_result_shows_big_values_as_summaries_and_exact_small_ones():
    n = 2000
    x = [float(i) for i in range(n)]
    result = compute("sum(x**2)", {"x": x}, limits=Limits(max_shown_elements=1000))
    grad = result["gradients"]["x"]  # d/dx sum(x**2) = 2x
    assert grad == {
        "shape": [n],
        "first": [0.0, 2.0, 4.0, 6.0, 8.0],
        "min": 0.0,
        "max": 2.0 * (n - 1),
        "mean": float(n - 1),
    }
    assert result["output"]["value"] == pytest.approx(sum(v * v for v in x), rel=1e-6)
    leaf = next(n for n in result["nodes"] if n["kind"] == "leaf")
    assert is_summary(leaf["value"]) and leaf["value"]["max"] == n - 1
    big = [f for f in result["forward"] if list(f["shape"]) == [n]]
    assert big and all(is_summary(f["value"]) for f in big)
    small = compute("sum(x**2)", {"x": [1.0, 2.0]}, limits=Limits(max_shown_elements=1000))
    assert small["gradients"]["x"] == [2.0, 4.0]


def test_a_result_over_the_byte_limit_is_refused_in_the_worker():
    from app.serve.engine import _run_job

    job = make_job("sum(x*x)", {"x": [1.0] * 100}, None, "torchviz", Limits())
    limits = Limits(max_result_bytes=10_000)
    with pytest.raises(ExprError) as refused:
        _run_job(job, limits, 5.0)
    assert "more than the 10000 one answer may have" in refused.value.message
    assert _run_job(job, Limits(), 5.0)["gradients"]["x"] == [2.0] * 100


# --- the pool survives its arguments, and is rebuilt if it breaks ------------


@pytest.fixture(scope="module")
def engine():
    events: list[tuple[str, str]] = []
    engine = Engine(
        workers=1, timeout=5.0, limits=Limits(), dot_timeout=5.0, max_queue=4, max_tasks=0,
        memory_mb=0, cache_size=0, on_event=lambda kind, value: events.append((kind, value)),
    )
    engine.events = events
    engine.start()
    yield engine
    engine.close()


def gradient(engine: Engine, x: float) -> float:
    result, _ = run(engine.compute(make_job("x**2", {"x": x}, None, "torchviz", Limits())))
    return result["gradients"]["x"]


@pytest.mark.parametrize(
    "argument", [nested(100_000), threading.Lock(), lambda: 1], ids=["deep", "lock", "lambda"]
)
def test_an_argument_that_cannot_be_pickled_fails_alone(engine, argument):
    with pytest.raises(ExprError) as refused:
        run(engine.submit(len, [argument]))
    assert refused.value.message == "The request could not be handed to a worker; make it simpler."
    assert engine.healthy
    assert gradient(engine, 3.0) == 6.0


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_broken_pool_is_reported_and_rebuilt(engine):
    # Break the pool as before the fix: pebble's scheduler thread pickles a too-deep value.
    engine._pool.schedule(len, args=(nested(100_000),))
    for _ in range(100):
        if not engine.healthy:
            break
        threading.Event().wait(0.05)
    assert not engine.healthy
    assert gradient(engine, 4.0) == 8.0
    assert engine.healthy
    assert ("restart", "broken") in engine.events


BROKEN_ON_PURPOSE = pytest.mark.filterwarnings(
    "ignore::pytest.PytestUnhandledThreadExceptionWarning"
)


@BROKEN_ON_PURPOSE
def test_a_pool_that_breaks_under_waiting_requests_answers_them_and_recovers(engine):
    engine.stuck_grace = 1.0

    async def scenario():
        running = asyncio.ensure_future(engine.submit(time.sleep, 1.0))
        await asyncio.sleep(0.3)
        engine._pool.schedule(len, args=(nested(100_000),))
        queued = asyncio.ensure_future(engine.submit(time.sleep, 0.1))
        outcomes = []
        for task in (running, queued):
            try:
                await task
                outcomes.append("answered")
            except Busy:
                outcomes.append("busy")
        return outcomes

    try:
        outcomes = run(scenario())
    finally:
        engine.stuck_grace = 10.0
    # Which of the two still answers depends on where pebble's scheduler died; a
    # request the dead pool never answers is told to try again after the time limit
    # and a grace, instead of waiting forever.
    assert len(outcomes) == 2 and set(outcomes) <= {"answered", "busy"}
    assert gradient(engine, 5.0) == 10.0
    assert engine.healthy


# --- the web side: health, links from configuration, metrics, caching --------

from importlib import metadata  # noqa: E402

from bs4 import BeautifulSoup  # noqa: E402

VERSION = metadata.version("autograd-playground")


def test_healthz_fails_while_the_pool_cannot_compute(make_client):
    client = make_client()
    engine = client.app.state.engine
    assert client.get("/healthz").json() == {"status": "ok", "version": VERSION}
    engine.workers = 1  # pretend to run a pool, and that it is gone
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"].startswith("The workers cannot compute right now")
    assert response.headers["cache-control"] == "no-store"
    engine.workers = 0


def test_the_version_is_in_the_page_footer(client):
    footer = BeautifulSoup(client.get("/").text, "html.parser").select_one("footer")
    assert f"Autograd Playground {VERSION}" in footer.get_text(" ", strip=True)
    assert "No cookies" in footer.get_text()


FORGED = {"host": "evil.example", "x-forwarded-host": "evil.example"}


def test_links_come_from_public_url_whatever_the_host_says(make_client):
    client = make_client(public_url="https://playground.school.example/")
    oembed = client.get("/oembed", params={"url": "http://x/embed?expr=x"}, headers=FORGED).json()
    assert oembed["provider_url"] == "https://playground.school.example/"
    assert 'src="https://playground.school.example/embed?' in oembed["html"]
    share = client.get("/share", params={"state": "expr=x"}, headers=FORGED).text
    assert "evil.example" not in share and "https://playground.school.example/embed?" in share
    assert "evil.example" not in client.get("/", headers=FORGED).text


def test_allowed_hosts_refuses_another_host(make_client):
    client = make_client(allowed_hosts="playground.school.example,testserver")
    assert client.get("/healthz").status_code == 200
    response = client.get("/healthz", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert response.headers["x-content-type-options"] == "nosniff"  # still observed


def test_public_url_must_be_an_origin(clean_env):
    from pydantic import ValidationError

    from app.serve.settings import Settings

    for bad in ("playground.example", "https://x/path?q", "javascript:alert(1)"):
        with pytest.raises(ValidationError):
            Settings(public_url=bad)


def test_metrics_are_served_only_to_allowed_addresses_by_default(make_client):
    # The test client connects from "testclient", no address: refused like a public one.
    client = make_client(metrics_allow=Settings_default("metrics_allow"))
    assert client.get("/metrics").status_code == 404
    assert make_client(metrics_allow="*").get("/metrics").status_code == 200


def Settings_default(name: str):
    from app.serve.settings import Settings

    return Settings.model_fields[name].default


def test_the_default_metrics_networks_are_loopback_and_private():
    import ipaddress

    from app.serve.settings import metrics_networks

    networks = metrics_networks(Settings_default("metrics_allow"))
    allowed = lambda a: any(ipaddress.ip_address(a) in n for n in networks)  # noqa: E731
    assert allowed("127.0.0.1") and allowed("::1") and allowed("172.18.0.5")
    assert not allowed("8.8.8.8") and not allowed("2001:db8::1")
    assert metrics_networks("*") is None


@pytest.mark.parametrize(
    "method, path, status, expected",
    [
        ("GET", "/?expr=x&x=2", 200, "public, max-age=300"),
        ("GET", "/embed?expr=x**2&x=2", 200, "public, max-age=300"),
        ("GET", "/?expr=x%2B&x=2", 200, "public, max-age=300"),  # a refusal is pure too
        ("GET", "/oembed?url=http://t/embed", 200, "public, max-age=300"),
        ("GET", "/oembed?url=http://t/other", 404, "no-store"),
        ("POST", "/api/graph", 200, "no-store"),
        ("GET", "/healthz", 200, "no-store"),
        ("GET", "/metrics", 200, "no-store"),
    ],
)
def test_cache_control_fits_each_answer(client, method, path, status, expected):
    if method == "POST":
        response = client.post(path, json={"expression": "x**2", "inputs": {"x": 1}})
    else:
        response = client.get(path)
    assert response.status_code == status
    assert response.headers["cache-control"] == expected


def test_an_api_refusal_is_not_cached(client):
    response = client.post("/api/graph", json={"expression": "x+", "inputs": {"x": 1}})
    assert response.status_code == 422
    assert response.headers["cache-control"] == "no-store"
