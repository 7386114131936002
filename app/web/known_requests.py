"""KnownRequests: an API body sent before is answered from the cache, unread.

Routes name their result's cache key in ``request.state.answer`` (api.answer).
"""

from __future__ import annotations

import hashlib
from typing import Any

from cachetools import LRUCache
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..serve.engine import Engine
from .headers import encoded_response

DIGEST_BYTES = 16
# What one remembered body costs beyond the bytes of its digest, key and text: the
# objects that hold them (two str and a bytes header, the tuple) and the cache's maps
# and links. Measured with tracemalloc while entries come and go past the bound: about
# 450-510 bytes; rounded up.
ENTRY_BYTES = 520


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

    What is remembered is bounded in bytes (``max_bytes``): each entry counts
    its digest, the key and the function's text as the log line shows it, and
    the objects that hold them (ENTRY_BYTES). The least recently used entries
    go first.
    """

    PATHS = frozenset({"/api/graph", "/api/train"})

    def __init__(
        self,
        app: ASGIApp,
        engine: Engine,
        text_chars: int,
        max_bytes: int = 4 * 2**20,
        max_body: int = 16_384,
    ):
        self.app = app
        self.engine = engine
        # How much of the function the log line shows; at most 1000 characters are
        # remembered with each body.
        self.text_chars = min(text_chars, 1000)
        self.max_body = max_body
        # digest -> (key, text)
        self.known: LRUCache[bytes, tuple[str, str]] = LRUCache(max_bytes, getsizeof=entry_bytes)

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
            entry = (str(state["answer"]), str(state.get("expr", ""))[: self.text_chars])
            if entry_bytes(entry) <= self.known.maxsize:  # LRUCache refuses a larger one
                self.known[digest] = entry

    @staticmethod
    def _digest(scope: Scope, body: bytes) -> bytes:
        kind = Headers(scope=scope).get("content-type", "")
        digest = hashlib.blake2b(digest_size=DIGEST_BYTES)
        digest.update(f"{scope['path']}\0{kind}\0".encode())
        digest.update(body)
        return digest.digest()


def entry_bytes(entry: tuple[str, str]) -> int:
    """What one remembered body counts against the bound: its digest, key and text, and
    the objects and links that keep them."""
    key, text = entry
    return ENTRY_BYTES + DIGEST_BYTES + len(key.encode()) + len(text.encode())
