"""A class of students on one server: latency, errors, cache, memory, over HTTP.

Starts the app as ``uvicorn`` on a free loopback port (or uses ``--url``), then
plays N students, each from a loopback address of their own (``--nat``: all behind
one address, as in a class behind a school's NAT, which the default settings count
as one client). Each
student has its own HTTP client and thinks 0.5-3 s between actions; per
function they open the page, type (two ``/fields`` requests for prefixes of
the function), compute it with their own values (the htmx ``result``
partial), and once each they switch to the annotated view and call
``POST /api/graph``. Then the whole class opens the same embed link at the
same moment. The same burst on ``/healthz`` before it measures what N
simultaneous requests cost this client itself, so the embed burst can be judged
on what it costs beyond that.

``--mode fresh`` is the class that computes rather than browses: each student
sends ``POST /api/graph`` for each of the 4 functions with their own random
values (so nearly every request is new work for a worker), thinking 0.5-2 s
between them; then the same two bursts. Its goal is stricter: no errors, API
p95 and the embed burst beyond healthz under 50 ms.

``--mode fresh-page`` is the same class on the page itself, the heaviest mix a
class makes: per function, each student computes with their own values (the
htmx ``result`` partial, as pressing Compute does) and the page then loads the
derivative panel (``/calculus``: sympy's dy/dx, the plot, evaluated at those
values), where the result asks for it: a function whose panel was quick once comes
with its panel in the result. Its goal: no errors, the result and the derivative
panel p95 under 100 ms, and the embed burst as in fresh.

Reports client-side latency per kind of request (p50/p95/p99/max over 2xx
answers), status counts (429 apart), the cache hit rate from ``/metrics``, the
peak memory of the server and all its processes, and CPU seconds spent by the
server, its workers and this client. Everything goes to 127.0.0.1 only; the
number of requests is bounded by the scenario and the run by ``--max-seconds``.

    .venv/bin/python bench/classroom.py [--mode lesson|fresh|fresh-page] [--students 200]
        [--rounds 3] [--seed 1] [--workers N] [--max-seconds 120] [--json] [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import ipaddress
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
MAX_STUDENTS = 1000
THINK_SECONDS = (0.5, 3.0)
REQUEST_TIMEOUT = 30.0
# Seconds of the run kept back for the two bursts and the last scrape.
BURST_RESERVE = 20.0
KINDS = ("page", "fields", "result", "calculus", "api", "healthz burst", "embed burst")
# The project's goals on one 2-core machine with isolation on: the browsing lesson,
# and the class computing its own values.
GOAL_MS = {"lesson": 250.0, "fresh": 50.0, "fresh-page": 100.0}
# The kinds of request whose p95 each mode's goal is about, and its bound in ms.
GOAL_KINDS = {
    "lesson": {"api": 250.0},
    "fresh": {"api": 50.0},
    # Issue 28: the page class with the teacher's new functions.
    "fresh-page": {"result": 100.0, "calculus": 300.0},
}
FRESH_THINK_SECONDS = (0.5, 2.0)

SEED = "5*x**3 + 2*x**2 + 4*x + 8"
EMBED_EXPR = SEED
EMBED_QUERY = "expr=5*x**3%20%2B%202*x**2%20%2B%204*x%20%2B%208&x=2&readonly=1"


def encode(pairs: list[tuple[str, str]]) -> str:
    """A query string as a browser's htmx sends it: + is %2B, a space %20."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='*,[]')}" for k, v in pairs)


assert encode([("expr", EMBED_EXPR), ("x", "2"), ("readonly", "1")]) == EMBED_QUERY


# --- what the students type ---------------------------------------------------


