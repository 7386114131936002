"""A fault drill: the real server, every request that once broke it, then a burst of them.

Starts ``uvicorn autograd_playground.web.main:create_app --factory`` on a free port with the
real worker pool, sends each hostile request of issue-style reports (a value
nested 500 deep on a page and in the API, an unused deep input, a result that
used to be 112 MB, a constant too big for a float, Unicode digits in step, a
URL urlsplit cannot read, a forged Host, 99 variables on a page), then all of
them at once, while a poller asks /healthz every 100 ms. After each request, a
new computation must give the right gradient. Then the same big request,
repeated with new values, measures the web process's memory.

Prints the figures: the status of every answer, /healthz latency while the
hostile requests ran (median, p95, max), and the web process's RSS before and
after. tests/web/test_fault_drill.py runs the same drill with fewer repetitions and
asserts liveness and correctness only, never speed.

    .venv/bin/python bench/fault_drill.py [--big 20] [--burst 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import server
from server import Server

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 60

# The drill's server: the real pool, no rate limit (the drill is one client), a queue
# deep enough for the burst, so that every answer is the request's own, not "busy",
# and a time limit loose enough that the big request is answered on a busy machine.
DRILL_ENV = {
    "PLAYGROUND_REQUEST_TIMEOUT": "30",
    "PLAYGROUND_WORKERS": "2",
    "PLAYGROUND_RATE_LIMIT_PER_MINUTE": "0",
    "PLAYGROUND_MAX_QUEUE": "64",
    "PLAYGROUND_WARM_CACHE": "false",
}


@contextmanager
def serve(**env_overrides: str) -> Iterator[Server]:
    """The app with the drill's settings (see DRILL_ENV), started as production runs it."""
    with server.serve(START_TIMEOUT_S, "--no-access-log", **{**DRILL_ENV, **env_overrides}) as s:
        yield s


# --- the hostile requests -----------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    name: str
    method: str
    path: str
    query: str = ""
    body: str | None = None  # JSON text, written by hand: json.dumps would recurse
    headers: tuple[tuple[str, str], ...] = ()


def _deep(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


BIG_EXPRESSION = "sum(" + "sin(" * 90 + "x+31" + ")" * 90 + ")"


def big_body(offset: float) -> str:
    values = ",".join(f"{(i % 97) / 97 + offset:.4f}" for i in range(10_000))
    return f'{{"expression": {json.dumps(BIG_EXPRESSION)}, "inputs": {{"x": [{values}]}}}}'


def _api(name: str, expression: str, inputs: str) -> Hostile:
    return Hostile(name, "POST", "/api/graph",
                   body=f'{{"expression": {json.dumps(expression)}, "inputs": {inputs}}}')


HOSTILE: list[Hostile] = [
    Hostile("page-deep-500", "GET", "/", urlencode({"expr": "x+1", "x": _deep(500)})),
    Hostile("embed-deep-450", "GET", "/embed", urlencode({"expr": "x+1", "x": _deep(450)})),
    _api("api-deep-500", "x+1", f'{{"x": {_deep(500)}}}'),
    _api("api-unused-deep-500", "x+1", f'{{"x": 2, "z": {_deep(500)}}}'),
    _api("api-deep-5000", "x+1", f'{{"x": {_deep(5000)}}}'),
    _api("api-overflow", "10000**100*x", '{"x": 2}'),
    Hostile("page-overflow", "GET", "/", urlencode({"expr": "10000**100*x", "x": "2"})),
    *[
        Hostile(f"step-sup2{path}", "GET", path, "expr=x%2B1&x=2&step=%C2%B2")
        for path in ("/", "/embed", "/fields")
    ],
    Hostile("share-step-sup2", "GET", "/share", "state=expr%3Dx%26step%3D%C2%B2"),
    Hostile("oembed-step-sup2", "GET", "/oembed",
            urlencode({"url": "http://h/embed?expr=x&step=\u00b2"})),
    Hostile("oembed-bad-url", "GET", "/oembed", urlencode({"url": "http://[::1"})),
    Hostile("forged-host", "GET", "/share", "state=expr%3Dx",
            headers=(("host", "evil.example"), ("x-forwarded-host", "evil.example"))),
    Hostile("page-99-variables", "GET", "/",
            urlencode({"expr": "+".join(f"v{i}" for i in range(99))})),
    Hostile("bidi", "GET", "/", urlencode({"expr": "x\u202e+1", "x": "2"})),
    Hostile("big-result", "POST", "/api/graph", body=big_body(0.0)),
]


@dataclass
class Drill:
    statuses: dict[str, int] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)  # the sentence of each refusal
    wrong: list[str] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    health_failures: list[str] = field(default_factory=list)
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    big_ms: list[float] = field(default_factory=list)
    big_bytes: int = 0


