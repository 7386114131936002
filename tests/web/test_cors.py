"""CORS for the API, driven with httpx: a course site's script can read every answer,
the refusals before any route included."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from autograd_playground.serve.settings import Settings
from autograd_playground.web.main import create_app
from tests.conftest import IN_PROCESS, run_on_own_loop

COURSE = "https://moodle.school.example"
GRAPH = {"expression": "x*2", "inputs": {"x": 1}}


def send(overrides: dict[str, object], *requests: dict[str, object]) -> list[httpx.Response]:
    """Each request (httpx.Client.request's arguments), in order, to one app of these settings."""
    settings = Settings(**{**IN_PROCESS, "allowed_frame_ancestors": COURSE, **overrides})
    app = create_app(settings)

    @app.get("/api/fault")
    def fault() -> None:
        raise RuntimeError("a bug")

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.request(**request) for request in requests]

    return run_on_own_loop(run())


@pytest.fixture(autouse=True)
def _clean(clean_env: None) -> Iterator[None]:
    yield


def allowed(response: httpx.Response) -> bool:
    return response.headers.get("access-control-allow-origin") == COURSE


def test_a_preflight_from_a_course_site_is_allowed_and_others_are_not():
    ok, other, page = send(
        {},
        {"method": "OPTIONS", "url": "/api/graph",
         "headers": {"Origin": COURSE, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"}},
        {"method": "OPTIONS", "url": "/api/graph",
         "headers": {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}},
        {"method": "GET", "url": "/", "headers": {"Origin": COURSE}},
    )
    assert ok.is_success and allowed(ok)
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "content-type" in ok.headers["access-control-allow-headers"].lower()
    assert ok.headers["x-content-type-options"] == "nosniff"  # Observe is outside
    assert other.status_code >= 400 and "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in page.headers  # pages are not part of it


def test_an_answer_names_the_allowed_origin_and_varies_on_it():
    (answer,) = send({}, {"method": "POST", "url": "/api/graph", "json": GRAPH,
                          "headers": {"Origin": COURSE}})
    assert answer.status_code == 200 and allowed(answer)
    assert "Origin" in answer.headers["vary"]


def test_a_body_over_the_limit_is_refused_with_the_cors_headers():
    (refused,) = send(
        {"max_body_bytes": 1024},
        {"method": "POST", "url": "/api/graph", "content": b"{" + b" " * 2000 + b"}",
         "headers": {"Origin": COURSE, "Content-Type": "application/json"}},
    )
    assert refused.status_code == 413 and allowed(refused)
    assert "larger than 1024 bytes" in refused.json()["detail"]


def test_a_rate_limited_request_is_refused_with_the_cors_headers():
    request = {"method": "POST", "url": "/api/graph", "json": GRAPH, "headers": {"Origin": COURSE}}
    first, limited = send({"rate_limit_burst": 1, "rate_limit_per_minute": 1}, request, request)
    assert first.status_code == 200
    assert limited.status_code == 429 and allowed(limited)
    assert "retry-after" in limited.headers


def test_a_failed_route_is_a_sentence_with_the_cors_headers():
    (failed,) = send({}, {"method": "GET", "url": "/api/fault", "headers": {"Origin": COURSE}})
    assert failed.status_code == 500 and allowed(failed)
    assert "went wrong" in failed.json()["detail"]
