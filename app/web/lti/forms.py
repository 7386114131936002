"""The url-encoded form a platform or an LTI page posts, read without python-multipart."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request


async def form_pairs(request: Request, max_fields: int, encoding: str = "utf-8") -> list[tuple[str, str]]:
    """An url-encoded body's fields in order, repeated ones kept (BodyLimit bounds its
    size); none for another content type. Raises ValueError past ``max_fields`` fields."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return []
    body = (await request.body()).decode(encoding, "replace")
    return parse_qsl(body, keep_blank_values=True, max_num_fields=max_fields)
