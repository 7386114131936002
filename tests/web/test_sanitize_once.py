"""The page inlines the SVG its own worker sanitized as it is, and sanitizes anything read
back from a shared cache (check at the border: Redis may hold what another wrote)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from autograd_playground.core.draw import sanitize
from autograd_playground.serve.cache import Encoded, MemoryCache
from autograd_playground.serve.jobs import make_job
from autograd_playground.serve.settings import Settings
from autograd_playground.web.main import create_app

RESULT = {"HX-Request": "true", "HX-Target": "result"}
ASKED = {"expr": "3*u**2 + u", "u": "2"}


def page(client: TestClient, **more: str):
    return client.get("/", params={**ASKED, **more}, headers=RESULT)


class SharedCache(MemoryCache):
    """A cache that, like Redis, gives back a new object read from its bytes."""

    async def get(self, key: str) -> Encoded | None:
        found = await super().get(key)
        return None if found is None else Encoded.from_gzip(found.gzip)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SVGs the web process sanitizes for a page (the worker's own sanitizing is
    render.drawn's, not counted)."""
    calls: list[str] = []
    real = sanitize.sanitize_svg
    sanitize._sanitized.cache_clear()
    monkeypatch.setattr(sanitize, "sanitize_svg", lambda svg: calls.append(svg) or real(svg))
    return calls


def client_for(cache: Any = None) -> TestClient:
    client = TestClient(create_app(Settings(workers=0, warm_cache=False)))
    if cache is not None:
        client.app.state.engine.cache = cache
    return client


def test_a_result_the_worker_just_made_is_inlined_without_parsing_it_again(counted) -> None:
    with client_for() as client:
        first = page(client)
        # A later step of the same result: the in-memory cache gives the worker's object.
        later = page(client, step="2")
    assert first.status_code == later.status_code == 200
    assert 'id="var-u"' in first.text and 'class="node current"' in later.text
    assert counted == []


def test_a_result_read_back_from_a_shared_cache_is_sanitized(counted) -> None:
    with client_for(SharedCache(2**20)) as client:
        page(client)
        again = page(client, step="1")
    assert again.headers["x-cache"] == "hit"  # the kept result, on a new page
    assert len(counted) == 1 and 'id="var-u"' in again.text


def test_a_hostile_svg_in_a_shared_cache_never_reaches_the_page(counted) -> None:
    cache = SharedCache(2**20)
    with client_for(cache) as client:
        settings = client.app.state.settings
        job = make_job("3*u**2 + u", {"u": 2.0}, {"u": True}, "torchviz", settings.limits())
        clean = page(client, lang="de")
        kept = client.portal.call(cache.get, job.key)
        data = kept.data()
        data["svg"] = data["svg"].replace(
            "<title>", '<script>alert(1)</script><title onload="alert(2)">', 1)
        client.portal.call(cache.put, job.key, Encoded.of(data))
        shown = page(client)
    assert clean.status_code == shown.status_code == 200
    assert 'id="var-u"' in shown.text
    assert "<script>alert" not in shown.text and "onload" not in shown.text
