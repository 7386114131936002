"""CORS for the API: a course page on a site that may frame the embed may call it.

Starlette's ``CORSMiddleware`` speaks the protocol: it answers preflights,
names the allowed origin on answers and adds ``Vary: Origin``. Two things it
cannot be told directly, and this module adds them:

- Which origins. The sites that may frame the embed may also call the API, so
  one setting (allowed_frame_ancestors) says both, and its sources are read as
  CSP reads them: ``*``, a scheme (``https:``), or a host with an optional
  scheme, a leading ``*.`` and a port (``:*`` for any). ``origin_pattern``
  turns them into the one regular expression CORSMiddleware takes.
- Which paths. CORSMiddleware applies to every path it wraps; ``ApiCors`` sends
  only the API paths through it, so pages never carry CORS headers.

No credentials are allowed or needed: the API reads no cookies.
"""

from __future__ import annotations

import re

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# Paths a course page on another site may call from its own script.
CORS_PATHS = ("/api/", "/oembed")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = r"(?i:[^/:]+)"  # any host; origins' host names are matched without case
_NOTHING = r"(?!)"


def origin_pattern(sources: list[str]) -> str:
    """A regular expression an origin matches in full when one of ``sources`` allows it.

    ``'self'`` needs no CORS and ``'none'`` matches nothing, so quoted keywords add
    nothing; neither does a source of another scheme than http and https.
    """
    alternatives = [alt for source in sources for alt in _source_pattern(source)]
    return "|".join(f"(?:{alt})" for alt in alternatives) or _NOTHING


def _source_pattern(source: str) -> list[str]:
    if source == "*":
        return [rf"https?://{_HOST}(?::\d+)?"]
    if source.startswith("'"):
        return []
    if source.endswith(":") and "/" not in source:
        scheme = source[:-1].lower()
        return [rf"{scheme}://{_HOST}(?::\d+)?"] if scheme in _DEFAULT_PORTS else []
    want_scheme, sep, want = source.partition("://")
    if not sep:
        want_scheme, want = "", source
    want_host, _, want_port = want.split("/", 1)[0].partition(":")
    want_host = want_host.lower()
    if want_host.startswith("*."):
        host = rf"(?i:[^/:]*{re.escape(want_host[1:])})"
    else:
        host = rf"(?i:{re.escape(want_host)})"
    schemes = [want_scheme.lower()] if want_scheme else list(_DEFAULT_PORTS)
    found = []
    for scheme in schemes:
        if scheme not in _DEFAULT_PORTS or not want_host:
            continue
        if want_port == "*":
            port = r"(?::\d+)?"
        elif want_port and not want_port.isdigit():
            continue
        else:
            number = int(want_port) if want_port else _DEFAULT_PORTS[scheme]
            # An origin names no port when it is its scheme's default.
            port = f"(?::{number})?" if number == _DEFAULT_PORTS[scheme] else f":{number}"
        found.append(f"{scheme}://{host}{port}")
    return found


def origin_allowed(origin: str, sources: list[str]) -> bool:
    """Whether ``origin`` matches one of the frame-ancestors ``sources`` (settings.frame_sources)."""
    return re.fullmatch(origin_pattern(sources), origin) is not None


class ApiCors:
    """Starlette's CORSMiddleware on the API paths only; other paths pass untouched."""

    def __init__(self, app: ASGIApp, sources: list[str]):
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origin_regex=origin_pattern(sources),
            allow_methods=("GET", "POST"),
            allow_headers=("Content-Type",),
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CORS_PATHS):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
