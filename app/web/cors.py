"""CORS for the API: a course page on a site that may frame the embed may call it."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
