"""Observe, the outermost middleware: what every request goes through, before and after its route.

It adds the security headers and Cache-Control, counts the request in the
metrics and writes one JSON log line, whoever answered: a route, the API's
CORS (a preflight), or Guard (a refusal before the route, or the sentence for
a route that failed).

Routes tell it how they went through ``request.state`` (the ASGI scope's
"state"): ``outcome``, ``cache`` and ``expr``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..serve.metrics import LOGGER_ROOT, Metrics
from ..serve.settings import Settings
from .headers import (
    SECURITY_HEADERS,
    cache_control,
    content_security_policy,
    outcome_of,
    route_label,
)

access_log = logging.getLogger("playground.access")

# Characters that end a line for some readers (NEL, the line and paragraph
# separators) or reorder it on screen (bidi embeddings, overrides, isolates,
# marks): json.dumps with ensure_ascii=False writes them raw, so they are written
# as \u escapes. They can only stand inside a JSON string, where the escape means
# the same character.
LOG_ESCAPES = {
    code: f"\\u{code:04x}"
    for code in (0x0085, 0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F),
                 *range(0x2066, 0x206A))
}


def one_line(data: dict[str, Any]) -> str:
    """``data`` as one line of JSON that no reader splits or shows reordered."""
    return json.dumps(data, ensure_ascii=False).translate(LOG_ESCAPES)


class JsonLines(logging.Formatter):
    """Every log record as one JSON object on one line; a traceback is one escaped field.

    The access log's records are JSON already (Observe.observe) and go out as they are.
    """

    def format(self, record: logging.LogRecord) -> str:
        if record.name == access_log.name:
            return record.getMessage().translate(LOG_ESCAPES)
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return one_line(data)


def setup_access_log() -> None:
    """One JSON line per request, and per record of the app's and uvicorn's loggers, on
    standard error, whatever the server's log set-up."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLines())
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    app_log = logging.getLogger(LOGGER_ROOT)
    if not any(isinstance(h.formatter, JsonLines) for h in app_log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLines())
        handler.setLevel(logging.WARNING)
        app_log.addHandler(handler)
    # uvicorn's own lines ("Exception in ASGI application" and its traceback among them).
    for name in ("uvicorn.error", "uvicorn"):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(JsonLines())


class Observe:
    """Security headers, Cache-Control, metrics and one log line, for every request."""

    def __init__(self, app: ASGIApp, settings: Settings, metrics: Metrics):
        self.app = app
        self.settings = settings
        self.metrics = metrics
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
            await self.app(scope, receive, send_with_headers)
        finally:
            self.observe(scope, state, status, time.perf_counter() - start)

    def observe(self, scope: Scope, state: dict[str, Any], status: int, seconds: float) -> None:
        route = route_label(scope["path"])
        outcome = state.get("outcome") or outcome_of(status)
        self.metrics.observe_request(route, status, seconds)
        self.metrics.outcome(outcome)
        access_log.info(
            one_line(
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
            )
        )
