"""Hypothesis strategies for what found the 500s and hangs: nested values, query
parameters with any Unicode, URLs, and constants that overflow a float.

Each property: the server answers with a sentence (never 5xx), and a value is
accepted exactly when a plain reference check says so. Derandomized, so CI runs
the same cases every time. With the strategies here, each of the old failures
(a value nested 500 deep, step=², /oembed?url=http://[::1, 10000**100*x) is among
the generated cases.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient  # imported quietly by conftest.py first
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograd_playground.core.language.rules import ExprError, Limits
from autograd_playground.core.language.values import check_value
from autograd_playground.serve.settings import Settings
from autograd_playground.web.main import create_app
from tests.conftest import IN_PROCESS

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
LIMITS = Limits(max_elements=50, max_dims=4)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("PLAYGROUND_"):
                env.delenv(name)
        app = create_app(Settings(**IN_PROCESS, rate_limit_per_minute=0))
        with TestClient(app) as test_client:
            yield test_client


# --- nested values --------------------------------------------------------------

LEAVES = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4), max_leaves=60)


@st.composite
def deep_values(draw) -> Any:
    """A value wrapped in a tower of lists, from 1 to 100,000 deep."""
    depth = draw(st.sampled_from([1, 3, 4, 5, 50, 450, 500, 1_000, 100_000]))
    value = draw(VALUES)
    for _ in range(depth):
        value = [value]
    return value


def reference(value: Any, limits: Limits) -> bool:
    """Accepted by the plain definition (recursive, fine for what the strategies make)."""

    def shape(v: Any, depth: int) -> tuple[int, ...] | None:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return None
        if isinstance(v, int):
            return () if abs(v) <= limits.max_constant else None
        if isinstance(v, float):
            return () if math.isfinite(v) else None
        if depth >= limits.max_dims or not v:
            return None
        inner = [shape(e, depth + 1) for e in v]
        if any(s is None for s in inner) or len(set(inner)) != 1:
            return None
        return (len(v),) + inner[0]

    if isinstance(value, list) and _depth(value) > 10:
        return False  # deeper than max_dims either way; no need to recurse
    found = shape(value, 0)
    return found is not None and math.prod(found) <= limits.max_elements


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    return depth


@FUZZ
@given(st.one_of(VALUES, deep_values()))
def test_a_value_is_accepted_exactly_when_the_reference_accepts_it(value: Any) -> None:
    try:
        check_value("x", value, LIMITS)
        accepted = True
    except ExprError as error:
        assert error.message.startswith(("The value of 'x'", "A number in the value of 'x'"))
        accepted = False
    assert accepted == reference(value, LIMITS)


@settings(FUZZ, max_examples=40)
@given(deep_values(), st.booleans())
def test_the_api_answers_every_nested_value_with_a_sentence(
    client: TestClient, value: Any, used: bool
) -> None:
    text = _json(value)
    inputs = f'{{"x": {text}}}' if used else f'{{"x": 2, "z": {text}}}'
    response = client.post(
        "/api/graph",
        content=f'{{"expression": "sum(x)", "inputs": {inputs}}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code < 500, response.text[:300]
    if response.status_code != 200:
        assert response.json()["detail"].endswith("."), response.text[:300]


def _json(value: Any) -> str:
    """JSON text for a value of any depth (json.dumps recurses), NaN as 1e999."""
    opening, inner = 0, value
    while isinstance(inner, list) and len(inner) == 1 and isinstance(inner[0], list):
        opening, inner = opening + 1, inner[0]
    import json

    body = json.dumps(inner).replace("NaN", "1e999").replace("Infinity", "1e999")
    return "[" * opening + body + "]" * opening


# --- query parameters -------------------------------------------------------------

# Any Unicode, with a strong pull towards what broke things: digits of every kind,
# bidi controls, brackets, and URL punctuation.
TRICKY = st.sampled_from(list("²³¹①٣３𝟕\u202e\u2066\u200f[]{}:/?#@%&=+-.,eE0123456789 "))
PARAM_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(TRICKY, max_size=12),
    st.lists(st.sampled_from(["[", "]", "1", ","]), max_size=200).map("".join),
)
PARAM_NAMES = st.sampled_from(
    ["expr", "step", "view", "lang", "theme", "forward", "grad", "rg", "readonly", "hide",
     "autoplay", "options", "x", "y", "state", "url", "format", "train", "lr", "steps",
     "exercise", "order", "accumulate", "present"]
)
QUERIES = st.lists(st.tuples(PARAM_NAMES, PARAM_TEXT), max_size=6)


@FUZZ
@given(st.sampled_from(["/", "/embed", "/fields", "/share", "/oembed", "/lesson"]), QUERIES)
def test_no_query_gets_a_server_error(client: TestClient, path: str, query: list) -> None:
    if path == "/oembed" and not any(name == "url" for name, _ in query):
        query = [("url", "http://h/embed?" + urlencode(query)), *query]
    response = client.get(f"{path}?{urlencode(query)}")
    assert response.status_code < 500 or (path, response.status_code) == ("/oembed", 501), (
        path, query, response.text[:300]
    )


# Every kind of Unicode digit (decimal, superscript, circled, fractions, numerals).
# Hypothesis starts from the simplest characters ("0"), so the digits int() refuses
# are drawn from a list of their own too.
DIGITS = st.one_of(
    st.text(st.sampled_from("²³¹①⑩½٣３𝟕Ⅻ0"), min_size=1, max_size=3),
    st.text(st.characters(categories=("Nd", "No", "Nl")), min_size=1, max_size=4),
)
NUMERIC_QUERIES = {
    "/": "expr=x%2B1&x=2&step={}",
    "/embed": "expr=x%2B1&x=2&step={}",
    "/fields": "expr=x%2B1&step={}",
    "/share": "state=expr%3Dx&options=1&step={}",
    "/oembed": "url=http%3A%2F%2Fh%2Fembed%3Fexpr%3Dx%26step%3D{}",
}


@settings(FUZZ, max_examples=60)
@given(st.sampled_from(sorted(NUMERIC_QUERIES)), DIGITS)
def test_unicode_digits_in_numeric_parameters_get_no_server_error(
    client: TestClient, path: str, digits: str
) -> None:
    from urllib.parse import quote

    encoded = quote(digits) if path != "/oembed" else quote(quote(digits))
    response = client.get(f"{path}?{NUMERIC_QUERIES[path].format(encoded)}")
    assert response.status_code == 200, (path, digits, response.text[:300])
    value = client.get("/", params={"expr": "x+1", "x": digits})
    assert value.status_code == 200, (digits, value.text[:300])


URLS = st.builds(
    lambda scheme, host, rest: scheme + host + rest,
    st.sampled_from(["http://", "https://", "//", "", "javascript:"]),
    st.one_of(st.text(TRICKY, max_size=10), st.sampled_from(["[::1", "[::1]", "[x]", "h:99999"])),
    st.one_of(st.just(""), st.just("/embed?expr=x&step=²"), st.text(TRICKY, max_size=10)),
)


@FUZZ
@given(URLS)
def test_no_url_gets_a_server_error(client: TestClient, url: str) -> None:
    response = client.get("/oembed", params={"url": url})
    assert response.status_code in (200, 404, 414, 422), (url, response.text[:300])
    assert "detail" in response.json() or "html" in response.json()


# --- constants that overflow a float ---------------------------------------------

INTS = st.one_of(st.integers(0, 10**6), st.sampled_from([10**15, 10**16, 10000, 10**400]))
CONSTANT_EXPRESSIONS = st.builds(
    lambda a, b, form: form.format(a=a, b=b),
    INTS,
    st.integers(0, 150),
    st.sampled_from(
        ["{a}**{b}*x", "x*pow({a}, {b})", "-({a}**{b})*x", "sin({a}**{b})*x", "x/({a}**{b})",
         "x + {a}*{a}*{a}", "x**({b}**{b})", "exp(x)*({a}**2)**{b}"]
    ),
)


@FUZZ
@given(CONSTANT_EXPRESSIONS)
def test_no_constant_gets_a_server_error(client: TestClient, text: str) -> None:
    response = client.post("/api/graph", json={"expression": text, "inputs": {"x": 0.5}})
    assert response.status_code in (200, 413, 422), (text, response.text[:300])
    page = client.get("/", params={"expr": text, "x": "0.5"})
    assert page.status_code == 200, (text, page.text[:300])


# --- the real pool: nothing a value does may break it --------------------------


@pytest.fixture(scope="module")
def engine():
    from autograd_playground.serve.engine import Engine

    engine = Engine(workers=1, timeout=10.0, limits=Limits(), dot_timeout=5.0, max_queue=4,
                    max_tasks=0, memory_mb=0, cache_bytes=0)
    engine.start()
    yield engine
    engine.close()


@settings(FUZZ, max_examples=25)
@given(deep_values(), st.booleans())
def test_no_value_breaks_the_worker_pool(engine, value: Any, used: bool) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from autograd_playground.serve.jobs import make_job

    inputs = {"x": value} if used else {"x": 2.0, "z": value}

    async def ask() -> Any:
        try:
            job = make_job("sum(x)*1", inputs, None, "torchviz", Limits())
        except ExprError:
            job = None
        if job is not None:
            try:
                await asyncio.wait_for(engine.compute(job), 60)
            except ExprError:
                pass
        return (await asyncio.wait_for(
            engine.compute(make_job("x**2", {"x": 3.0}, None, "torchviz", Limits())), 60
        ))[0].data()["gradients"]

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, ask()).result() == {"x": 6.0}
    assert engine.healthy


# --- programs ---------------------------------------------------------------------

NAMES = st.sampled_from(["z", "h", "loss", "x", "w", "_h", "sin", "pi", "y"])
RIGHT_SIDES = st.one_of(
    st.sampled_from(["w*x + b", "tanh(z)", "(h - t)^2", "z*z", "h + z", "sum([1, 2])*x",
                     "softmax(z)", "x.real", "z = 2", "", "2", "(x", "x\u202e", "mse(h, t)"]),
    st.text(TRICKY, max_size=8),
)
LINES = st.builds(lambda name, rhs, sep: f"{name}{sep}{rhs}", NAMES, RIGHT_SIDES,
                  st.sampled_from([" = ", "=", " == ", " "]))
PROGRAMS = st.builds(lambda lines, end: end.join(lines), st.lists(LINES, min_size=1, max_size=14),
                     st.sampled_from(["\n", "\r\n", "\n\n"]))


@FUZZ
@given(PROGRAMS)
def test_every_program_gets_an_answer_or_a_sentence(client: TestClient, program: str) -> None:
    values = {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1.0, "z": 1.0, "h": 1.0}
    api = client.post("/api/graph", json={"expression": program, "inputs": values})
    assert api.status_code in (200, 413, 422), (program, api.text[:300])
    if api.status_code != 200:
        assert api.json()["detail"], program
    page = client.get("/", params={"expr": program, **{k: str(v) for k, v in values.items()}})
    assert page.status_code == 200, (program, page.text[:300])
    # And a new computation still works.
    fresh = client.post("/api/graph", json={"expression": "z = w*x\nloss = z*z",
                                            "inputs": {"w": 2, "x": 3}})
    assert fresh.json()["gradients"]["w"] == 2 * 6 * 3

