"""Guard: what no route should see is refused before it runs, and a route that fails
is answered with a sentence.

It refuses a body or an address over its limit and a client over its rate,
with a sentence as JSON or, on pages, as a page in the reader's language. An
exception that escaped every handler becomes a 500 with a sentence instead of
a bare one. It sits inside the API's CORS, so that a browser on a course site
can read these answers too, and inside Observe, which logs and counts them.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core.language.rules import N_
from ..serve.ratelimit import client_address
from ..serve.settings import Settings
from .body_limit import BODY_TOO_LARGE
from .headers import LIMITED_ROUTES, PAGE_ROUTES, ROUTE_COST, query_value, route_label
from .templating import Environments, message_page

RATE_LIMITED_MESSAGE = N_(
    "Too many requests from your network; please wait {seconds} s and try again."
)
ADDRESS_TOO_LONG = N_("The address is longer than {limit} characters; use a shorter function.")
logger = logging.getLogger(__name__)

SERVER_FAULT = N_("Something went wrong on the server with this request; please try again.")


class Guard:
    """Rate limit and early refusals before the route; a sentence for a route that failed."""

    def __init__(self, app: ASGIApp, settings: Settings, limiter: Any, templates: Environments):
        self.app = app
        self.settings = settings
        self.limiter = limiter
        self.templates = templates
        self.trusted = settings.proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        started = False

        async def send_started(event: Message) -> None:
            nonlocal started
            started = started or event["type"] == "http.response.start"
            await send(event)

        try:
            refusal = await self.refusal(scope)
            await (refusal or self.app)(scope, receive, send_started)
        except Exception:
            if started:  # the answer had begun: nothing better can be sent now
                raise
            logger.exception(
                "unhandled error on %s", route_label(scope["path"])
            )
            state["outcome"] = "error"
            await self.page_or_json(scope, 500, SERVER_FAULT)(scope, receive, send)

    async def refusal(self, scope: Scope) -> ASGIApp | None:
        """An answer before any route runs, or None to let the request through."""
        settings = self.settings
        headers = Headers(scope=scope)
        path = scope["path"]
        if path in LIMITED_ROUTES:
            peer = scope["client"][0] if scope.get("client") else None
            forwarded = ", ".join(headers.getlist("x-forwarded-for")) or None
            # The client a request counts against: its rate here, its share of the
            # workers in the routes (request.state.client).
            client = scope["state"]["client"] = client_address(peer, forwarded, self.trusted)
            wait = await self.limiter.take(client, ROUTE_COST.get(path, 1))
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
