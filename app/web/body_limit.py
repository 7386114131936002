"""BodyLimit: stops reading a request body past its limit, declared or not."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.language.rules import N_

BODY_TOO_LARGE = N_("The request body is larger than {limit} bytes.")


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
