"""Connections that cannot be held open: header and body read timeouts for the bare server.

uvicorn bounds an idle keep-alive connection (``--timeout-keep-alive``) and,
with ``--limit-concurrency``, how many it serves, but not how long a client may
take to send a request's headers or body: 300 sockets sending one byte every
15 s stayed open for as long as they liked. Neither uvicorn nor httptools has a
read timeout, and no maintained ASGI server that we run offers both on the same
protocol (hypercorn has none for headers either), so this is a small subclass
of uvicorn's httptools protocol:

- from the moment a connection is made, or a new request on it begins, its
  headers must be complete within ``header_timeout`` seconds;
- once they are, its body must be complete within ``body_timeout`` seconds.

Otherwise the connection is closed (a route that was reading the body hears a
disconnect). Behind nginx, nginx's own client_header_timeout and
client_body_timeout do this first (deploy/nginx.conf).

Started as ``uvicorn ... --http autograd_playground.web.connection:TimedHttpToolsProtocol``
(make run, the Dockerfile, docker-compose.yml). The two timeouts are the
settings ``header_timeout`` and ``body_timeout``, read once per process.
"""

from __future__ import annotations

import asyncio
import functools

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..serve.settings import Settings


@functools.cache
def read_timeouts() -> tuple[float, float]:
    """The header and body timeouts, from the environment's settings, once per process."""
    settings = Settings()
    return settings.header_timeout, settings.body_timeout


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request arrives too slowly."""

    _read_timer: asyncio.TimerHandle | None = None

    def _start_timer(self, seconds: float) -> None:
        self._stop_timer()
        self._read_timer = self.loop.call_later(seconds, self._read_timed_out)

    def _stop_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_timer(read_timeouts()[0])

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._read_timer is None:  # a new request on a kept-alive connection
            self._start_timer(read_timeouts()[0])

    def on_headers_complete(self) -> None:
        self._start_timer(read_timeouts()[1])
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._stop_timer()
        super().on_message_complete()