async def send(client: httpx.AsyncClient, h: Hostile, body: str | None = None) -> httpx.Response:
    headers = dict(h.headers)
    if h.body is not None:
        headers["content-type"] = "application/json"
    url = h.path + (f"?{h.query}" if h.query else "")
    return await client.request(h.method, url, content=body or h.body, headers=headers)


async def check_computes(client: httpx.AsyncClient, x: float, drill: Drill, after: str) -> None:
    """A new computation (x differs each time, so no cache): y = x**2 + 1, dy/dx = 2x."""
    response = await client.post("/api/graph", json={"expression": "x**2 + 1", "inputs": {"x": x}})
    if response.status_code != 200 or response.json()["gradients"] != {"x": 2 * x}:
        drill.wrong.append(f"after {after}: {response.status_code} {response.text[:200]}")


async def poll_health(client: httpx.AsyncClient, drill: Drill, stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        try:
            response = await client.get("/healthz", timeout=30)
            if response.status_code != 200:
                drill.health_failures.append(f"{response.status_code} {response.text[:100]}")
        except httpx.HTTPError as exc:
            drill.health_failures.append(repr(exc))
        drill.health_ms.append((time.perf_counter() - start) * 1000)
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except TimeoutError:
            pass


async def run_drill(server: Server, big: int = 20, burst: int = 3) -> Drill:
    drill = Drill()
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as client, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as health:
        stop = asyncio.Event()
        poller = asyncio.create_task(poll_health(health, drill, stop))
        x = 1.0
        for h in HOSTILE:  # one by one, each followed by a new computation
            response = await send(client, h)
            drill.statuses[h.name] = response.status_code
            if response.status_code >= 400:
                drill.details[h.name] = response.text[:200]
            x += 1
            await check_computes(client, x, drill, h.name)
        for round_ in range(burst):  # all at once
            answers = await asyncio.gather(*(send(client, h) for h in HOSTILE))
            for h, response in zip(HOSTILE, answers, strict=False):
                drill.statuses[f"burst{round_}:{h.name}"] = response.status_code
            x += 1
            await check_computes(client, x, drill, f"burst {round_}")
        drill.rss_before_mb = server.rss_mb()
        big_request = next(h for h in HOSTILE if h.name == "big-result")
        for i in range(big):  # new values each time: computed, not cached
            start = time.perf_counter()
            response = await send(client, big_request, big_body(i + 1.0))
            drill.big_ms.append((time.perf_counter() - start) * 1000)
            drill.statuses[f"big{i}"] = response.status_code
            drill.big_bytes = len(response.content)
        drill.rss_after_mb = server.rss_mb()
        x += 1
        await check_computes(client, x, drill, "the big requests")
        stop.set()
        await poller
    return drill


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=20, help="repeated big requests")
    parser.add_argument("--burst", type=int, default=3, help="rounds of all at once")
    args = parser.parse_args()
    with serve() as server:
        idle_rss = server.rss_mb()
        drill = asyncio.run(run_drill(server, args.big, args.burst))
    statuses: dict[int, int] = {}
    for status in drill.statuses.values():
        statuses[status] = statuses.get(status, 0) + 1
    print(f"answers by status: {dict(sorted(statuses.items()))}")
    print(f"5xx: {[k for k, v in drill.statuses.items() if v >= 500]}")
    print(f"wrong or failed computations after a hostile request: {drill.wrong or 'none'}")
    ms = drill.health_ms
    print(
        f"/healthz while hostile requests ran: n={len(ms)} median={statistics.median(ms):.1f} ms "
        f"p95={_quantile(ms, 0.95):.1f} ms max={max(ms):.1f} ms failures={len(drill.health_failures)}"
    )
    print(
        f"web process RSS: idle {idle_rss:.0f} MiB, before {args.big} big requests "
        f"{drill.rss_before_mb:.0f} MiB, after {drill.rss_after_mb:.0f} MiB "
        f"(+{drill.rss_after_mb - drill.rss_before_mb:.0f} MiB)"
    )
    big = drill.big_ms
    print(
        f"big request (10,000 values through 90 sin): median {statistics.median(big):.0f} ms, "
        f"{drill.big_bytes / 1024:.0f} KiB answered"
    )
    print("per request:", json.dumps({k: v for k, v in drill.statuses.items() if ":" not in k}))


if __name__ == "__main__":
    main()
