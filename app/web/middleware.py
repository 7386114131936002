"""Pure ASGI middleware: what every request goes through, before and after its route.

``Observe`` is the outer one. It refuses early what no route should see (a
body or an address over its limit, a client over its rate), adds the security
headers, counts the request in the metrics, writes one JSON log line, and turns
an exception that escaped every handler into a sentence with the same headers
instead of a bare 500. ``BodyLimit`` stops reading a body past its limit.
``Compress`` gzips HTML, JSON and SVG for clients that take it.
``KnownRequests`` answers an API body sent before from the cache, unread.

Routes tell the middleware how they went through ``request.state`` (the ASGI
scope's "state"): ``outcome``, ``cache`` and ``expr`` for Observe, ``answer``
(the result's cache key) for KnownRequests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.language.expr import N_
from ..serve.cache import Encoded
from ..serve.engine import Engine
from ..serve.metrics import Metrics
from ..serve.ratelimit import client_address
from ..serve.settings import Settings
from .templating import Environments, message_page

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# Routes a client address is rate-limited on, and which of them answer with HTML.
LIMITED_ROUTES = {
    "/", "/embed", "/fields", "/share", "/calculus", "/oembed", "/api/graph", "/api/train",
    "/lesson",
}
PAGE_ROUTES = {"/", "/embed", "/fields", "/share", "/calculus", "/lesson"}
ROUTE_LABELS = LIMITED_ROUTES | {"/healthz", "/metrics", "/docs", "/openapi.json"}

RATE_LIMITED_MESSAGE = N_(
    "Too many requests from your network; please wait {seconds} s and try again."
)
BODY_TOO_LARGE = N_("The request body is larger than {limit} bytes.")
ADDRESS_TOO_LONG = N_("The address is longer than {limit} characters; use a shorter function.")
SERVER_FAULT = N_("Something went wrong on the server with this request; please try again.")

access_log = logging.getLogger("playground.access")


def content_security_policy(frame_ancestors: str, also: str = "") -> str:
    """Scripts and styles only from this server (plus ``also``): no inline script, no CDN."""
    extra = f" {also}" if also else ""
    return (
        f"default-src 'self'; script-src 'self'{extra}; style-src 'self'; "
        f"img-src 'self' data:; frame-src 'self'{extra}; object-src 'none'; base-uri 'none'; "
        f"form-action 'self'; frame-ancestors {frame_ancestors}"
    )


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status == 503:
        return "busy"
    return "refused" if status < 500 else "error"


# How long a browser or a shared cache may keep a page: a page is a pure function of
# its address, language and htmx target (all in the URL or in Vary), but a new
# version of the app may draw it differently, so not for long.
PAGE_MAX_AGE = 300
# Answers that depend on the moment, not on the address.
MOMENTARY = {"timeout", "busy", "rate_limited", "error"}


def cache_control(method: str, path: str, status: int, state: dict[str, Any]) -> str | None:
    """The Cache-Control for an answer; None for static files, which set their own."""
    if path.startswith("/static/"):
        return None
    if method not in ("GET", "HEAD") or status != 200 or state.get("outcome") in MOMENTARY:
        return "no-store"  # API results (POST), refusals, errors, busy, rate limits
    if path in PAGE_ROUTES or path == "/oembed":
        return f"public, max-age={PAGE_MAX_AGE}"
    return "no-store"  # /healthz, /metrics, /docs, /openapi.json: always asked afresh


def route_label(path: str) -> str:
    if path in ROUTE_LABELS:
        return path
    return "/static" if path.startswith("/static/") else "unmatched"


def setup_access_log() -> None:
    """One JSON line per request on standard error, whatever the server's log set-up."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


