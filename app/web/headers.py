"""Plain HTTP, no middleware: the routes by kind, the headers every answer gets, gzip.

``accepted`` is the one reader of Accept-style headers, for gzip and for languages.

Observe and the routes share these: which paths are pages, which are rate limited,
what Cache-Control and Content-Security-Policy an answer carries, and whether a
client takes gzip.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Scope

from ..serve.cache import Encoded

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

# Routes a client address is rate-limited on, and which of them answer with HTML.
LIMITED_ROUTES = {
    "/", "/embed", "/fields", "/share", "/calculus", "/oembed", "/api/graph", "/api/train",
    "/lesson",
    # A launch may fetch a platform's keys (an unknown kid); the picker's choice and a
    # graded answer compute the function: limited like the rest.
    "/lti/login", "/lti/launch", "/lti/deeplink", "/lti/answer", "/lti/finish",
}
PAGE_ROUTES = {"/", "/embed", "/fields", "/share", "/calculus", "/lesson"}
# What a request to each limited route costs in rate-limit tokens, by the work it
# may ask of the server: a page renders the graph, a computation may run sympy or
# train, /calculus does both; the small blocks cost one.
ROUTE_COST = {"/": 2, "/embed": 2, "/api/graph": 2, "/calculus": 4, "/api/train": 4, "/lti/deeplink": 2,
              "/lti/answer": 2}
ROUTE_LABELS = LIMITED_ROUTES | {
    "/healthz", "/livez", "/metrics", "/docs", "/openapi.json", "/lti/jwks",
}


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


def query_value(scope: Scope, name: str) -> str | None:
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == name:
            return value
    return None


def accepted(header: str | None, limit: int = 50) -> list[str]:
    """The values an Accept-style header takes (Accept-Encoding, Accept-Language),
    most wanted first, lowercased.

    Each item's weight is its q parameter, 1 when missing. q=0 refuses the item,
    and so does a q that is not a number from 0 to 1. Equal weights keep the
    header's order. ``*`` is kept: what it stands for is the caller's to say.
    Only the first ``limit`` items are read.
    """
    weighted: list[tuple[float, str]] = []
    for item in (header or "").split(",")[:limit]:
        name, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name and 0.0 < q <= 1.0:
            weighted.append((q, name.lower()))
    # sorted() is stable: equal weights stay in the header's order.
    return [name for _, name in sorted(weighted, key=lambda item: -item[0])]


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (``gzip;q=0`` refuses it)."""
    return any(name in ("gzip", "x-gzip") for name in accepted(accept_encoding))


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


def encoded_html_response(
    page: Encoded,
    lang: str,
    request_headers: Headers,
    status: int = 200,
    extra: dict[str, str] | None = None,
) -> Response:
    """A page as it was encoded once; gzip where the client takes it (Compress leaves it)."""
    headers = {**(extra or {}), "Content-Language": lang,
               "Vary": "HX-Request, HX-Target, Accept-Language, Accept-Encoding"}
    body = page.body
    if accepts_gzip(request_headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
        body = page.gzip
    return Response(body, status_code=status, media_type="text/html; charset=utf-8",
                    headers=headers)
