"""The LTI routes, and only they, may be framed by the registered platforms.

A course platform shows a launch, and the deep-linking picker, in an iframe of
its own pages; the rest of the app keeps its policy (settings'
``playground_frame_ancestors`` and ``allowed_frame_ancestors``). This pure ASGI
middleware sits inside Observe: for a path under ``/lti/`` it rewrites the
answer's Content-Security-Policy (the route's own, or the app's default) so
that ``frame-ancestors`` names the platforms' origins, and ``form-action``
allows them too (the picker's answer is a form POSTed to the platform).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/lti/"


def framed(policy: str, origins: list[str]) -> str:
    """``policy`` with frame-ancestors set to ``origins`` and form-action widened to them."""
    sources = " ".join(origins) or "'none'"
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    names = [d.split()[0].lower() for d in directives]
    out = []
    for name, directive in zip(names, directives, strict=True):
        if name == "frame-ancestors":
            directive = f"frame-ancestors {sources}"
        elif name == "form-action" and origins:
            directive = f"{directive} {sources}"
        out.append(directive)
    if "frame-ancestors" not in names:
        out.append(f"frame-ancestors {sources}")
    if "form-action" not in names:
        out.append(f"form-action 'self' {' '.join(origins)}".rstrip())
    return "; ".join(out)


class LtiFraming:
    """Rewrites the framing of answers under /lti/ for the registered platforms' origins."""

    def __init__(self, app: ASGIApp, origins: list[str], default_policy: str):
        self.app = app
        self.origins = origins
        self.default_policy = default_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_framed(event: Message) -> None:
            if event["type"] == "http.response.start":
                headers = MutableHeaders(scope=event)
                policy = headers.get("content-security-policy") or self.default_policy
                headers["Content-Security-Policy"] = framed(policy, self.origins)
            await send(event)

        await self.app(scope, receive, send_framed)
