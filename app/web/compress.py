"""Compress: gzip for HTML, JSON and SVG, where the client takes it."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Receive, Scope, Send

from .headers import accepts_gzip


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