@dataclass(frozen=True)
class Function:
    """A function from the lesson: its shared values and how a student varies them."""

    expr: str
    values: dict[str, str]
    nograd: tuple[str, ...] = ()

    def personal(self, rng: random.Random) -> dict[str, str]:
        """The values one student types: about a third keep the shared ones."""
        if rng.random() < 1 / 3:
            return dict(self.values)
        return {name: vary(name, value, rng) for name, value in self.values.items()}

    def prefixes(self, rng: random.Random, count: int = 2) -> list[str]:
        """What the field holds while the student types, at growing lengths."""
        cuts = sorted(rng.sample(range(3, len(self.expr)), count))
        return [self.expr[:cut].rstrip() for cut in cuts]

    def link(self) -> list[tuple[str, str]]:
        """The worksheet's link to the function, as the page's example links are written."""
        pairs = [("expr", self.expr), *self.values.items()]
        if self.nograd:
            pairs += [("rg", "1")] + [("grad", n) for n in self.values if n not in self.nograd]
        return pairs

    def form(self, values: dict[str, str], expr: str | None = None) -> list[tuple[str, str]]:
        """The query the playground form sends: expr, the values, grad per box, rg=1."""
        pairs = [("expr", self.expr if expr is None else expr), *values.items()]
        pairs += [("grad", name) for name in values if name not in self.nograd]
        return pairs + [("rg", "1")]

    def inputs(self, values: dict[str, str]) -> dict[str, Any]:
        return {name: json.loads(text) for name, text in values.items()}


def vary(name: str, value: str, rng: random.Random) -> str:
    if value.startswith("["):
        return json.dumps([rng.randint(-3, 6) for _ in json.loads(value)])
    if name == "x":
        return str(rng.randint(-5, 5))  # the lesson's x: a small integer
    return str(rng.choice([0.5, 1, 1.5, 2, 2.5, -1]))


FUNCTIONS = (
    Function(SEED, {"x": "2"}),
    Function("x**2*y + sin(y)", {"x": "3", "y": "0.5"}),
    Function("mean((w*x - t)**2)", {"w": "1.5", "x": "[1, 2, 3]", "t": "[2, 4, 6]"}, ("x", "t")),
    Function("sigmoid(w*x + b)", {"w": "0.5", "x": "2", "b": "-1"}, ("x",)),
)


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def renamed(fn: Function, suffix: str) -> Function:
    """The same function with every variable renamed (``x`` -> ``x<suffix>``): a text and
    names the server has never seen, of the lesson's shapes."""
    names = {name: f"{name}{suffix}" for name in fn.values}
    expr = _IDENTIFIER.sub(lambda m: names.get(m.group(), m.group()), fn.expr)
    return Function(expr, {names[n]: v for n, v in fn.values.items()},
                    tuple(names[n] for n in fn.nograd))


