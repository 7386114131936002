"""LTI fixtures: the loopback platform, the tool served beside it, and launches through both.

``platform`` is tests/lti/platform.py's, on a free port. ``tool`` is the app with
an LTI configuration written to a temporary folder (the platform's registration,
keys made there), served by uvicorn on a free port in a thread, so that a test
can look into its store. ``launch(...)`` goes login -> the platform's auth ->
launch with httpx, as a browser would, and returns the launch's answer.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from autograd_playground.serve.settings import Settings
from autograd_playground.web.lti import deeplink, grading
from autograd_playground.web.lti.model import Launch
from autograd_playground.web.main import create_app
from tests.lti.platform import Platform, Served, new_key

TOOL_SETTINGS = {"workers": 0, "warm_cache": False, "metrics_allow": "*"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(folder: Path, platform: Platform) -> Path:
    """A tool-config JSON for ``platform`` in ``folder``, with a new tool key beside it."""
    key = new_key()
    (folder / "tool-private.pem").write_bytes(key.as_pem(private=True))
    config = folder / "lti.json"
    config.write_text(json.dumps({platform.issuer: [platform.registration("tool-private.pem")]}))
    return config


@dataclass
class Tool:
    url: str
    app: FastAPI
    config: Path

    @property
    def lti(self) -> Any:
        return self.app.state.lti

    def writes(self) -> int:
        """How many times the tool's store was written to (MemoryStore.writes)."""
        return self.lti.store.writes


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    platform = Platform()
    port = free_port()
    platform.url = f"http://127.0.0.1:{port}"
    with Served(platform.app(), port):
        yield platform


@contextmanager
def serve_tool(platform: Platform, folder: Path, **settings: Any) -> Iterator[Tool]:
    """The tool on a free port, registered with ``platform`` (which then launches it)."""
    config = write_config(folder, platform)
    app = create_app(Settings(**{**TOOL_SETTINGS, "lti_config": str(config), **settings}))
    port = free_port()
    before = platform.tool_url
    platform.tool_url = f"http://127.0.0.1:{port}"
    try:
        with Served(app, port) as served:
            yield Tool(served.url, app, config)
    finally:
        platform.tool_url = before


@pytest.fixture(scope="session")
def tool(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tool]:
    with serve_tool(platform, tmp_path_factory.mktemp("tool")) as served:
        yield served


FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
ACTION = re.compile(r'<form id="launch" method="post" action="([^"]+)">')


def auth_form(html: str) -> tuple[str, dict[str, str]]:
    """The platform's auto-submitting form: where it posts, and its fields."""
    action = ACTION.search(html)
    assert action, html[:500]
    return unescape(action.group(1)), {unescape(k): unescape(v) for k, v in FIELD.findall(html)}


@dataclass
class Authorized:
    """A launch up to the POST: the browser (its cookies), where to post, and what."""

    client: httpx.Client
    action: str
    fields: dict[str, str]
    hint: str

    def post(self, **changes: str) -> httpx.Response:
        return self.client.post(self.action, data={**self.fields, **changes})


@pytest.fixture
def authorize(platform: Platform, tool: Tool) -> Iterator[Callable[..., Authorized]]:
    """``authorize(**prepared)``: login at the tool, then the platform's auth answer, unposted.

    The keywords are tests/lti/platform.py's Prepared (message_type, custom, ags,
    user, locale, claims, header, key); ``target`` changes the target_link_uri.
    """
    clients: list[httpx.Client] = []

    def make(target: str | None = None, client: httpx.Client | None = None,
             **prepared: Any) -> Authorized:
        if client is None:
            client = httpx.Client(timeout=30)
            clients.append(client)
        hint = platform.prepare(**prepared)
        login = client.get(f"{tool.url}/lti/login", params=platform.login_params(hint, target))
        assert login.status_code == 302, login.text
        auth = client.get(login.headers["location"])
        assert auth.status_code == 200, auth.text
        action, fields = auth_form(auth.text)
        return Authorized(client, action, fields, hint)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def launch(authorize: Callable[..., Authorized]) -> Callable[..., httpx.Response]:
    """``launch(**prepared)``: login -> auth -> launch; the launch's answer (the tool's page)."""

    def make(**prepared: Any) -> httpx.Response:
        return authorize(**prepared).post()

    return make


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[Launch]:
    """The launches that reached deeplink.handle or grading.handle, which only record them."""
    seen: list[Launch] = []

    async def record(request: Any, launch: Launch) -> PlainTextResponse:
        seen.append(launch)
        return PlainTextResponse(f"handled {launch.message_type}")

    monkeypatch.setattr(grading, "handle", record)
    monkeypatch.setattr(deeplink, "handle", record)
    return seen