class Observe:
    """Rate limit, early refusals, security headers, metrics, one log line; for every request."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        metrics: Metrics,
        limiter: Any,
        templates: Environments,
    ):
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.limiter = limiter
        self.templates = templates
        self.trusted = frozenset(p for p in settings.trusted_proxies.split(",") if p)
        self.default_policy = content_security_policy(settings.playground_frame_ancestors)
        setup_access_log()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        path: str = scope["path"]
        status = 0

        async def send_with_headers(event: Message) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]
                headers = MutableHeaders(scope=event)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", self.default_policy)
                policy = cache_control(scope.get("method", ""), path, status, state)
                if policy:
                    headers.setdefault("Cache-Control", policy)
                if state.get("cache"):
                    headers["X-Cache"] = state["cache"]
                if self.settings.replica_name:
                    headers["X-Served-By"] = self.settings.replica_name
            await send(event)

        try:
            refusal = await self.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception:
            if status:  # the answer had begun: nothing better can be sent now
                raise
            logging.getLogger("playground").exception("unhandled error on %s", route_label(path))
            state["outcome"] = "error"
            await self.page_or_json(scope, 500, SERVER_FAULT)(scope, receive, send_with_headers)
        finally:
            self.observe(scope, state, status, time.perf_counter() - start)

    async def refusal(self, scope: Scope) -> ASGIApp | None:
        """An answer before any route runs, or None to let the request through."""
        settings = self.settings
        headers = Headers(scope=scope)
        path = scope["path"]
        if path in LIMITED_ROUTES:
            peer = scope["client"][0] if scope.get("client") else None
            forwarded = ", ".join(headers.getlist("x-forwarded-for")) or None
            wait = await self.limiter.take(client_address(peer, forwarded, self.trusted))
        else:
            wait = 0.0
        declared = headers.get("content-length", "")
        state = scope["state"]
        # isascii: '²' passes isdigit() but not int().
        if declared.isascii() and declared.isdigit() and int(declared) > settings.max_body_bytes:
            state["outcome"] = "refused"
            return self.page_or_json(scope, 413, BODY_TOO_LARGE, limit=settings.max_body_bytes)
        if len(scope.get("query_string", b"")) > settings.max_query_chars:
            state["outcome"] = "refused"
            return self.page_or_json(scope, 414, ADDRESS_TOO_LONG, limit=settings.max_query_chars)
        if wait > 0:
            seconds = math.ceil(wait)
            state["outcome"] = "rate_limited"
            return self.page_or_json(
                scope, 429, RATE_LIMITED_MESSAGE, {"Retry-After": str(seconds)}, seconds=seconds
            )
        return None

    def page_or_json(
        self,
        scope: Scope,
        status: int,
        template: str,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> ASGIApp:
        """A sentence as JSON, or on pages, a page (or htmx block) saying it in its language."""
        if scope["path"] not in PAGE_ROUTES:
            return JSONResponse(
                {"detail": template.format(**params)}, status_code=status, headers=headers
            )
        request_headers = Headers(scope=scope)
        query_lang = _query_value(scope, "lang")
        html, _ = message_page(
            self.templates,
            query_lang,
            request_headers.get("accept-language"),
            request_headers.get("hx-request") == "true",
            template,
            **params,
        )
        return HTMLResponse(html, status_code=status, headers=headers)

    def observe(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        route = route_label(scope["path"])
        outcome = state.get("outcome") or outcome_of(status)
        self.metrics.observe_request(route, status, seconds)
        self.metrics.outcome(outcome)
        access_log.info(
            json.dumps(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                    "method": scope.get("method", ""),
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                    "cache": state.get("cache", "-"),
                    "outcome": outcome,
                    "expr": str(state.get("expr", ""))[: self.settings.log_expression_chars],
                },
                ensure_ascii=False,
            )
        )


def _query_value(scope: Scope, name: str) -> str | None:
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == name:
            return value
    return None


class BodyLimit:
    """Stops reading a request body past ``max_bytes``, declared or not (chunked).

    Observe already refuses a body whose Content-Length is too large before
    reading it; this catches bodies that say nothing of their length. The
    route that reads too much gets an HTTP 413 with a sentence.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, BODY_TOO_LARGE.format(limit=self.max_bytes))
            return event

        await self.app(scope, limited_receive, send)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (``gzip;q=0`` refuses it)."""
    for part in accept_encoding.lower().split(","):
        name, _, params = part.partition(";")
        if name.strip() in ("gzip", "x-gzip"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip("0.") == "")
    return False


def encoded_response(result: Encoded, accept_encoding: str) -> Response:
    """A result as it was encoded once: gzip where the client takes it.

    Compress leaves a response alone that already has a Content-Encoding, so
    these bytes are never compressed twice.
    """
    headers = {"Vary": "Accept-Encoding"}
    if accepts_gzip(accept_encoding):
        headers["Content-Encoding"] = "gzip"
        return Response(result.gzip, media_type="application/json", headers=headers)
    return Response(result.body, media_type="application/json", headers=headers)


class KnownRequests:
    """Answers an API request sent before, byte for byte, from the cache, unread.

    The route reads a body (pydantic, then the function's tree and values in
    engine.make_job) and names the cache key of its result in
    ``state["answer"]``. The same bytes to the same path with the same
    Content-Type are the same request: the key is a function of them and of
    the settings alone. So this remembers, for each body that got a 200, the
    key it named, and while that result is still kept, sends it again without
    routing, validating or parsing anything. A new body, a result no longer
    kept, a body over ``max_body`` bytes: each goes to the route as it came
    (what was read, as one message). Refusals are never remembered, so a
    refused request is refused again in full. When a remembered result is gone,
    ``state["missed"]`` tells the route, so that a shared cache (Redis) is
    asked once, not twice.
    """

    PATHS = frozenset({"/api/graph", "/api/train"})

    def __init__(
        self,
        app: ASGIApp,
        engine: Engine,
        text_chars: int,
        size: int = 10_000,
        max_body: int = 16_384,
    ):
        self.app = app
        self.engine = engine
        # How much of the function the log line shows; at most 1000 characters are
        # remembered, which bounds this map to about 15 MB at its 10,000 bodies.
        self.text_chars = min(text_chars, 1000)
        self.size = size
        self.max_body = max_body
        self.known: OrderedDict[bytes, tuple[str, str]] = OrderedDict()  # digest -> key, text

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.PATHS:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more, last = 0, True, None
        while more and size <= self.max_body:
            event = await receive()
            if event["type"] != "http.request":
                last = event  # a disconnect: the route hears it after the body read so far
                break
            chunks.append(event.get("body", b""))
            size += len(chunks[-1])
            more = event.get("more_body", False)
        body = b"".join(chunks)
        whole = last is None and not more and size <= self.max_body
        digest = self._digest(scope, body) if whole else None
        state: dict[str, Any] = scope.setdefault("state", {})
        known = self.known.get(digest) if digest is not None else None
        if known is not None:
            key, text = known
            found = await self.engine.kept(key)  # meanwhile, another request may change known
            if found is not None:
                if digest in self.known:
                    self.known.move_to_end(digest)
                state["cache"], state["expr"] = "hit", text
                accept = Headers(scope=scope).get("accept-encoding", "")
                await encoded_response(found, accept)(scope, receive, send)
                return
            self.known.pop(digest, None)
            state["missed"] = key  # the route need not ask the cache again (engine.cached)

        # What was read goes on as one message; the rest, if any, as it comes.
        pending = [{"type": "http.request", "body": body, "more_body": more}]
        if last is not None:
            pending.append(last)

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        status = 0

        async def send_status(event: Message) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]
            await send(event)

        await self.app(scope, replay, send_status)
        if digest is not None and status == 200 and "answer" in state:
            self.known[digest] = (state["answer"], str(state.get("expr", ""))[: self.text_chars])
            self.known.move_to_end(digest)
            if len(self.known) > self.size:
                self.known.popitem(last=False)

    @staticmethod
    def _digest(scope: Scope, body: bytes) -> bytes:
        kind = Headers(scope=scope).get("content-type", "")
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{scope['path']}\0{kind}\0".encode())
        digest.update(body)
        return digest.digest()


class Compress(GZipMiddleware):
    """Starlette's gzip for HTML, JSON and SVG, where the client takes gzip.

    Starlette's own check looks for "gzip" anywhere in Accept-Encoding, so
    ``gzip;q=0`` would get gzip; this one reads the header. A response that
    already has a Content-Encoding (an API result, gzipped once when it was
    computed) passes through untouched: nothing is compressed twice.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not accepts_gzip(
            Headers(scope=scope).get("accept-encoding", "")
        ):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


