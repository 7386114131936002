"""The app as production runs it, for benchmarks and tests: uvicorn on a free loopback port.

``serve(**env)`` starts ``uvicorn autograd_playground.web.main:create_app --factory`` with the
PLAYGROUND_* settings given (none from the caller's shell), waits until
``/healthz`` answers 200, and stops the server when the block ends. Used by the
fault drill (bench/fault_drill.py, tests/web/test_fault_drill.py) and the
browser tests (tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[1]


class ServerFailed(RuntimeError):
    """The server exited, or did not become healthy in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    pid: int
    log: IO[str]

    def rss_mb(self) -> float:
        """Resident memory of the web process (not its workers), in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def tail(self) -> str:
        self.log.seek(0)
        return self.log.read()[-4000:]


@contextmanager
def serve(start_timeout: float = 60, *args: str, **env_overrides: str) -> Iterator[Server]:
    """The app on a free port, with PLAYGROUND_* from ``env_overrides``; ``args`` go to uvicorn."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYGROUND_")}
    env.update(env_overrides)
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "autograd_playground.web.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), *args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", proc.pid, log)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if proc.poll() is not None:
                raise ServerFailed(f"the server exited with {proc.returncode}:\n{server.tail()}")
            try:
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(f"/healthz not 200 within {start_timeout} s:\n{server.tail()}")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
