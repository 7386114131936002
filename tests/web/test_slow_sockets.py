"""Connections that send their headers or body a byte at a time are closed (web.connection).

A real server (uvicorn with the app's protocol, as make run starts it) on
loopback, with header and body timeouts of 1 s; the sockets send a byte every
2 s and are given 12 s at most to be closed.
"""

from __future__ import annotations

import select
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from bench.server import serve

PROTOCOL = "autograd_playground.web.connection:TimedHttpToolsProtocol"
SOCKETS = 12
BYTE_EVERY = 2.0
GIVE_UP_AFTER = 12.0


@pytest.fixture(scope="module")
def server():
    with serve(
        60, "--http", PROTOCOL, "--limit-concurrency", "100",
        PLAYGROUND_WORKERS="0", PLAYGROUND_WARM_CACHE="false",
        PLAYGROUND_HEADER_TIMEOUT="1", PLAYGROUND_BODY_TIMEOUT="1",
    ) as running:
        yield running


def closed(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (an end of file or a reset)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(4096) == b""
    except OSError:
        return True


def play_slowly(url: str, opening: bytes) -> int:
    """Open SOCKETS sockets that send ``opening`` then one more byte every BYTE_EVERY s;
    the number still open after GIVE_UP_AFTER s."""
    parts = urlsplit(url)
    sockets = [socket.create_connection((parts.hostname, parts.port)) for _ in range(SOCKETS)]
    try:
        for sock in sockets:
            sock.sendall(opening)
        open_ = list(sockets)
        deadline = time.monotonic() + GIVE_UP_AFTER
        next_byte = time.monotonic() + BYTE_EVERY
        while open_ and time.monotonic() < deadline:
            select.select(open_, [], [], 0.2)
            open_ = [sock for sock in open_ if not closed(sock)]
            if time.monotonic() >= next_byte:
                for sock in list(open_):
                    try:
                        sock.send(b"X")
                    except OSError:
                        open_.remove(sock)
                next_byte += BYTE_EVERY
        return len(open_)
    finally:
        for sock in sockets:
            sock.close()


def test_slow_headers_are_cut_off(server) -> None:
    assert play_slowly(server.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ") == 0
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_a_slow_body_is_cut_off(server) -> None:
    head = (b"POST /api/graph HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{")
    assert play_slowly(server.url, head) == 0
    answer = httpx.post(f"{server.url}/api/graph", json={"expression": "x*3", "inputs": {"x": 2}},
                        timeout=10)
    assert answer.json()["gradients"] == {"x": 3.0}
