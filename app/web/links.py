"""This server's own address, as the browser reaches it, for links others will open; and
how a link's query parameters are percent-encoded."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from fastapi import Request

from ..serve.settings import Settings

HOST_HEADER = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")


def public_base_url(request: Request, settings: Settings) -> str:
    """The scheme and host for share links, snippets and oEmbed.

    The public_url setting, when set, is the answer whatever the request says.
    Otherwise: behind a trusted proxy that terminates TLS, the proxy's
    X-Forwarded-Proto and -Host say how, and from anyone else those headers are
    ignored; the Host header is used last, and only the names in allowed_hosts
    get this far when that setting is not '*'.
    """
    if settings.public_url:
        return settings.public_url
    base = urlsplit(str(request.base_url))
    scheme, host = base.scheme, base.netloc
    if request.client and request.client.host in settings.proxies:
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        forwarded_host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
        if proto in ("http", "https"):
            scheme = proto
        if HOST_HEADER.match(forwarded_host):
            host = forwarded_host
    return f"{scheme}://{host}"


def quote_param(text: str, safe: str = "", encoding: str | None = None, errors: str | None = None) -> str:
    """Percent-encoding that leaves , [ ] readable; + and everything else is encoded.

    ``*`` is written %2A: link finders (e.g. a course platform's oEmbed
    auto-embed) end a bare link at the first ``*``, so ``?expr=5*x`` became
    "y = 5". Reading a link decodes both forms."""
    return quote(text, safe=",[]", encoding=encoding, errors=errors)


def query_string(pairs: Iterable[tuple[str, str]]) -> str:
    """``pairs`` as a query string: urllib's urlencode with quote_param, for text pairs."""
    return "&".join(f"{quote_param(key)}={quote_param(value)}" for key, value in pairs)