# --- CORS for the API -------------------------------------------------------

# Paths a course page on another site may call from its own script.
CORS_PATHS = ("/api/", "/oembed")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_allowed(origin: str, sources: list[str]) -> bool:
    """Whether ``origin`` matches one of the frame-ancestors ``sources`` (settings.frame_sources).

    The sites that may frame the embed may also call the API, so one setting says
    both. Sources are read as CSP reads them: ``*``, a scheme (``https:``), or a
    host with an optional scheme, a leading ``*.`` and a port (``:*`` for any).
    ``'self'`` needs no CORS and ``'none'`` matches nothing.
    """
    scheme, sep, rest = origin.partition("://")
    if not sep or scheme not in _DEFAULT_PORTS or not rest or "/" in rest:
        return False
    host, _, port_text = rest.partition(":")
    try:
        port = int(port_text) if port_text else _DEFAULT_PORTS[scheme]
    except ValueError:
        return False
    host = host.lower()
    for source in sources:
        if source == "*":
            return True
        if source.startswith("'"):
            continue
        if source.endswith(":") and "/" not in source:
            if source[:-1].lower() == scheme:
                return True
            continue
        want_scheme, sep, want = source.partition("://")
        if not sep:
            want_scheme, want = "", source
        if want_scheme and want_scheme.lower() != scheme:
            continue
        want = want.split("/", 1)[0]
        want_host, _, want_port = want.partition(":")
        want_host = want_host.lower()
        if want_host.startswith("*."):
            if not host.endswith(want_host[1:]):
                continue
        elif want_host != host:
            continue
        if want_port == "*":
            return True
        default = _DEFAULT_PORTS[want_scheme.lower() or scheme]
        if (int(want_port) if want_port else default) == port:
            return True
    return False


class ApiCors:
    """CORS for the API paths only: answers preflights and names the allowed origin.

    No credentials are allowed or needed (the API reads no cookies), and a page
    of another origin gets the header only if it may frame the embed.
    """

    def __init__(self, app: ASGIApp, sources: list[str]):
        self.app = app
        self.sources = sources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CORS_PATHS):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and origin_allowed(origin, self.sources)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            preflight = MutableHeaders({"Vary": "Origin"})
            if allowed:
                preflight.update({
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": "GET, POST",
                    "Access-Control-Allow-Headers": "Content-Type",
                    "Access-Control-Max-Age": "600",
                })
            await send({"type": "http.response.start", "status": 204 if allowed else 403,
                        "headers": preflight.raw})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                response = MutableHeaders(scope=message)
                response.add_vary_header("Origin")
                if allowed:
                    response["Access-Control-Allow-Origin"] = origin
            await send(message)

        await self.app(scope, receive, send_with_origin)
