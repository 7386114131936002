"""The app as production runs it, for benchmarks and tests: uvicorn on a free loopback port.

``serve(**env)`` starts ``uvicorn autograd_playground.web.main:create_app --factory`` with the
PLAYGROUND_* settings given (none from the caller's shell), waits until
``/healthz`` answers 200, and stops the server when the block ends. Used by the
fault drill (bench/fault_drill.py, tests/web/test_fault_drill.py) and the
browser tests (tests/e2e/conftest.py).

``traced_app`` is the same app for finding what grows in a long-running web
process (bench/soak.py --trace): started as ``bench.server:traced_app`` with
``BENCH_TRACEMALLOC=<frames>`` in its environment, it runs tracemalloc and
adds ``GET /bench/heap?name=N``, which writes a snapshot to
``$BENCH_TRACE_DIR/N.snapshot`` and answers the live objects by type and the
size of every cache the web process keeps. With ``BENCH_TRACEMALLOC=0`` it
traces nothing (tracemalloc slows the server twentyfold) and only counts. Nothing of this is in the app's own
code path: ``create_app`` never imports it.
"""

from __future__ import annotations

import gc
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
from typing import IO, TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from fastapi import FastAPI

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


# --- what grows: the traced app ----------------------------------------------


def traced_app() -> FastAPI:
    """create_app() with tracemalloc on and ``GET /bench/heap`` (see the module's doc)."""
    import tracemalloc

    from fastapi.responses import JSONResponse

    from autograd_playground.web.main import create_app

    frames = int(os.environ.get("BENCH_TRACEMALLOC") or 0)
    if frames > 0:
        tracemalloc.start(frames)
    app = create_app()
    folder = Path(os.environ.get("BENCH_TRACE_DIR") or tempfile.gettempdir())

    async def heap(name: str) -> JSONResponse:
        if not name.isalnum():
            return JSONResponse({"detail": "name: letters and digits"}, status_code=422)
        gc.collect()
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(folder / f"{name}.snapshot"))
        return JSONResponse({"objects": object_counts(), "caches": cache_sizes(app),
                             "traced_mib": tracemalloc.get_traced_memory()[0] / 2**20})

    app.add_api_route("/bench/heap", heap, methods=["GET"], include_in_schema=False)
    return app


def object_counts(top: int = 40) -> dict[str, int]:
    """Live objects tracked by the garbage collector, by type, the most numerous first."""
    counts: dict[str, int] = {}
    for obj in gc.get_objects():
        name = type(obj).__qualname__
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:top])


def cache_sizes(app: FastAPI) -> dict[str, Any]:
    """Every store the web process keeps, with its entries and (where it counts them)
    bytes against its bound."""
    from autograd_playground.web import i18n, markup, templating

    state = app.state
    engine = state.engine
    out: dict[str, Any] = {}

    def lru(cache: Any) -> dict[str, Any]:
        return {"entries": len(cache), "bytes": int(cache.currsize), "bound": int(cache.maxsize)}

    cache = engine.cache
    if hasattr(cache, "_items"):
        out["results"] = lru(cache._items) | {"flights": len(cache.flights._inflight)}
    out["pages"] = lru(state.page_cache._items) | {
        "flights": len(state.page_cache.flights._inflight)}
    out["mathml"] = lru(markup.checked_formula._kept)
    limiter = state.limiter
    if hasattr(limiter, "_buckets"):
        out["rate_buckets"] = lru(limiter._buckets)
    layer: Any = app.middleware_stack
    while layer is not None:
        if hasattr(layer, "known"):
            out["known_requests"] = lru(layer.known)
        layer = getattr(layer, "app", None)
    for lang, env in state.templates.items() if hasattr(state.templates, "items") else []:
        out[f"jinja_{lang}"] = {"templates": len(env.cache or {})}
    out["translations"] = i18n.translations.cache_info()._asdict()
    memo = type(i18n.translations)  # functools' lru_cache wrapper
    plain = [o for o in gc.get_objects() if isinstance(o, memo)
             and o.__module__ == templating.__name__ and o.__qualname__.endswith("plain")]
    out["gettext_memos"] = [f.cache_info()._asdict() for f in plain]
    metrics = state.metrics
    out["metric_labels"] = {"routes": len(metrics._route._known),
                            "loggers": len(metrics._logger._known),
                            "series": sum(len(f.samples) for f in metrics.registry.collect())}
    out["engine"] = {"pending": engine.pending, "shares_held": len(engine.shares._held),
                     "shares_waiting": len(engine.shares._waiting)}
    pool = getattr(engine, "pool", None) or getattr(engine, "_pool", None)
    if pool is not None:
        out["pool"] = {"tasks": len(getattr(pool, "_tasks", {})),
                       "answered_pids": len(getattr(pool, "_answered", {}))}
    return out