def new_tag() -> str:
    """Letters no request before this one used: the clock in base 36, and a random part."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    n, out = time.time_ns() // 1000, ""
    while n:
        n, d = divmod(n, 36)
        out = digits[d] + out
    return "q" + out[-6:] + "".join(random.choice(digits) for _ in range(3))


def teachers_functions(tag: str) -> tuple[Function, ...]:
    """The four functions a teacher gives that no request sent before: the lesson's,
    with names made new by ``tag`` (a run's own; two servers given one tag get the same
    functions, both new to each)."""
    return tuple(renamed(fn, f"{tag}{k}") for k, fn in enumerate(FUNCTIONS))


# --- measurements -------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    status: str  # "200", "429", ... or "exc:ReadTimeout"
    seconds: float
    at: float  # when it was sent (monotonic)


@dataclass
class Run:
    until: float  # the hard end of the run (monotonic): no request outlives it
    deadline: float  # no request starts after this
    samples: list[Sample] = field(default_factory=list)

    def add(self, kind: str, status: str, seconds: float, at: float) -> None:
        self.samples.append(Sample(kind, status, seconds, at))


class TimeUp(Exception):
    pass


async def timed(
    run: Run, kind: str, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> str:
    """The answer's text ("" when there was none), its time and status kept in ``run``."""
    at = time.monotonic()
    if at > run.deadline:
        raise TimeUp
    timeout = max(0.5, min(REQUEST_TIMEOUT, run.until - at))
    start = time.perf_counter()
    text = ""
    try:
        response = await client.request(method, url, timeout=timeout, **kwargs)
        await response.aread()
        status = str(response.status_code)
        text = response.text
    except httpx.HTTPError as exc:
        status = f"exc:{type(exc).__name__}"
    run.add(kind, status, time.perf_counter() - start, at)
    return text


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(samples: list[Sample]) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    ok: list[float] = []
    for s in samples:
        statuses[s.status] = statuses.get(s.status, 0) + 1
        if s.status.startswith("2"):
            ok.append(s.seconds * 1000)
    ok.sort()
    limited = statuses.get("429", 0)
    return {
        "count": len(samples),
        "ok": len(ok),
        "rate_limited": limited,
        # Every answer that is not 2xx is an error for the student; 429 is counted apart.
        "errors": len(samples) - len(ok) - limited,
        "statuses": dict(sorted(statuses.items())),
        **{f"p{q}_ms": _round(percentile(ok, q / 100)) for q in (50, 95, 99)},
        "max_ms": _round(ok[-1] if ok else None),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- the class ----------------------------------------------------------------


# Whether the whole class comes from one address (127.0.0.1), as behind a school's NAT.
# By default each student has an address of their own: with the default settings one
# address is one client, whose share of the workers (client_units) a class of 200 would
# have to share (docs/deployment.md, "A class behind one address"). --nat sets it.
NAT = False


def student_address(number: int) -> str | None:
    """Student ``number``'s own loopback address (127.1.x.y), or None behind the NAT."""
    return None if NAT else f"127.1.{1 + number // 250}.{1 + number % 250}"


def new_client(base: str, tls: ssl.SSLContext, address: str | None = None) -> httpx.AsyncClient:
    # One small pool per student, as one browser tab; headers as a browser's.
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    return httpx.AsyncClient(
        base_url=base,
        limits=limits,
        verify=tls,  # plain http on loopback; a shared context saves loading certs 200 times
        transport=None if address is None else httpx.AsyncHTTPTransport(
            verify=tls, limits=limits, local_address=address),
        headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8", "User-Agent": "classroom-bench"},
    )


HX = {"HX-Request": "true"}


async def student(
    number: int, base: str, run: Run, seed: int, rounds: int, tls: ssl.SSLContext
) -> bool:
    """One student's lesson; True when they got through it before the deadline."""
    rng = random.Random(f"{seed}:{number}")
    order = rng.sample(FUNCTIONS, len(FUNCTIONS))
    plan = [order[k % len(order)] for k in range(rounds)]
    api_round = rng.randrange(rounds)

    async def think() -> None:
        await asyncio.sleep(rng.uniform(*THINK_SECONDS))

    async with new_client(base, tls, student_address(number)) as client:
        try:
            await asyncio.sleep(rng.uniform(0, THINK_SECONDS[1]))  # students arrive
            for round_ in range(rounds):
                fn = plan[round_]
                await timed(run, "page", client, "GET", "/?" + encode(fn.link()))
                values = fn.personal(rng)
                for prefix in fn.prefixes(rng):
                    await think()
                    query = encode(fn.form(values, prefix))
                    headers = {**HX, "HX-Target": "fields"}
                    await timed(run, "fields", client, "GET", "/fields?" + query, headers=headers)
                await think()
                headers = {**HX, "HX-Target": "result"}
                await timed(run, "result", client, "GET", "/?" + encode(fn.form(values)),
                            headers=headers)
                if round_ == 0:
                    await think()
                    query = encode(fn.form(values) + [("view", "annotated")])
                    await timed(run, "result", client, "GET", "/?" + query, headers=headers)
                if round_ == api_round:
                    await think()
                    body = {
                        "expression": fn.expr,
                        "inputs": fn.inputs(values),
                        "requires_grad": {n: n not in fn.nograd for n in values},
                    }
                    await timed(run, "api", client, "POST", "/api/graph", json=body)
                await think()
        except TimeUp:
            return False
    return True


def fresh_values(fn: Function, rng: random.Random) -> dict[str, Any]:
    """Values no other student typed: random to three decimals, vectors too."""
    def one() -> float:
        return round(rng.uniform(-4, 4), 3)

    out: dict[str, Any] = {}
    for name, value in fn.values.items():
        out[name] = [one() for _ in json.loads(value)] if value.startswith("[") else one()
    return out


async def _computing_student(
    mode: str, number: int, base: str, run: Run, seed: int, rounds: int, tls: ssl.SSLContext,
    compute: Callable[[httpx.AsyncClient, Function, random.Random], Awaitable[None]],
    functions: tuple[Function, ...] = FUNCTIONS,
) -> bool:
    """One student computing each function with values of their own, thinking between."""
    rng = random.Random(f"{mode}:{seed}:{number}")
    order = rng.sample(functions, len(functions))
    async with new_client(base, tls, student_address(number)) as client:
        try:
            await asyncio.sleep(rng.uniform(0, FRESH_THINK_SECONDS[1]))  # students arrive
            for round_ in range(rounds):
                await compute(client, order[round_ % len(order)], rng)
                await asyncio.sleep(rng.uniform(*FRESH_THINK_SECONDS))
        except TimeUp:
            return False
    return True


async def fresh_page_student(
    number: int, base: str, run: Run, seed: int, rounds: int, tls: ssl.SSLContext,
    functions: tuple[Function, ...] = FUNCTIONS,
) -> bool:
    """On the page: the result partial, then the derivative panel if the result asks the
    browser to load it (a function whose panel was quick comes with it). ``functions``:
    the teacher's, new to the server (teachers_functions)."""

    async def compute(client: httpx.AsyncClient, fn: Function, rng: random.Random) -> None:
        values = {name: json.dumps(v) for name, v in fresh_values(fn, rng).items()}
        query = encode(fn.form(values))
        result = await timed(run, "result", client, "GET", "/?" + query,
                             headers={**HX, "HX-Target": "result"})
        if 'hx-get="/calculus?' in result:
            await timed(run, "calculus", client, "GET", "/calculus?" + query,
                        headers={**HX, "HX-Target": "calculus"})

    return await _computing_student("fresh-page", number, base, run, seed, rounds, tls, compute,
                                    functions)


async def fresh_student(
    number: int, base: str, run: Run, seed: int, rounds: int, tls: ssl.SSLContext
) -> bool:
    """Through the API."""

    async def compute(client: httpx.AsyncClient, fn: Function, rng: random.Random) -> None:
        body = {
            "expression": fn.expr,
            "inputs": fresh_values(fn, rng),
            "requires_grad": {n: n not in fn.nograd for n in fn.values},
        }
        await timed(run, "api", client, "POST", "/api/graph", json=body)

    return await _computing_student("fresh", number, base, run, seed, rounds, tls, compute)


async def burst(kind: str, url: str, base: str, run: Run, n: int, tls: ssl.SSLContext) -> None:
    """N students open ``url`` at the same moment, each from a new client (a new tab)."""
    clients = [new_client(base, tls, student_address(k)) for k in range(n)]
    go = asyncio.Event()

    async def one(client: httpx.AsyncClient) -> None:
        await go.wait()
        try:
            await timed(run, kind, client, "GET", url)
        except TimeUp:
            pass

    tasks = [asyncio.create_task(one(c)) for c in clients]
    await asyncio.sleep(0.05)  # every task is waiting at the gate
    go.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(c.aclose() for c in clients))


