"""Hostile input on every route that takes a function, and the server stays well.

One table of hostile function texts goes to each route that reads a function:
the API (POST /api/graph), the playground (GET /), the embed (GET /embed), the
value-field partial (GET /fields, as htmx asks for it), the share snippet
(GET /share) and oEmbed (GET /oembed). For every row and route the test checks
what the app answers and that the answer names the problem, that nothing ran
(payloads that would create a file in tmp_path leave no file), that no markup
comes back (BeautifulSoup: no <script> but the app's own, no <img>, no on*
attribute), and that the server still answers /healthz and the lesson's
example (x.grad = 72) afterwards.

What each route answers for a refused function:
- the API: 422 (413 when too long) with a JSON ``detail`` sentence;
- / and /embed: 200 with one ``role=alert`` element that says what is wrong;
- /fields: 200 with the value-field block only; it shows no error (the page does
  on submit) and no field for a function it cannot read;
- /share and /oembed: 200; the function only appears, escaped, in the snippet;
- every route: 414 when the address is over max_query_chars (a page on page routes).

The table uses one module-scoped app with rate limiting off; one test below
shows the limiter itself. Tests at the end pin bugs these tables found, named in their
reason.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import anyio
import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient  # imported quietly by conftest.py first
from pydantic import ValidationError

from autograd_playground.core.language.program import line_breaks
from autograd_playground.serve.settings import Settings
from autograd_playground.web.assets import static_version
from autograd_playground.web.main import create_app
from autograd_playground.web.state import visible
from autograd_playground.web.templating import STATIC
from tests.conftest import IN_PROCESS

SEED = "5*x**3 + 2*x**2 + 4*x + 8"
SEED_BODY = {"expression": SEED, "inputs": {"x": 2}}
# The documented defaults (not read from the environment).
MAX_LENGTH = Settings.model_fields["max_length"].default
MAX_BODY = Settings.model_fields["max_body_bytes"].default
MAX_QUERY = Settings.model_fields["max_query_chars"].default
# The only scripts a page may carry: the app's own files.
VERSIONED = f"/static/{static_version(STATIC)}"
APP_SCRIPTS = {f"{VERSIONED}/{name}" for name in ("vendor/htmx.min.js", "app/main.js", "app/embed.js")}
MARKER = "{marker}"  # replaced by a path in tmp_path that must never be created


# --- the app, a raw ASGI door, and what every answer must satisfy -----------


@pytest.fixture(scope="module")
def app() -> Iterator[FastAPI]:
    """The documented defaults, in-process, with no rate limit (the table is ~400 requests)."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("PLAYGROUND_"):
                env.delenv(name)
        yield create_app(Settings(**IN_PROCESS, rate_limit_per_minute=0))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def send_raw(
    app: FastAPI, path: str, query: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """GET straight into the ASGI app: httpx refuses to build a query over 64 KiB."""

    async def call() -> httpx.Response:
        done = anyio.Event()
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode("ascii"),
            "headers": [(b"host", b"testserver")]
            + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "client": ("testclient", 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        first = True

        async def receive() -> dict[str, Any]:
            nonlocal first
            if first:
                first = False
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        return httpx.Response(
            start["status"],
            headers=[(k.decode(), v.decode()) for k, v in start["headers"]],
            content=b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
        )

    # In a thread of its own: the browser tests' sync API keeps a loop running in the
    # main thread of the same pytest process, and anyio.run() refuses to nest.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, call).result()


def get(client: TestClient, app: FastAPI, path: str, query: str, **headers: str) -> httpx.Response:
    """GET ``path?query`` (already encoded), through httpx unless it is too long for it."""
    if len(query) < 60_000:
        return client.get(f"{path}?{query}", headers=headers)
    return send_raw(app, path, query, headers)


def assert_sentence(response: httpx.Response, status: int, keywords: tuple[str, ...]) -> str:
    """A JSON refusal: the status, one sentence a student can read, each keyword in it."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json"), response.headers
    detail = response.json()["detail"]
    assert isinstance(detail, str), detail
    assert detail.rstrip().endswith("."), detail
    assert "Traceback" not in detail and 'File "' not in detail, detail
    for keyword in keywords:
        assert keyword.lower() in detail.lower(), (keyword, detail)
    return detail


PAGE_ROUTES = {"/", "/embed", "/fields", "/share", "/calculus", "/lesson"}


def assert_refused(response: httpx.Response, path: str, status: int, keywords: tuple[str, ...]):
    """An early refusal (414, 429, ...): on pages, a page saying it; elsewhere, a JSON sentence."""
    if path not in PAGE_ROUTES:
        return assert_sentence(response, status, keywords)
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html"), response.headers
    soup = BeautifulSoup(response.text, "html.parser")
    alerts = soup.select("[role=alert]")
    assert len(alerts) == 1, alerts
    message = alerts[0].get_text(" ", strip=True)
    for keyword in keywords:
        assert keyword.lower() in message.lower(), (keyword, message)
    return message


def assert_no_markup(html: str, scripts: set[str] = APP_SCRIPTS) -> BeautifulSoup:
    """No script but the app's own files, no image, frame or object, no event handler."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all("script"):
        assert tag.get("src") in scripts, tag
        assert not tag.string, tag
    for name in ("img", "iframe", "object", "embed", "base", "form"):
        forms = soup.find_all(name)
        if name == "form":  # the app's own forms post to itself only
            own = ("/", "/embed", "/share", "/#training", "/embed#training")
            assert all(f.get("action") in own for f in forms), forms
        else:
            assert not forms, forms
    for tag in soup.find_all(True):
        for attr, value in tag.attrs.items():
            assert not attr.lower().startswith(("on", "hx-on")), (tag.name, attr)
            if isinstance(value, str) and attr in ("href", "src", "action", "hx-get"):
                assert not value.strip().lower().startswith(("javascript:", "data:")), value
    return soup


def assert_snippet(snippet: str, text: str) -> None:
    """The pasteable embed code: exactly one iframe and the host script; the text is data
    (its line breaks written as \n, as the page reads every text)."""
    text = line_breaks(text)
    soup = assert_no_markup(
        snippet.replace("<iframe", "<x-frame").replace("</iframe>", "</x-frame>"),
        {"http://testserver/static/embed-host.js"},
    )
    assert [t.name for t in soup.find_all(True)] == ["x-frame", "script"], snippet
    frame = soup.find("x-frame")
    # Bidi controls are shown as U+FFFD, so the title reads as what was typed.
    # A program names its output on its last line; a function is "y = ...".
    program = any(re.match(r"\s*[A-Za-z_]\w*\s*=(?!=)", line) for line in text.split("\n"))
    shown = visible(text.strip().split("\n")[-1].strip()) if program else f"y = {visible(text)}"
    assert frame["title"] == f"Autograd Playground: {shown}", frame["title"]
    src = urlsplit(frame["src"])
    assert (src.scheme, src.netloc, src.path) == ("http", "testserver", "/embed")
    assert parse_qs(src.query, keep_blank_values=True)["expr"] == [text]


def assert_healthy(client: TestClient) -> None:
    health = client.get("/healthz")
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    seed = client.post("/api/graph", json=SEED_BODY)
    assert seed.status_code == 200, seed.text[:300]
    assert seed.json()["gradients"] == {"x": 72.0}


# --- the table of hostile function texts -----------------------------------


@dataclass(frozen=True)
class Hostile:
    """A function text every route must refuse, and what the refusal must say."""

    text: str  # MARKER is replaced by a path in tmp_path
    keywords: tuple[str, ...]  # each must appear in the API's detail and the page's alert
    status: int = 422  # the API's status
    fields: tuple[str, ...] = ()  # the value fields /fields shows (none if unreadable)

    def with_marker(self, marker: Path) -> str:
        return self.text.replace(MARKER, str(marker))


def h(text: str, *keywords: str, status: int = 422, fields: tuple[str, ...] = ()) -> Hostile:
    return Hostile(text, keywords, status, fields)


TOUCH = f"__import__('os').system('touch {MARKER}')"
READ = "cannot be read"
ASCII = "plain ASCII"
TOO_LONG = ("characters long", f"the limit is {MAX_LENGTH}")

HOSTILE: dict[str, Hostile] = {
    # code injection through attributes
    "mro": h("x.__class__.__mro__", "attribute access"),
    "subclasses": h("().__class__.__bases__[0].__subclasses__()", "attribute access"),
    "globals-system": h(f"x.__init__.__globals__['os'].system('touch {MARKER}')",
                        "attribute access"),
    "getattr": h("getattr(x, '__class__')", "unknown function 'getattr'"),
    "builtins-open": h(f"__builtins__.open('{MARKER}', 'w')", "attribute access"),
    # dunders
    "import-system": h(TOUCH, "attribute access"),
    "import-call": h("__import__('os')", "unknown function '__import__'"),
    "builtins-name": h("x * __builtins__", "may not start with '_'", "__builtins__"),
    "debug-name": h("__debug__ + x", "may not start with '_'"),
    # lambdas
    "lambda-called": h(f"(lambda: {TOUCH})()", "lambda"),
    "lambda-argument": h("sum(lambda: x)", "lambda"),
    # comprehensions and generator expressions
    "list-comprehension": h("[c for c in ().__class__.__base__.__subclasses__()]",
                            "list comprehension"),
    "set-comprehension": h("sum({x for x in [1]})", "set comprehension"),
    "dict-comprehension": h("{k: x for k in [1]}", "dict comprehension"),
    "generator": h("sum(x for x in [1, 2])", "generator expression"),
    "generator-open": h(f"(open('{MARKER}', 'w') for _ in [1])", "generator expression"),
    # f-strings and the walrus
    "f-string": h('f"{x}"', "f-string"),
    "f-string-import": h(f'f"{{{TOUCH}}}"', "f-string"),
    "walrus": h("(y := x) + y", ":="),
    "walrus-in-call": h("sin(z := x)", ":="),
    # statements
    "import": h("import os", READ, "invalid syntax"),
    "assignment": h("x = 1", "'='", "gives x a value"),
    "assignment-chain": h("y = x = 1", READ, "'='"),
    "program-redefinition": h("y = x\ny = 2*x", "assigned on line 1 and again on line 2"),
    "program-attribute": h("z = x\ny = z.real", "attribute access"),
    "del": h("del x", READ, "invalid syntax"),
    "exec": h("exec('1')", "unknown function 'exec'"),
    "exec-open": h(f"exec(\"open('{MARKER}', 'w')\")", "unknown function 'exec'"),
    "two-statements": h("x; y", READ, "';'"),
    "breakpoint": h("breakpoint()", "unknown function 'breakpoint'"),
    # Unicode that Python's NFKC would fold into a dunder or a name
    "fullwidth-low-line": h("\uff3f\uff3fimport\uff3f\uff3f('os')", ASCII, "'\uff3f'"),
    "dashed-low-line": h("x + \ufe4d\ufe4dimport\ufe4d\ufe4d('os')", ASCII, "column 5"),
    "math-italic-x": h("\U0001d4cd*2", ASCII, "column 1"),
    "fullwidth-eval": h("\uff45\uff56\uff41\uff4c(1)", ASCII, "'\uff45'"),
    # control characters
    "nul": h("x\x00+1", "control character", "U+0000"),
    "escape-sequence": h("\x1b[31mx", "control character", "U+001B"),
    "right-to-left-override": h("x\u202e+1", "not allowed", "column 2"),
    "carriage-return": h("x\r+1", "one line"),
    "newline-import": h("x\n__import__('os')", "one line"),
    # huge constants
    "power-tower": h("x**9**9**9", "exponent", "too large", fields=("x",)),
    "huge-power": h("x + 9**999999", "exponent", "too large", fields=("x",)),
    "ten-to-400": h("x*10**400", "exponent", "too large", fields=("x",)),
    "float-overflow": h("x*1e999", "too large"),
    "folded-constant": h("x*(10**15)**2", "too large", fields=("x",)),
    "twenty-digits": h("x*99999999999999999999", "too large", "1e+15"),
    # deep nesting, inside and beyond the length limit
    "parentheses-300": h("(" * 300 + "x" + ")" * 300, *TOO_LONG, status=413),
    "parentheses-240": h("(" * 240 + "x" + ")" * 240, READ, "nested parentheses"),
    "minus-5000": h("-" * 5000 + "x", *TOO_LONG, status=413),
    "minus-450": h("-" * 450 + "x", "nested too deeply", "100 levels"),
    "sin-200": h("sin(" * 200 + "x" + ")" * 200, *TOO_LONG, status=413),
    # very long text: past the page's address limit too
    "100000-characters": h("x+" * 50_000, *TOO_LONG, status=413),
    # markup where a function belongs
    "script": h("<script>alert(1)</script>", READ, "'<'"),
    "attribute-breakout": h('x"><img src=x onerror=alert(1)>', READ),
    "textarea-breakout": h("x</textarea><script>alert(1)</script>", READ),
    "comment-script": h("x*2 # <script>alert(1)</script>", "comments", "'#'"),
    "javascript-url": h("javascript:alert(document.cookie)", READ),
}


def too_long_for_a_page(text: str) -> bool:
    return len(urlencode({"expr": text, "x": "2"})) > MAX_QUERY


def ask_page(client: TestClient, app: FastAPI, path: str, text: str) -> httpx.Response:
    params = {"expr": text, "x": "2"} if path == "/" else {"expr": text}
    return get(client, app, path, urlencode(params))


def check_api(client: TestClient, app: FastAPI, case: Hostile, text: str) -> None:
    response = client.post("/api/graph", json={"expression": text, "inputs": {"x": 2}})
    detail = assert_sentence(response, case.status, case.keywords)
    if case.status == 413:
        assert f"is {len(text)} characters long" in detail, detail
    assert response.headers["x-content-type-options"] == "nosniff"


def check_page(path: str) -> Callable[[TestClient, FastAPI, Hostile, str], None]:
    def check(client: TestClient, app: FastAPI, case: Hostile, text: str) -> None:
        response = ask_page(client, app, path, text)
        if too_long_for_a_page(text):
            assert_refused(response, path, 414, ("address", str(MAX_QUERY)))
            return
        assert response.status_code == 200, response.text[:300]
        assert response.headers["content-type"].startswith("text/html")
        soup = assert_no_markup(response.text)
        alerts = soup.select("[role=alert]")
        assert len(alerts) == 1, alerts
        message = alerts[0].select_one(".error-message").get_text()
        for keyword in case.keywords:
            assert keyword.lower() in message.lower(), (keyword, message)
        assert soup.select_one("[data-testid=print-y]") is None  # no result beside the error
        # The text comes back as typed, as a value, with bidi controls shown as U+FFFD
        # and each line break (\r\n, \r) as \n.
        box = soup.select_one("#expr")  # an input, or a text area for a program
        shown = box["value"] if box.name == "input" else box.get_text()
        assert shown == visible(line_breaks(text))

    return check


def check_fields(client: TestClient, app: FastAPI, case: Hostile, text: str) -> None:
    response = get(client, app, "/fields", urlencode({"expr": text}),
                   **{"HX-Request": "true", "HX-Target": "fields"})
    if too_long_for_a_page(text):
        assert_refused(response, "/fields", 414, ("address",))
        return
    assert response.status_code == 200, response.text[:300]
    soup = assert_no_markup(response.text)
    assert soup.find("html") is None  # the block, not a page
    assert [f["id"] for f in soup.select("fieldset")] == ["fields"]
    shown = [i["name"] for i in soup.select("input[id^=value-]")]
    assert shown == list(case.fields), shown
    if not case.fields:
        assert "as soon as the function can be read" in soup.get_text()
    assert not soup.select("[role=alert]")


def check_share(client: TestClient, app: FastAPI, case: Hostile, text: str) -> None:
    state = urlencode({"expr": text, "x": "2"})
    response = get(client, app, "/share", urlencode({"state": state}),
                   **{"HX-Request": "true", "HX-Target": "share-snippet"})
    if too_long_for_a_page(text):
        assert_refused(response, "/share", 414, ("address",))
        return
    assert response.status_code == 200, response.text[:300]
    soup = assert_no_markup(response.text)
    assert_snippet(soup.select_one("textarea#share-code").get_text(), text)


def check_oembed(client: TestClient, app: FastAPI, case: Hostile, text: str) -> None:
    link = "http://testserver/embed?" + urlencode({"expr": text})
    response = get(client, app, "/oembed", urlencode({"url": link}))
    if too_long_for_a_page(text):
        assert_sentence(response, 414, ("address",))
        return
    if not case.fields:
        # A text that cannot even be read gets oEmbed's 404: no frame, no title.
        assert response.status_code == 404, response.text[:300]
        assert_no_markup(response.text)
        return
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["title"] == f"y = {text}"
    assert_snippet(body["html"], text)


ROUTES: dict[str, Callable[[TestClient, FastAPI, Hostile, str], None]] = {
    "api": check_api,
    "page": check_page("/"),
    "embed": check_page("/embed"),
    "fields": check_fields,
    "share": check_share,
    "oembed": check_oembed,
}


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("case", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_function_text(
    client: TestClient, app: FastAPI, tmp_path: Path, case: Hostile, route: str
) -> None:
    marker = tmp_path / "pwned"

    ROUTES[route](client, app, case, case.with_marker(marker))

    assert not marker.exists()
    assert_healthy(client)


# --- bodies the API must refuse ---------------------------------------------


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """The body as a stream: httpx then sends no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@dataclass(frozen=True)
class BadBody:
    """A request body for POST /api/graph, and the refusal it must get."""

    make: Callable[[], Any]  # bytes, or an iterator of bytes (sent chunked)
    status: int
    keywords: tuple[str, ...]
    content_type: str = "application/json"


SEED_JSON = json.dumps(SEED_BODY).encode()
UNDECLARED_400 = (
    "BUG: FastAPI answers 400 'There was an error parsing the body', a status the spec does "
    "not declare for POST /api/graph, and the sentence does not name the problem"
)
UNDECLARED_LENGTH = (
    "BUG: max_body_bytes is only checked against a declared Content-Length (observe() in "
    "app/web/main.py); a chunked body is read up to FastAPI's own max_body_size, "
    "max(16 * max_body_bytes, 4 MiB)"
)

BAD_BODIES = {
    "truncated-json": BadBody(lambda: b'{"expression": "sum(x)", "inputs": {"x": [1, 2',
                              422, ("not valid json",)),
    "json-string": BadBody(lambda: b'"__import__(\'os\')"', 422, ("json object",)),
    "duplicate-key": BadBody(
        lambda: b'{"expression": "x*2", "inputs": {"x": 2}, "expression": "__import__(1)"}',
        422, ("unknown function '__import__'",)),
    "lone-surrogate": BadBody(lambda: b'{"expression": "x*2\\ud800", "inputs": {"x": 2}}',
                              422, ("'expression'",)),
    "2-mb-declared": BadBody(lambda: SEED_JSON[:-1] + b" " * 2 * 2**20 + b"}",
                             413, (f"{MAX_BODY} bytes",)),
    "a-million-numbers": BadBody(
        lambda: json.dumps({"expression": "sum(x)", "inputs": {"x": [1] * 1_000_000}}).encode(),
        413, (f"{MAX_BODY} bytes",)),
    "json-100000-deep": pytest.param(
        BadBody(lambda: b"[" * 100_000, 422, ("json",))
    ),
    "not-utf-8": pytest.param(
        BadBody(lambda: b'{"expression": "x*\xff", "inputs": {"x": 2}}', 422, ("json",))
    ),
    "5000-digit-number": pytest.param(
        BadBody(lambda: b'{"expression": "x*2", "inputs": {"x": 1' + b"0" * 5000 + b"}}",
                422, ("json",))
    ),
    "20-mb-declared": pytest.param(
        BadBody(lambda: b"[" * 20 * 2**20, 413, (f"{MAX_BODY} bytes",))
    ),
    "1-mb-chunked": pytest.param(
        BadBody(lambda: chunks(SEED_JSON[:-1] + b" " * 2**20 + b"}"), 413, ("bytes",))
    ),
    "20-mb-chunked": pytest.param(
        BadBody(lambda: chunks(b"[" * 20 * 2**20), 413, (f"{MAX_BODY} bytes",))
    ),
    "text-plain": pytest.param(
        BadBody(lambda: SEED_JSON, 422, ("json",), content_type="text/plain")
    ),
}


@pytest.mark.parametrize("case", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_hostile_body(client: TestClient, case: BadBody) -> None:
    response = client.post(
        "/api/graph", content=case.make(), headers={"content-type": case.content_type}
    )

    assert_sentence(response, case.status, case.keywords)
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert_healthy(client)


# --- markup in every other parameter of a page ------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


@dataclass(frozen=True)
class PageParams:
    """A query for the page routes; ``alert`` is what the page's one alert must say, or
    None when the lesson's example is computed as usual (the hostile part is ignored)."""

    params: list[tuple[str, str]]
    alert: tuple[str, ...] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def seed_with(*extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [("expr", SEED), ("x", "2"), *extra]


PAGE_PARAMS = {
    "value-script": PageParams([("expr", SEED), ("x", SCRIPT)], ("value of 'x'", "not a number")),
    "value-img": PageParams([("expr", SEED), ("x", IMG)], ("value of 'x'", "not a number")),
    "value-nested-5000": PageParams([("expr", "sum(x)"), ("x", "[" * 5000)],
                                    ("value of 'x'",)),
    "value-200000-numbers": PageParams([("expr", "sum(x)"), ("x", "[" + "1," * 200_000 + "1]")]),
    "name-script": PageParams(seed_with((SCRIPT, "1"))),
    "name-script-unreadable": PageParams([("expr", "x+"), ("x", "2"), (SCRIPT, IMG)],
                                         ("ends too early",)),
    "name-reserved-expr": PageParams([("expr", "expr*2")], ("'expr'", "reserved")),
    "lang": PageParams(seed_with(("lang", SCRIPT))),
    "view": PageParams(seed_with(("view", SCRIPT))),
    "theme": PageParams(seed_with(("theme", SCRIPT))),
    "step": PageParams(seed_with(("step", SCRIPT))),
    "step-huge": PageParams(seed_with(("step", "9" * 5000))),
    "hide": PageParams(seed_with(("hide", f"graph,{SCRIPT}"))),
    "forward": PageParams(seed_with(("forward", SCRIPT))),
    "readonly": PageParams(seed_with(("readonly", IMG))),
    "autoplay": PageParams(seed_with(("autoplay", SCRIPT))),
    "rg": PageParams(seed_with(("rg", SCRIPT))),
    "grad": PageParams(seed_with(("grad", SCRIPT)), ("requires_grad",)),
    "accept-language": PageParams(seed_with(), headers={"Accept-Language": SCRIPT}),
    "hx-target": PageParams(seed_with(), headers={"HX-Request": "true", "HX-Target": SCRIPT}),
}


@pytest.mark.parametrize("path", ["/", "/embed", "/fields"])
@pytest.mark.parametrize("case", list(PAGE_PARAMS.values()), ids=list(PAGE_PARAMS))
def test_markup_in_page_parameters(
    client: TestClient, app: FastAPI, case: PageParams, path: str
) -> None:
    headers = dict(case.headers)
    if path == "/fields":
        headers.update({"HX-Request": "true", "HX-Target": "fields"})
    query = urlencode(case.params)
    response = get(client, app, path, query, **headers)

    if len(query) > MAX_QUERY:
        assert_refused(response, path, 414, ("address", str(MAX_QUERY)))
        assert_healthy(client)
        return
    assert response.status_code == 200, response.text[:300]
    soup = assert_no_markup(response.text)
    assert SCRIPT not in response.text and IMG not in response.text
    if path == "/fields":
        assert not soup.select("[role=alert]")
    elif case.alert is None:
        assert not soup.select("[role=alert]"), soup.select("[role=alert]")
        gradient = soup.select_one("[data-testid=gradient-x]").get_text(strip=True)
        assert gradient == "x.grad = 72"
        assert soup.find("html")["lang"] == "en"
    else:
        alerts = soup.select("[role=alert]")
        assert len(alerts) == 1, alerts
        message = alerts[0].select_one(".error-message").get_text()
        for keyword in case.alert:
            assert keyword.lower() in message.lower(), (keyword, message)
    # A hostile variable name may stand in a field while the function is unreadable,
    # but only ever as an attribute value, never as markup.
    for value_input in soup.select("input[id^=value-]"):
        assert value_input["name"] in {"x", "expr", SCRIPT}, value_input
    assert_healthy(client)


# --- the request itself -----------------------------------------------------

ROUTE_PATHS = ["/api/graph", "/", "/embed", "/fields", "/share", "/oembed", "/lesson", "/healthz"]


@pytest.mark.parametrize("path", ROUTE_PATHS)
def test_a_query_over_100_kb_is_refused_on_every_route(
    client: TestClient, app: FastAPI, path: str
) -> None:
    query = urlencode({"expr": "x*2", "x": "2", "pad": "a" * 150_000})
    response = send_raw(app, path, query)

    assert_refused(response, path, 414, ("address", str(MAX_QUERY)))
    assert_healthy(client)


def test_after_the_whole_table_nothing_failed_and_the_server_is_healthy(
    client: TestClient, app: FastAPI, tmp_path: Path
) -> None:
    """Every row on every route and every hostile body in one go, then: no 5xx, all works."""
    marker = tmp_path / "pwned"
    for case in HOSTILE.values():
        for check in ROUTES.values():
            check(client, app, case, case.with_marker(marker))
    for row in BAD_BODIES.values():
        body = row.values[0] if hasattr(row, "values") else row  # unwrap pytest.param
        response = client.post(
            "/api/graph", content=body.make(), headers={"content-type": body.content_type}
        )
        assert 400 <= response.status_code < 500, response.text[:300]

    assert not marker.exists()
    assert_healthy(client)
    for path in ("/", "/embed"):
        page = BeautifulSoup(client.get(path, params={"expr": SEED, "x": "2"}).text, "html.parser")
        assert page.select_one("[data-testid=gradient-x]").get_text(strip=True) == "x.grad = 72"
    counts = re.findall(
        r'^playground_requests_total\{route="([^"]*)",status="(\d+)"\} ',
        client.get("/metrics").text,
        re.MULTILINE,
    )
    assert counts, "the metrics count requests by status"
    assert not [c for c in counts if int(c[1]) >= 500], counts


# --- bugs found on the way --------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_a_too_long_page_address_answers_a_page(client: TestClient, path: str) -> None:
    response = client.get(path, params={"expr": "x+" * 10_000 + "x", "lang": "de"})

    assert response.status_code == 414
    assert response.headers["content-type"].startswith("text/html")
    soup = assert_no_markup(response.text)
    assert soup.find("html")["lang"] == "de"
    assert len(soup.select("[role=alert]")) == 1


def test_the_page_reports_the_length_that_was_typed(client: TestClient) -> None:
    response = client.get("/", params={"expr": "x" * 3000, "x": "2"})
    message = BeautifulSoup(response.text, "html.parser").select_one("[role=alert]").get_text()

    assert "3000 characters" in message, message


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\ufeff"])
def test_invisible_characters_are_named_by_code_point(client: TestClient, char: str) -> None:
    response = client.post("/api/graph", json={"expression": f"x{char}+1", "inputs": {"x": 2}})
    detail = response.json()["detail"]

    assert f"U+{ord(char):04X}" in detail, detail
    assert char not in detail


# --- the rate limiter -------------------------------------------------------


def test_the_limiter_answers_429_with_retry_after_for_the_api_and_the_page(
    make_client: Callable[..., TestClient],
) -> None:
    # One a minute: no token comes back while the test runs, however slow the machine.
    # Three requests' worth: /api/graph costs two tokens (web.headers.ROUTE_COST).
    client = make_client(rate_limit_burst=6, rate_limit_per_minute=1)
    for _ in range(3):
        assert client.post("/api/graph", json=SEED_BODY).status_code == 200

    api = client.post("/api/graph", json=SEED_BODY)
    wait = api.headers["retry-after"]
    assert wait.isdigit() and 1 <= int(wait) <= 120, wait  # two tokens at one per 60 s
    assert_sentence(api, 429, ("too many requests", f"wait {wait} s"))

    page = client.get("/", params={"expr": SEED, "x": "2", "lang": "de"})
    assert page.status_code == 429
    wait = page.headers["retry-after"]
    assert wait.isdigit() and 1 <= int(wait) <= 120, wait  # two tokens at one per 60 s
    soup = assert_no_markup(page.text)
    assert soup.find("html")["lang"] == "de"
    (alert,) = soup.select("[role=alert]")
    assert alert.get_text(strip=True) == (
        f"Zu viele Anfragen aus deinem Netz; bitte warte {wait} s und versuch es dann noch einmal."
    )

    partial = client.get("/", params={"lang": "de"},
                         headers={"HX-Request": "true", "HX-Target": "result"})
    assert partial.status_code == 429
    assert "retry-after" in partial.headers
    soup = BeautifulSoup(partial.text, "html.parser")
    assert soup.find("html") is None  # the message block only, for htmx to swap in
    assert "Zu viele Anfragen" in soup.select_one("[role=alert]").get_text()

    # The header is not believed from a peer that is not a trusted proxy ("testclient"
    # is not even an IP address): the key stays the peer's.
    spoofed = client.post("/api/graph", json=SEED_BODY, headers={"X-Forwarded-For": "203.0.113.9"})
    assert spoofed.status_code == 429
    assert client.get("/healthz").status_code == 200  # never limited


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(clean_env: None) -> None:
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(trusted_proxies="testclient")  # TestClient's default peer cannot be trusted

    # One request per key, and a token a minute: none comes back while the test runs.
    limited = {**IN_PROCESS, "rate_limit_burst": 1, "rate_limit_per_minute": 1,
               "trusted_proxies": "10.0.0.1"}
    app = create_app(Settings(**limited))
    with TestClient(app, client=("10.0.0.1", 50000)) as proxy, \
            TestClient(app, client=("192.0.2.7", 50000)) as stranger:
        def status(test_client: TestClient, forwarded: str | None) -> int:
            headers = {"X-Forwarded-For": forwarded} if forwarded else {}
            return test_client.post("/api/graph", json=SEED_BODY, headers=headers).status_code

        # Through the proxy, each forwarded client has its own bucket of one.
        assert status(proxy, "203.0.113.1") == 200
        assert status(proxy, "203.0.113.1") == 429
        assert status(proxy, "203.0.113.2") == 200
        # Its own address, with no header, is one more key.
        assert status(proxy, None) == 200
        # A stranger's header changes nothing: it is limited by its own address.
        assert status(stranger, "203.0.113.3") == 200
        assert status(stranger, "203.0.113.4") == 429


def test_behind_ingress_pods_of_a_trusted_network_every_student_keeps_a_bucket(
    clean_env: None,
) -> None:
    """An ingress's pods change addresses: the setting names their network, not each pod."""
    limited = {**IN_PROCESS, "rate_limit_burst": 1, "rate_limit_per_minute": 1,
               "trusted_proxies": "10.42.0.0/16"}
    app = create_app(Settings(**limited))
    with TestClient(app, client=("10.42.3.17", 50000)) as pod, \
            TestClient(app, client=("10.42.200.5", 50000)) as new_pod, \
            TestClient(app, client=("10.43.0.1", 50000)) as outsider:
        def status(test_client: TestClient, forwarded: str) -> int:
            headers = {"X-Forwarded-For": forwarded}
            return test_client.post("/api/graph", json=SEED_BODY, headers=headers).status_code

        assert status(pod, "203.0.113.1") == 200
        assert status(new_pod, "203.0.113.2") == 200  # another pod: still each student
        assert status(new_pod, "203.0.113.1") == 429  # the same student through another pod
        assert status(outsider, "203.0.113.5") == 200
        assert status(outsider, "203.0.113.6") == 429  # outside the network: its own address


# --- found by a new user: nesting, Unicode digits, malformed URLs, overflow, bidi -----
#
# Each request below once answered 500, hung, or broke the pool. After each one a
# new computation must still answer 200 with the right gradient.


def deep_list(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def assert_computes(client: TestClient, x: float = 3.0) -> None:
    """A new (uncached) computation: y = x**2 + 1, dy/dx = 2x."""
    response = client.post("/api/graph", json={"expression": "x**2 + 1", "inputs": {"x": x}})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["gradients"] == {"x": 2 * x}


NEST_DEPTHS = [5, 450, 500, 5_000]


@pytest.mark.parametrize("depth", NEST_DEPTHS)
@pytest.mark.parametrize("field", ["used", "unused"])
def test_a_deep_value_in_the_api_is_refused_or_dropped(
    client: TestClient, depth: int, field: str
) -> None:
    inputs = f'{{"x": {deep_list(depth)}}}' if field == "used" else (
        f'{{"x": 2, "z": {deep_list(depth)}}}'
    )
    body = f'{{"expression": "x**2", "inputs": {inputs}}}'  # json.dumps would recurse
    response = client.post(
        "/api/graph", content=body, headers={"content-type": "application/json"}
    )
    if depth >= 1000:  # past what Python's JSON decoder reads: the body is refused
        assert_sentence(response, 422, ("not valid JSON",))
    elif field == "used":
        assert_sentence(response, 422, ("nested more than 4 deep",))
    else:  # an input the function does not use is dropped, not passed on
        assert response.status_code == 200, response.text[:300]
        assert response.json()["gradients"] == {"x": 4.0}
    assert_computes(client, x=depth % 7 + 1.0)


@pytest.mark.parametrize("depth", NEST_DEPTHS + [100_000])
@pytest.mark.parametrize("path", ["/", "/embed"])
def test_a_deep_value_on_a_page_is_refused_with_a_sentence(
    client: TestClient, app: FastAPI, path: str, depth: int
) -> None:
    response = get(client, app, path, urlencode({"expr": "x+1", "x": deep_list(depth)}))
    if len(urlencode({"expr": "x+1", "x": deep_list(depth)})) > MAX_QUERY:
        assert_refused(response, path, 414, ("address",))
    else:
        assert response.status_code == 200, response.text[:300]
        alert = BeautifulSoup(response.text, "html.parser").select("[role=alert]")
        assert len(alert) == 1
        message = alert[0].get_text(" ", strip=True)
        assert "nested more than 4 deep" in message or "not a number" in message, message
    assert_computes(client, x=depth % 5 + 2.0)


@pytest.mark.parametrize("depth", [500, 5_000])
@pytest.mark.parametrize("path", ["/share", "/oembed", "/fields"])
def test_a_deep_value_in_a_shared_link_is_only_echoed(
    client: TestClient, app: FastAPI, path: str, depth: int
) -> None:
    state = urlencode({"expr": "x+1", "x": deep_list(depth)})
    query = {
        "/share": urlencode({"state": state}),
        "/oembed": urlencode({"url": "http://testserver/embed?" + state}),
        "/fields": state,
    }[path]
    response = get(client, app, path, query)
    if len(query) > MAX_QUERY:
        assert_refused(response, path, 414, ("address",))
    else:
        assert response.status_code == 200, response.text[:300]
    assert_computes(client, x=depth % 3 + 4.0)


# Digits that str.isdigit() accepts and int() refuses, and digits int() reads.
UNICODE_DIGITS = ["²", "¹²", "①", "٣", "３", "𝟕", "-1", "1e3", " 1", "99999999"]


@pytest.mark.parametrize("digit", UNICODE_DIGITS)
@pytest.mark.parametrize(
    "path, query",
    [
        ("/", "expr=x%2B1&x=2&step={d}"),
        ("/embed", "expr=x%2B1&x=2&step={d}"),
        ("/fields", "expr=x%2B1&step={d}"),
        ("/share", "state=expr%3Dx%252B1%26step%3D{d}"),
        ("/share", "state=expr%3Dx%252B1&options=1&step={d}"),
        ("/oembed", "url=http%3A%2F%2Ftestserver%2Fembed%3Fexpr%3Dx%252B1%26step%3D{d}"),
        ("/", "expr=x%2B1&x={d}"),
        ("/", "expr=x%2B1&x=%5B{d}%5D"),
    ],
)
def test_unicode_digits_in_every_numeric_parameter(
    client: TestClient, path: str, query: str, digit: str
) -> None:
    response = client.get(f"{path}?{query.format(d=quote(digit))}")
    assert response.status_code == 200, response.text[:300]
    assert_computes(client, x=5.0)


def test_unicode_digits_in_the_content_length_header_are_not_a_number(app: FastAPI) -> None:
    response = send_raw(app, "/", "expr=x", {"content-length": "²"})
    assert response.status_code == 200


MALFORMED_URLS = [
    "http://[::1",
    "http://[not-ip]/",
    "//[",
    "http://x/\u202e/embed",
    "",
    "javascript:alert(1)",
    "http://" + "a" * 30_000,
]


@pytest.mark.parametrize("url", ["http://[::1]:99999/", "http://a:b:c/", "http://%zz/embed"])
def test_odd_but_readable_urls_are_read_by_their_path(client: TestClient, url: str) -> None:
    response = client.get("/oembed", params={"url": url})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["title"] == "y = 5*x**3 + 2*x**2 + 4*x + 8"  # the seed
    assert_computes(client, x=6.5)


@pytest.mark.parametrize("url", MALFORMED_URLS, ids=lambda u: u[:20])
def test_malformed_urls_in_every_url_parameter(client: TestClient, url: str) -> None:
    response = client.get("/oembed", params={"url": url})
    if len(urlencode({"url": url})) > MAX_QUERY:
        assert_sentence(response, 414, ("address",))
    else:
        assert_sentence(response, 404, ("only links to the playground",))
    # /share takes a state (a query string), not a URL; a broken one is just empty.
    response = client.get("/share", params={"state": url[:1000]})
    assert response.status_code == 200
    assert_computes(client, x=6.0)


OVERFLOW_CONSTANTS = [
    "10000**100*x",
    "x*pow(10000, 100)",
    "-(10000**100)*x",
    "x**(100**100)",
    "sin(10000**100)*x",
    "x/(10000**100)",
    "x - (10**15*10**15)",
    "x*(1e15)**100",
    "exp(x)*(2**99)**2",
]


@pytest.mark.parametrize("text", OVERFLOW_CONSTANTS)
def test_integer_overflow_in_every_constant_path(client: TestClient, text: str) -> None:
    response = client.post("/api/graph", json={"expression": text, "inputs": {"x": 2}})
    assert_sentence(response, 422, ("too large",))
    page_response = client.get("/", params={"expr": text, "x": "2"})
    assert page_response.status_code == 200
    alert = BeautifulSoup(page_response.text, "html.parser").select_one("[role=alert]")
    assert "too large" in alert.get_text(" ", strip=True)
    assert_computes(client, x=7.0)


BIDI = ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u061c"]


@pytest.mark.parametrize("char", BIDI, ids=lambda c: f"U+{ord(c):04X}")
def test_bidi_controls_are_never_echoed(client: TestClient, char: str) -> None:
    text = f"x{char}+1"
    page_response = client.get("/", params={"expr": text, "x": "2"})
    soup = BeautifulSoup(page_response.text, "html.parser")
    for selector in ("[role=alert]", ".error", "mark", ".error-where"):
        for tag in soup.select(selector):
            assert char not in tag.get_text(), (selector, tag)
    assert soup.select_one("input#expr")["value"] == "x\ufffd+1"
    oembed = client.get(
        "/oembed", params={"url": "http://testserver/embed?" + urlencode({"expr": text})}
    )
    assert oembed.status_code == 404  # refused: no frame to offer
    assert char not in oembed.text
    assert_computes(client, x=8.0)


def test_a_page_computes_no_more_variables_than_the_api(client: TestClient) -> None:
    text = "+".join(f"v{i}" for i in range(99))
    response = client.get("/", params={"expr": text})
    alert = BeautifulSoup(response.text, "html.parser").select_one("[role=alert]")
    assert "Too many variables: 99; the limit is 20." in alert.get_text(" ", strip=True)
    assert_computes(client, x=9.0)
