"""Observe, the outermost middleware: what every request goes through, before and after its route.

It refuses early what no route should see (a body or an address over its
limit, a client over its rate), adds the security headers, counts the request
in the metrics, writes one JSON log line, and turns an exception that escaped
every handler into a sentence with the same headers instead of a bare 500.

Routes tell it how they went through ``request.state`` (the ASGI scope's
"state"): ``outcome``, ``cache`` and ``expr``.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.language.rules import N_
from ..serve.metrics import Metrics
from ..serve.ratelimit import client_address
from ..serve.settings import Settings
from .body_limit import BODY_TOO_LARGE
from .headers import (
    LIMITED_ROUTES,
    PAGE_ROUTES,
    SECURITY_HEADERS,
    cache_control,
    content_security_policy,
    outcome_of,
    query_value,
    route_label,
)
from .templating import Environments, message_page

RATE_LIMITED_MESSAGE = N_(
    "Too many requests from your network; please wait {seconds} s and try again."
)
ADDRESS_TOO_LONG = N_("The address is longer than {limit} characters; use a shorter function.")
SERVER_FAULT = N_("Something went wrong on the server with this request; please try again.")

access_log = logging.getLogger("playground.access")


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
        query_lang = query_value(scope, "lang")
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