# --- the server, its metrics and its processes --------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_only(url: str) -> str:
    host = urlsplit(url).hostname or ""
    try:
        loop = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loop = False
    if not loop:
        raise SystemExit(f"--url must point at this machine (127.0.0.1, localhost, ::1): {url}")
    return url.rstrip("/")


def start_server(
    port: int, workers: int | None, extra_env: list[str], log: Path,
    app: str = "autograd_playground.web.main:create_app",
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAYGROUND_")}
    if workers is not None:
        env["PLAYGROUND_WORKERS"] = str(workers)
    for item in extra_env:
        name, _, value = item.partition("=")
        env[name] = value
    uvicorn = ROOT / ".venv" / "bin" / "uvicorn"
    command = [
        str(uvicorn) if uvicorn.exists() else shutil.which("uvicorn") or "uvicorn",
        app, "--factory", "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--no-proxy-headers",
    ]
    with open(log, "wb") as out:
        # A session of its own: Ctrl-C in the terminal reaches us, and we stop it.
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # uvicorn shuts down the worker pool on its way out
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own group: the server and its workers
        proc.wait(timeout=5)


async def wait_healthy(base: str, proc: subprocess.Popen | None, until: float) -> float:
    start = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as client:
        while time.monotonic() < until:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode} while starting")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz in time")


METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for line in text.splitlines():
        match = METRIC_LINE.match(line)
        if not match or line.startswith("#"):
            continue
        name, labels, value = match.groups()
        pairs = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', labels or "")))
        out[(name, pairs)] = float(value)
    return out


async def scrape(client: httpx.AsyncClient) -> dict | None:
    try:
        response = await client.get("/metrics")
    except httpx.HTTPError:
        return None
    return parse_metrics(response.text) if response.status_code == 200 else None


def metric(m: dict, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in m.items() if n == name and want <= set(ls))


async def watch_queue(client: httpx.AsyncClient, stop: asyncio.Event, peak: list[float]) -> None:
    while not stop.is_set():
        m = await scrape(client)
        if m is not None:
            peak[0] = max(peak[0], metric(m, "playground_queue_depth"))
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            pass


async def watch_lag(stop: asyncio.Event, lags: list[float], tick: float = 0.05) -> None:
    """How late this client's own event loop wakes up: time it adds to every latency."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(tick)
        lags.append(max(0.0, loop.time() - start - tick) * 1000)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The process and all its descendants, from /proc/<pid>/task/*/children."""
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def proc_sample(pid: int) -> tuple[int, int, str, float] | None:
    """(RSS KiB, PSS KiB, command name, CPU seconds incl. reaped children) of one process.

    RSS counts the pages a forked worker shares with the fork server (torch) in
    each process again; PSS splits shared pages between their users, so its
    sum is what the processes take together.
    """
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        with open(f"/proc/{pid}/smaps_rollup") as f:
            rollup = f.read()
    except OSError:
        return None
    rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    pss = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = sum(int(x) for x in fields[11:15]) / CLOCK_TICKS  # utime stime cutime cstime
    return (int(rss.group(1)) if rss else 0), (int(pss.group(1)) if pss else 0), name, cpu


