"""Shared fixtures: settings, the app built from them, and a client for the API.

The app is always built with ``create_app(settings)``; a test that needs other
limits asks for ``make_client`` and passes the settings it wants.

Starlette 1.x warns, once, when its TestClient module is imported with httpx
rather than httpx2; httpx works, so that import is silenced here (conftest is
imported before any test module), whatever warning filters pytest runs with.
"""

from __future__ import annotations

import asyncio
import os
import time
import warnings
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from autograd_playground.serve.settings import Settings
from autograd_playground.web.main import create_app


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """The session's one Playwright, for every folder's browser tests: its sync API runs an
    event loop of its own, so a second one started in the same thread fails."""
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser-deps` installs Debian's chromium")
    with sync_playwright() as p:
        yield p


@pytest.fixture(autouse=True)
def fresh_pictures() -> None:
    """Each test lays out its own graphs: no picture remembered from another test."""
    from autograd_playground.core.draw.render import drawn

    drawn.cache_clear()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PLAYGROUND_* variable from the shell leaks into a test's Settings."""
    for name in list(os.environ):
        if name.startswith("PLAYGROUND_"):
            monkeypatch.delenv(name)


# Most tests exercise everything but the process isolation, so their apps compute
# in-process and skip the start-up warm-up: a worker pool costs seconds to start.
# tests/serve/test_engine.py and the browser tests run the real pool. The test
# client connects from no address, so /metrics is open to it here.
T = TypeVar("T")

IN_PROCESS = {"workers": 0, "warm_cache": False, "metrics_allow": "*"}


def run_on_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: the browser tests (Playwright's sync API)
    keep an event loop running in the main thread, where asyncio.run would refuse."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def until(condition: Callable[[], object], seconds: float = 10.0) -> None:
    """Let the loop run until ``condition()`` holds; fail past the deadline (no fixed sleep)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.001)


@pytest.fixture
def settings(clean_env: None) -> Settings:
    """The documented defaults, computing in-process (see IN_PROCESS)."""
    return Settings(**IN_PROCESS)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def make_client(clean_env: None) -> Iterator[Callable[..., TestClient]]:
    """``make_client(max_length=10)``: a client for an app with those settings."""
    with ExitStack() as stack:

        def make(**overrides: object) -> TestClient:
            settings = Settings(**{**IN_PROCESS, **overrides})
            return stack.enter_context(TestClient(create_app(settings)))

        yield make


@pytest.fixture
def faulty(clean_env: None) -> Iterator[TestClient]:
    """An app with one extra route whose code fails, as a bug would."""
    app = create_app(Settings(**IN_PROCESS))

    @app.get("/api/fault")
    def fault() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