class Sampler(threading.Thread):
    """Every 0.2 s: the RSS sum of the server and its descendants; CPU per process."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.halt = threading.Event()
        self.peak_kib = 0
        self.peak_pss_kib = 0
        self.peak_processes = 0
        self.first_cpu: dict[int, float] = {}
        self.last_cpu: dict[int, float] = {}
        self.samples = 0

    def sample(self) -> None:
        total, shared, count = 0, 0, 0
        for p in descendants(self.pid):
            got = proc_sample(p)
            if got is None:
                continue
            rss, pss, name, cpu = got
            total, shared, count = total + rss, shared + pss, count + 1
            if name == "dot":
                continue  # its CPU reaches its parent's cutime when it is reaped
            # What ran before the first sample is not the run's; a process born later starts at 0.
            self.first_cpu.setdefault(p, cpu if self.samples == 0 else 0.0)
            self.last_cpu[p] = cpu
        self.samples += 1
        self.peak_pss_kib = max(self.peak_pss_kib, shared)
        if total > self.peak_kib:
            self.peak_kib, self.peak_processes = total, count

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(self.interval)

    def cpu_seconds(self) -> dict[str, float]:
        used = {p: self.last_cpu[p] - self.first_cpu[p] for p in self.last_cpu}
        server = used.pop(self.pid, 0.0)
        return {"server": round(server, 1), "workers": round(sum(used.values()), 1)}


# --- the run --------------------------------------------------------------------


async def lesson(args: argparse.Namespace, base: str, started: float, pid: int | None) -> dict:
    until = started + args.max_seconds
    tls = ssl.create_default_context()
    run = Run(until=until, deadline=until - BURST_RESERVE)
    sampler = Sampler(pid) if pid else None
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as admin:
        before = await scrape(admin)
        if sampler:
            sampler.sample()
            sampler.start()
        stop, queue_peak = asyncio.Event(), [0.0]
        watcher = asyncio.create_task(watch_queue(admin, stop, queue_peak))
        lags: list[float] = []
        lagger = asyncio.create_task(watch_lag(stop, lags))
        load_start = os.getloadavg()
        cpu_start, t0 = time.process_time(), time.monotonic()

        play = {"fresh": fresh_student, "fresh-page": functools.partial(
            fresh_page_student, functions=teachers_functions(args.tag))}.get(args.mode, student)
        finished = await asyncio.gather(
            *(play(i, base, run, args.seed, args.rounds, tls) for i in range(args.students))
        )
        students_seconds = time.monotonic() - t0

        run.deadline = until - 2
        await asyncio.sleep(2.0)  # the class settles before the teacher's link
        await burst("healthz burst", "/healthz", base, run, args.students, tls)
        await asyncio.sleep(1.0)
        await burst("embed burst", "/embed?" + EMBED_QUERY, base, run, args.students, tls)

        client_cpu = time.process_time() - cpu_start
        stop.set()
        await asyncio.gather(watcher, lagger)
        after = await scrape(admin)
        if sampler:
            sampler.halt.set()
            sampler.join()
    return report(args, run, finished, students_seconds, before, after, sampler, queue_peak[0],
                  client_cpu, load_start, sorted(lags))


def report(args, run, finished, students_seconds, before, after, sampler, queue_peak,
           client_cpu, load_start, lags) -> dict:
    kinds = {k: summarize([s for s in run.samples if s.kind == k]) for k in KINDS}
    goal_ms = GOAL_MS[args.mode]
    result: dict[str, Any] = {
        "mode": args.mode,
        "tag": args.tag,
        "goal_ms": goal_ms,
        "students": args.students,
        "rounds": args.rounds,
        "seed": args.seed,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "students_finished": sum(finished),
        "students_seconds": round(students_seconds, 1),
        "requests": len(run.samples),
        "kinds": kinds,
        "client_loop_lag_ms": {"p95": _round(percentile(lags, 0.95)),
                               "max": _round(lags[-1] if lags else None)},
    }
    embed, health = kinds["embed burst"]["p95_ms"], kinds["healthz burst"]["p95_ms"]
    beyond = None if embed is None or health is None else round(embed - health, 1)
    result["burst_beyond_healthz_p95_ms"] = beyond
    if before is not None and after is not None:
        delta = {r: metric(after, "playground_cache_total", result=r)
                 - metric(before, "playground_cache_total", result=r)
                 for r in ("hit", "shared", "miss")}
        lookups = sum(delta.values())
        result["cache"] = {
            **{r: int(v) for r, v in delta.items()},
            "hit_rate": round((delta["hit"] + delta["shared"]) / lookups, 3) if lookups else None,
        }
        result["worker_restarts"] = int(metric(after, "playground_worker_restarts_total")
                                        - metric(before, "playground_worker_restarts_total"))
        result["queue_depth_peak_sampled"] = int(queue_peak)
        server = {}
        for route in ("/", "/fields", "/api/graph", "/embed", "/healthz"):
            n = (metric(after, "playground_request_seconds_count", route=route)
                 - metric(before, "playground_request_seconds_count", route=route))
            total = (metric(after, "playground_request_seconds_sum", route=route)
                     - metric(before, "playground_request_seconds_sum", route=route))
            if n:
                server[route] = {"count": int(n), "mean_ms": round(total / n * 1000, 1)}
        result["server_time"] = server
    if sampler is not None:
        result["peak_rss_mib"] = round(sampler.peak_kib / 1024, 1)
        result["peak_rss_processes"] = sampler.peak_processes
        result["peak_pss_mib"] = round(sampler.peak_pss_kib / 1024, 1)
        result["memory_samples"] = sampler.samples
        result["cpu_seconds"] = {**sampler.cpu_seconds(), "client": round(client_cpu, 1)}
    else:
        result["cpu_seconds"] = {"client": round(client_cpu, 1)}
    failures = []
    bad = sum(k["errors"] + k["rate_limited"] for k in kinds.values())
    if bad:
        failures.append(f"{bad} answers were not 2xx")
    for kind, bound in GOAL_KINDS[args.mode].items():
        p95 = kinds[kind]["p95_ms"]
        # A panel the results always carried was never loaded apart: nothing to miss.
        if kinds[kind]["count"] and (p95 is None or p95 > bound):
            failures.append(f"{kind} p95 {p95} ms is over {bound:g} ms")
    if beyond is None or beyond >= goal_ms:
        failures.append(
            f"embed burst p95 beyond healthz burst {beyond} ms is not under {goal_ms:g} ms"
        )
    if sum(finished) < args.students:
        failures.append(f"only {sum(finished)} of {args.students} students finished in time")
    result["goal_met"] = not failures
    result["goal_failures"] = failures
    result["_samples"] = run.samples
    return result


def print_table(r: dict) -> None:
    def ms(v):
        return "-" if v is None else f"{v:.0f}"

    print(f"classroom ({r['mode']}): {r['students']} students x {r['rounds']} functions, "
          f"seed {r['seed']}, "
          f"workers {r['workers'] if r['workers'] is not None else 'default'}, {r['cpus']} CPUs; "
          f"load average {r['load_average_start'][0]:.2f} at start, "
          f"{r['load_average_end'][0]:.2f} at end")
    print(f"students finished: {r['students_finished']}/{r['students']} in "
          f"{r['students_seconds']} s; {r['requests']} requests")
    print(f"{'kind':<14}{'count':>6}{'2xx':>6}{'429':>6}{'err':>5}"
          f"{'p50':>7}{'p95':>7}{'p99':>7}{'max':>7}   ms over 2xx answers")
    for kind, k in r["kinds"].items():
        print(f"{kind:<14}{k['count']:>6}{k['ok']:>6}{k['rate_limited']:>6}{k['errors']:>5}"
              f"{ms(k['p50_ms']):>7}{ms(k['p95_ms']):>7}{ms(k['p99_ms']):>7}{ms(k['max_ms']):>7}")
    print("statuses: " + "; ".join(
        f"{kind} " + " ".join(f"{s}:{n}" for s, n in k["statuses"].items())
        for kind, k in r["kinds"].items() if k["count"]))
    b = r["burst_beyond_healthz_p95_ms"]
    print(f"burst p95: embed {ms(r['kinds']['embed burst']['p95_ms'])} ms, healthz "
          f"{ms(r['kinds']['healthz burst']['p95_ms'])} ms, beyond healthz {ms(b)} ms")
    if "cache" in r:
        c = r["cache"]
        rate = "-" if c["hit_rate"] is None else f"{c['hit_rate']:.1%}"
        print(f"cache: hit rate {rate} (hit {c['hit']}, shared {c['shared']}, miss {c['miss']}); "
              f"queue depth peak (sampled 1/s) {r['queue_depth_peak_sampled']}; "
              f"worker restarts {r['worker_restarts']}")
        print("server time, mean ms: " + ", ".join(
            f"{route} {s['mean_ms']} (n={s['count']})" for route, s in r["server_time"].items()))
    cpu = r["cpu_seconds"]
    mem = (f"peak memory {r['peak_rss_mib']:.0f} MiB RSS summed over "
           f"{r['peak_rss_processes']} processes (PSS {r['peak_pss_mib']:.0f} MiB); "
           if "peak_rss_mib" in r else "")
    print(mem + "CPU s: " + ", ".join(f"{k} {v}" for k, v in cpu.items())
          + f"; client loop lag p95 {ms(r['client_loop_lag_ms']['p95'])} ms, "
          f"max {ms(r['client_loop_lag_ms']['max'])} ms")
    verdict = "met" if r["goal_met"] else "NOT met: " + "; ".join(r["goal_failures"])
    bounds = ", ".join(f"{k} p95 ≤ {b:g} ms" for k, b in GOAL_KINDS[r["mode"]].items())
    print(f"goal (no errors, {bounds}, embed burst beyond healthz under {r['goal_ms']:g} ms): "
          f"{verdict}")


def interrupted(signum: int, frame: Any) -> None:
    """A SIGTERM ends the run as Ctrl-C does: through main's finally, which stops the server."""
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("lesson", "fresh", "fresh-page"), default="lesson",
                        help="lesson: pages, fields and results as students browse; fresh: "
                        "every student computes each function with their own values; "
                        "fresh-page: the same on the page, with the derivative panel")
    parser.add_argument("--students", type=int, default=200, help=f"1 to {MAX_STUDENTS}")
    parser.add_argument("--rounds", type=int, default=None,
                        help="functions each student works through (3 in a lesson, 4 fresh)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nat", action="store_true",
                        help="the whole class from one address (127.0.0.1); by default each "
                        "student has their own (127.1.x.y)")
    parser.add_argument("--tag", default=None,
                        help="fresh-page: makes the teacher's functions' names new (x -> "
                        "x<tag>0); default: one of this run's own, never sent before")
    parser.add_argument("--workers", type=int, default=None,
                        help="PLAYGROUND_WORKERS for the server; default: the app's (one per CPU)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="cap on the whole run")
    parser.add_argument("--url",
                        help="use this running server (loopback only) instead of starting one")
    parser.add_argument("--pid", type=int,
                        help="with --url: the server's pid, to sample its memory")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the started server (repeatable)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--server-log", type=Path, metavar="FILE",
                        help="keep the started server's output (one JSON line per request) here")
    parser.add_argument("--samples", type=Path, metavar="CSV",
                        help="write every request (seconds from start, kind, status, ms) here")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 3 if args.mode == "lesson" else 4
    global NAT
    NAT = args.nat
    if args.tag is None:
        args.tag = new_tag()
    if not re.fullmatch(r"[a-z0-9]{1,12}", args.tag):
        parser.error("--tag: 1 to 12 lowercase letters or digits")
    if not 1 <= args.students <= MAX_STUDENTS:
        parser.error(f"--students must be between 1 and {MAX_STUDENTS}")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    if not 30 <= args.max_seconds <= 900:
        parser.error("--max-seconds must be between 30 and 900")

    started = time.monotonic()
    signal.signal(signal.SIGTERM, interrupted)
    proc, log = None, None
    try:
        if args.url:
            base, pid = loopback_only(args.url), args.pid
        else:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            log = args.server_log or Path(
                tempfile.mkstemp(prefix="classroom-server-", suffix=".log")[1]
            )
            proc = start_server(port, args.workers, args.server_env, log)
            pid = proc.pid
        up = asyncio.run(wait_healthy(base, proc, min(started + 90, started + args.max_seconds)))
        print(f"server at {base} answered /healthz after {up:.1f} s", file=sys.stderr)
        result = asyncio.run(
            # A backstop only: every request already ends by the cap.
            asyncio.wait_for(lesson(args, base, started, pid),
                             started + args.max_seconds + 10 - time.monotonic())
        )
    except (TimeoutError, RuntimeError) as exc:
        print(f"classroom: {exc or 'the run hit --max-seconds'}", file=sys.stderr)
        if log is not None:
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("classroom: interrupted", file=sys.stderr)
        return 130
    finally:
        if proc is not None:
            stop_server(proc)
        if log is not None and log.exists() and not args.server_log:
            log.unlink()
    if args.samples:
        with open(args.samples, "w") as out:
            out.write("at_s,kind,status,ms\n")
            for s in result.pop("_samples"):
                out.write(f"{s.at - started:.3f},{s.kind},{s.status},{s.seconds * 1000:.1f}\n")
    else:
        result.pop("_samples")
    print_table(result)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
