"""POST /api/graph on a real server against the bare torchviz baseline, in one run.

The baseline is what the lesson does by hand, in this process: build y with
PyTorch and call ``torchviz.make_dot(y).pipe(format="svg")``. Ours is the whole
request through a real ``uvicorn`` server on 127.0.0.1 with the app's defaults
(worker pool, caches, middleware): parse, trace with hooks, backward, make_dot,
layout, sanitize, JSON, gzip, HTTP. Runs are interleaved so that machine noise
hits both alike, and every figure is a ratio against a baseline measured in the
same run. Then, on the same server: 200 different new computations at the same
moment, and the fresh-work classes of bench/classroom.py: through the API, and on
the page (each result, then the derivative panel the page loads after it).

    .venv/bin/python bench/api_vs_torchviz.py [--runs 30] [--students 200] [--no-class]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import torch
import torchviz

warnings.filterwarnings("ignore", category=DeprecationWarning)
sys.path.insert(0, str(Path(__file__).resolve().parent))

import classroom
import pool_round_trip
import soak

SEED = "5*x**3 + 2*x**2 + 4*x + 8"
BARE_ROUTE = "bare route (/healthz), for scale"
FLOOR_TRIP = "a worker's round trip, no work"
POLY_TERMS = 20
NEURON = "sigmoid(sum(w*x) + b)"
NEURON_VALUES = {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 3.0], "b": 0.1}
# Issue 28's two-layer MLP program, with values: W1 4x3, x 3, b1 4, W2 2x4, b2 2, t 2.
MLP = "h = tanh(W1 @ x + b1)\nout = W2 @ h + b2\nloss = mse(out, t)"
MLP_VALUES = {
    "W1": [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [-0.7, 0.8, 0.9], [0.2, 0.1, -0.1]],
    "x": [1.0, 2.0, -1.0], "b1": [0.1, 0.2, 0.3, 0.4],
    "W2": [[0.5, -0.5, 0.25, 0.1], [-0.3, 0.2, 0.6, -0.4]], "b2": [0.05, -0.05],
    "t": [1.0, 0.0],
}


def poly(name: str) -> str:
    return " + ".join(f"{POLY_TERMS + 1 - k}*{name}**{k}" for k in range(POLY_TERMS, 0, -1))


def seed_by_hand() -> torch.Tensor:
    x = torch.tensor(2.0, requires_grad=True)
    return 5 * x**3 + 2 * x**2 + 4 * x + 8


def poly_by_hand() -> torch.Tensor:
    x = torch.tensor(0.5, requires_grad=True)
    y = None
    for k in range(POLY_TERMS, 0, -1):
        term = (POLY_TERMS + 1 - k) * x**k
        y = term if y is None else y + term
    return y


def neuron_by_hand() -> torch.Tensor:
    w = torch.tensor(NEURON_VALUES["w"], requires_grad=True)
    x = torch.tensor(NEURON_VALUES["x"], requires_grad=True)
    b = torch.tensor(NEURON_VALUES["b"], requires_grad=True)
    return torch.sigmoid(torch.sum(w * x) + b)


def mlp_by_hand() -> torch.Tensor:
    v = {n: torch.tensor(x, requires_grad=n != "t") for n, x in MLP_VALUES.items()}
    h = torch.tanh(v["W1"] @ v["x"] + v["b1"])
    out = v["W2"] @ h + v["b2"]
    return torch.nn.functional.mse_loss(out, v["t"])


def mlp_text(k: int) -> tuple[str, dict, dict]:
    """The MLP with every name made new by ``k``: a text never sent before, its values,
    and requires_grad for each (off for the target t, as in the lesson)."""
    names = {n: f"{n}n{k}" for n in (*MLP_VALUES, "h", "out", "loss")}
    text = classroom._IDENTIFIER.sub(lambda m: names.get(m.group(), m.group()), MLP)
    return (text, {names[n]: v for n, v in MLP_VALUES.items()},
            {names[n]: n != "t" for n in MLP_VALUES})


def ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


# --- the server ---------------------------------------------------------------


def start(log: Path, workers: int | None) -> tuple[subprocess.Popen, str, float, float]:
    """A server with the defaults; seconds until /healthz and until the first answer."""
    port = classroom.free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    proc = classroom.start_server(port, workers, [], log)
    healthy = first = None
    body = {"expression": "3*x + 1", "inputs": {"x": 1}}  # not a warmed example
    with httpx.Client(base_url=base, timeout=5.0) as client:
        while time.monotonic() - started < 120:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited while starting:\n{log.read_text()[-3000:]}")
            try:
                if healthy is None and client.get("/healthz").status_code == 200:
                    healthy = time.monotonic() - started
                if client.post("/api/graph", json=body).status_code == 200:
                    first = time.monotonic() - started
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    if first is None:
        raise SystemExit("the server did not answer in 120 s")
    return proc, base, healthy or first, first


def memory(pid: int) -> list[tuple[str, int, float, float]]:
    """(role, pid, RSS MiB, PSS MiB) for the server and each of its processes.

    The workers are the fork server's children; RSS counts the torch pages they
    share with it again in each, PSS splits them between their users.
    """
    rows = []
    fork_server = None
    for p in classroom.descendants(pid):
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            parent = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        got = classroom.proc_sample(p)
        if got is None:
            continue
        rss, pss, _, _ = got
        if p == pid:
            role = "web server"
        elif parent == pid and "forkserver" in cmd:
            role, fork_server = "fork server", p
        elif parent == fork_server:
            role = "worker"
        elif "resource_tracker" in cmd:
            role = "resource tracker"
        else:
            role = "other"
        rows.append((role, p, rss / 1024, pss / 1024))
    return rows


# --- single requests ----------------------------------------------------------


def single(base: str, runs: int) -> list[tuple[str, float, float, float]]:
    """(case, baseline ms, ours ms, ours back to back ms): medians.

    Ours is measured interleaved with the baseline, so each request finds the
    server idle, as a lone student's does. Back to back, the same requests
    follow each other with nothing between: the server's own cost, without the
    wake-up of idle processes that a pause costs on this machine."""
    counter = iter(range(10**6))
    rng = random.Random(7)

    def fresh_name() -> str:  # a variable never used: a new graph, new picture, new key
        return f"v{next(counter)}"

    def seed_new() -> dict:
        return {"expression": SEED.replace("x", (n := fresh_name())), "inputs": {n: 2}}

    def seed_value() -> dict:
        return {"expression": SEED, "inputs": {"x": round(rng.uniform(-9, 9), 6)}}

    def poly_new() -> dict:
        return {"expression": poly(n := fresh_name()), "inputs": {n: 0.5}}

    def neuron_new() -> dict:
        k = next(counter)
        text = NEURON.replace("w", f"w{k}").replace("x", f"x{k}").replace("b", f"b{k}")
        return {"expression": text, "inputs": {f"{n}{k}": v for n, v in NEURON_VALUES.items()}}

    def mlp_new() -> dict:
        text, values, grads = mlp_text(next(counter))
        return {"expression": text, "inputs": values, "requires_grad": grads}

    def seed_hit() -> dict:
        return {"expression": SEED, "inputs": {"x": 2}}

    # The parts asked for on top (they are fetched after the page's first answer).
    def seed_new_symbolic() -> dict:  # sympy's diff and simplify from scratch, and the plot
        return {**seed_new(), "symbolic": True}

    def seed_value_symbolic() -> dict:  # the formula is kept per function: a new value only
        return {**seed_value(), "symbolic": True}

    def seed_new_second() -> dict:
        return {**seed_new(), "order": 2}

    cases = [
        ("seed, never seen", seed_new, seed_by_hand),
        ("seed, new value", seed_value, seed_by_hand),
        (f"{POLY_TERMS}-term polynomial, never seen", poly_new, poly_by_hand),
        ("neuron on vectors, never seen", neuron_new, neuron_by_hand),
        ("two-layer MLP program, never seen", mlp_new, mlp_by_hand),
        ("seed, cache hit", seed_hit, seed_by_hand),
        ('seed, never seen, "symbolic": true', seed_new_symbolic, seed_by_hand),
        ('seed, new value, "symbolic": true', seed_value_symbolic, seed_by_hand),
        ('seed, never seen, "order": 2', seed_new_second, seed_by_hand),
    ]
    out = []
    # The standard library's keep-alive client, so that the figures are the server's
    # and the connection's, not a heavy client's (httpx adds about 2 ms a request).
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10.0)
    headers = {"Content-Type": "application/json", "Accept-Encoding": "gzip"}

    def send(method: str, path: str, payload: bytes | None = None) -> None:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status}")

    def api(payload: bytes) -> None:
        send("POST", "/api/graph", payload)

    try:
        for name, body_of, by_hand in cases:
            for _ in range(3):  # warm up: both workers, the first backward, the connection
                api(json.dumps(body_of()).encode())
                torchviz.make_dot(by_hand()).pipe(format="svg")
            base_ms, ours_ms, busy_ms = [], [], []
            for _ in range(runs):
                base_ms.append(ms(lambda by_hand=by_hand: torchviz.make_dot(by_hand()).pipe(format="svg")))
                payload = json.dumps(body_of()).encode()
                ours_ms.append(ms(lambda payload=payload: api(payload)))
            for payload in [json.dumps(body_of()).encode() for _ in range(runs)]:
                busy_ms.append(ms(lambda payload=payload: api(payload)))
            out.append((name, statistics.median(base_ms), statistics.median(ours_ms),
                        statistics.median(busy_ms)))
        # The floor: a route that does nothing, through the same connection.
        base_ms, ours_ms, busy_ms = [], [], []
        for _ in range(runs):
            base_ms.append(ms(lambda: torchviz.make_dot(seed_by_hand()).pipe(format="svg")))
            ours_ms.append(ms(lambda: send("GET", "/healthz")))
        for _ in range(runs):
            busy_ms.append(ms(lambda: send("GET", "/healthz")))
        out.append((BARE_ROUTE, statistics.median(base_ms),
                    statistics.median(ours_ms), statistics.median(busy_ms)))
    finally:
        connection.close()
    return out


def pool_floor(runs: int) -> tuple[float, float, float]:
    """(baseline ms, ours ms, back to back ms), medians, for a task that adds two numbers
    through a pool like the server's (two workers from the engine's fork server), in this
    process, interleaved with the lesson's baseline as the requests are: what any
    computation in a worker pays before its own work, with nothing computed."""
    from autograd_playground.serve.pool import WorkerPool
    from autograd_playground.serve.worker import fork_context

    pool = WorkerPool(2, 0, int, (), fork_context())
    pool.start()

    async def trips() -> tuple[float, float, float]:
        for _ in range(20):  # the workers are up and warm
            await pool.run(pool_round_trip.PAYLOAD, 5.0)
        base_ms, ours_ms, busy_ms = [], [], []
        for _ in range(runs):
            base_ms.append(ms(lambda: torchviz.make_dot(seed_by_hand()).pipe(format="svg")))
            start = time.perf_counter()
            await pool.run(pool_round_trip.PAYLOAD, 5.0)
            ours_ms.append((time.perf_counter() - start) * 1000)
        for _ in range(runs):
            start = time.perf_counter()
            await pool.run(pool_round_trip.PAYLOAD, 5.0)
            busy_ms.append((time.perf_counter() - start) * 1000)
        return statistics.median(base_ms), statistics.median(ours_ms), statistics.median(busy_ms)

    try:
        return asyncio.run(trips())
    finally:
        pool.stop()
        pool.join()


# --- 200 new computations at once -----------------------------------------------


async def burst(base: str, n: int) -> dict:
    """N students press Compute at the same moment, each with their own new values."""
    rng = random.Random(11)
    tls = ssl.create_default_context()
    clients = [classroom.new_client(base, tls, classroom.student_address(k)) for k in range(n)]
    go = asyncio.Event()
    answers: list[tuple[int | str, float]] = []

    async def one(k: int, client: httpx.AsyncClient) -> None:
        fn = classroom.FUNCTIONS[k % len(classroom.FUNCTIONS)]
        body = {"expression": fn.expr, "inputs": classroom.fresh_values(fn, rng),
                "requires_grad": {v: v not in fn.nograd for v in fn.values}}
        await go.wait()
        start = time.perf_counter()
        try:
            response = await client.post("/api/graph", json=body, timeout=30.0)
            status: int | str = response.status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        answers.append((status, (time.perf_counter() - start) * 1000))

    tasks = [asyncio.create_task(one(k, c)) for k, c in enumerate(clients)]
    # Open every connection first, so the burst measures the server, not TCP set-up.
    await asyncio.gather(*(c.get("/healthz") for c in clients))
    await asyncio.sleep(0.05)
    go.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(c.aclose() for c in clients))
    times = sorted(t for s, t in answers if s == 200)
    statuses: dict[str, int] = {}
    for s, _ in answers:
        statuses[str(s)] = statuses.get(str(s), 0) + 1
    return {
        "ok": len(times), "n": n, "statuses": statuses,
        "p50": statistics.median(times) if times else None,
        "last": times[-1] if times else None,
    }


def fresh_class(base: str, pid: int, students: int, mode: str = "fresh") -> dict | None:
    command = [sys.executable, str(Path(__file__).with_name("classroom.py")), "--mode", mode,
               "--students", str(students), "--url", base, "--pid", str(pid), "--json",
               "--max-seconds", "90"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=200)
    text = done.stdout
    cut = text.find("\n{")
    table = text if cut < 0 else text[:cut]
    print(table.rstrip())
    if done.returncode != 0 or cut < 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(text[cut + 1 :])


# --- the run --------------------------------------------------------------------


class Goals:
    """Issue 28's goals, each with the figure of this run: printed as one table at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, bool | None]] = []

    def add(self, goal: str, figure: str, bound: str, met: bool | None) -> None:
        self.rows.append((goal, figure, bound, met))

    def ratio(self, goal: str, rows: dict, case: str, bound: float) -> None:
        if case not in rows:
            self.add(goal, "not measured", f"≤ {bound:g}×", None)
            return
        b, a, _ = rows[case]
        self.add(goal, f"{a / b:.2f}× ({a:.1f} of {b:.1f} ms)", f"≤ {bound:g}×", a / b <= bound)

    def print(self) -> None:
        print(f"\n{'goal (issue 28)':<46}{'figure':<52}{'goal':<26}met")
        for goal, figure, bound, met in self.rows:
            verdict = "-" if met is None else "yes" if met else "NO"
            print(f"{goal:<46}{figure:<52}{bound:<26}{verdict}")


def page_goals(goals: Goals, page: dict | None, students: int) -> None:
    if page is None:
        goals.add("page class with new functions", "did not run", "", False)
        return
    kinds = page["kinds"]
    errors = sum(k["errors"] + k["rate_limited"] for k in kinds.values())
    result, panel = kinds["result"], kinds["calculus"]
    goals.add("page class, new functions: result p95", f"{result['p95_ms']} ms "
              f"({result['ok']}/{result['count']} answered, {students} students)", "≤ 100 ms",
              result["p95_ms"] is not None and result["p95_ms"] <= 100)
    goals.add("page class, new functions: panel p95",
              f"{panel['p95_ms']} ms (loaded apart {panel['count']} times)", "≤ 300 ms",
              panel["count"] == 0 or (panel["p95_ms"] is not None and panel["p95_ms"] <= 300))
    goals.add("page class, new functions: errors", str(errors), "0", errors == 0)


def soak_goals(goals: Goals, cmp: dict) -> None:
    s = soak.summary(cmp)
    mem = cmp["memory"]
    for key, name in (("burst_last_ms", "burst of 200, last answer"),
                      ("result_p95_ms", "page class, result p95"),
                      ("panel_p95_ms", "page class, panel p95")):
        a, b, r = s["fresh"][key], s["soaked"][key], s["ratios"][key]
        figure = "-" if r is None else f"{r:.2f}× ({b:.0f} soaked, {a:.0f} fresh ms)"
        goals.add(f"all day: {name}", figure, "soaked ≤ 1.2× fresh", None if r is None else r <= 1.2)
    for key, name in (("web_cpu_ms", "web process"), ("workers_cpu_ms", "workers")):
        a, b, r = s["fresh"][key], s["soaked"][key], s["ratios"][key]
        figure = "-" if r is None else f"{r:.2f}× ({b:.2f} soaked, {a:.2f} fresh)"
        goals.add(f"all day: CPU ms per request, {name}", figure, "reported", None)
    errors = s["fresh"]["errors"] + s["soaked"]["errors"]
    goals.add("all day: page class errors, both servers", str(errors), "0", errors == 0)
    grown = max(mem["after_soak"][0], mem["after_all"][0])
    goals.add("all day: web process RSS after soak",
              f"{grown:.0f} MiB (warm {mem['warm'][0]:.0f}, PSS {mem['after_all'][1]:.0f})",
              f"≤ {mem['bound_mib']:.0f} MiB (warm+{soak.CACHE_BOUNDS_MIB}+{soak.SLACK_MIB})",
              grown <= mem["bound_mib"])
    goals.add("all day: soaked replica's PSS, all processes",
              f"{max(mem['replica_pss']):.0f} MiB", "< 600 MiB", max(mem["replica_pss"]) < 600)
    goals.add("all day: soak, server errors", f"{cmp['soak']['server_errors']} of "
              f"{cmp['soak']['requests']} ({cmp['soak']['per_second']}/s)", "0",
              cmp["soak"]["server_errors"] == 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--soak", type=int, default=40_000, help="requests of the soak; 0: none")
    parser.add_argument("--quick", action="store_true",
                        help="a shorter run to try the bench: 10 runs, a soak of 3000")
    parser.add_argument("--no-class", action="store_true", help="skip the fresh-work class")
    parser.add_argument("--workers", type=int, default=None,
                        help="PLAYGROUND_WORKERS for the server; default: the app's")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.soak = 10, min(args.soak, 3000)
    goals = Goals()
    load = [os.getloadavg()[0]]

    for by_hand in (seed_by_hand, poly_by_hand, neuron_by_hand, mlp_by_hand):
        torchviz.make_dot(by_hand()).pipe(format="svg")  # the first backward is slow
    log = Path(tempfile.mkstemp(prefix="bench-server-", suffix=".log")[1])
    proc, base, healthy, first = start(log, args.workers)
    try:
        measure(args, goals, base, proc, healthy, first, load)
    finally:
        classroom.stop_server(proc)
        log.unlink(missing_ok=True)
    if args.soak:
        print(f"\nsoak: two servers started the same way; {args.soak} requests of mixed traffic "
              "to one, then the burst and the page class on both, three turns each (fresh, soaked, soaked, "
              "fresh, fresh, soaked)")
        compared = soak.compare(args.soak, args.students)
        soak.print_compare(compared)
        soak_goals(goals, compared)
    load.append(os.getloadavg()[0])
    goals.print()
    print(f"load average (1 min) at start {load[0]:.2f}, at the single requests' end "
          f"{load[1]:.2f}, at the end {load[-1]:.2f}")
    return 0


def measure(args, goals: Goals, base: str, proc, healthy: float, first: float,
            load: list[float]) -> None:
    """Single requests, memory, the burst and the classes on one server."""
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; server "
          f"with default settings (workers {args.workers or 'one per CPU'}) at {base}")
    print(f"start: /healthz after {healthy:.1f} s, first computed answer after {first:.1f} s "
          "(includes the cache warm-up)")
    print(f"\n{'request':<38}{'baseline ms':>12}{'api ms':>9}{'ratio':>7}"
          f"{'back to back ms':>17}{'ratio':>7}")
    rows = single(base, args.runs)
    rows.append((FLOOR_TRIP, *pool_floor(args.runs)))
    load.append(os.getloadavg()[0])
    for name, b, a, busy in rows:
        print(f"{name:<38}{b:>12.2f}{a:>9.2f}{a / b:>7.3f}{busy:>17.2f}{busy / b:>7.3f}")
    seed_base = rows[0][1]
    print(f"medians of {args.runs} interleaved runs; baseline = torchviz.make_dot(y)"
          ".pipe(format='svg') in this process; api = POST /api/graph on the server, "
          "each request after a baseline run (an idle server); back to back = the same "
          "requests one after another (a busy server: no idle processes to wake)")
    by_case = {name: (b, a, busy) for name, b, a, busy in rows}
    goals.ratio(f"{POLY_TERMS}-term polynomial, never seen", by_case,
                f"{POLY_TERMS}-term polynomial, never seen", 0.5)
    goals.ratio("two-layer MLP program, never seen", by_case,
                "two-layer MLP program, never seen", 0.5)
    goals.ratio("lesson, never seen", by_case, "seed, never seen", 0.3)
    goals.ratio("lesson, new value", by_case, "seed, new value", 0.2)
    goals.ratio("lesson, cache hit", by_case, "seed, cache hit", 0.1)
    # Under every ratio but the cache hit's: the bare route and a worker's round trip.
    route, trip = by_case[BARE_ROUTE][1], by_case[FLOOR_TRIP][1]
    goals.add("floor: bare route + a worker's round trip", f"{(route + trip) / seed_base:.2f}× "
              f"({route:.2f} + {trip:.2f} of {seed_base:.1f} ms)", "reported", None)

    print()
    rows_memory = memory(proc.pid)
    for role, pid, rss, pss in rows_memory:
        print(f"memory: {role:<17} pid {pid:<8} RSS {rss:7.1f} MiB  PSS {pss:7.1f} MiB")
    total = sum(pss for *_, pss in rows_memory)

    result = asyncio.run(burst(base, 200))
    result["last"] = result["last"] or float("nan")
    result["p50"] = result["p50"] or float("nan")
    print(f"\nburst: {result['n']} different new computations at once: {result['ok']} x 200 OK "
          f"{result['statuses']}; p50 {result['p50']:.0f} ms, last answer after "
          f"{result['last']:.0f} ms (goal: all 200 OK, last within 1000 ms)")
    goals.add("burst of 200 new computations at once", f"{result['ok']}/200 OK, last "
              f"{result['last']:.0f} ms", "all OK, last ≤ 1000 ms",
              result["ok"] == 200 and result["last"] <= 1000)
    peak = total
    if not args.no_class:
        print()
        fresh = fresh_class(base, proc.pid, args.students)
        if fresh is not None:
            api = fresh["kinds"]["api"]
            peak = max(peak, fresh.get("peak_pss_mib", 0))
            print(f"fresh-work class: {api['ok']}/{api['count']} answered, {api['errors']} "
                  f"errors, api p50 {api['p50_ms']} ms p95 {api['p95_ms']} ms "
                  f"(p95 ratio {api['p95_ms'] / seed_base:.2f}x of the seed baseline); "
                  f"embed burst beyond healthz {fresh['burst_beyond_healthz_p95_ms']} ms")
        # The same class on the page, with the teacher's new functions: each result,
        # then the derivative panel where the result asks the page to load it.
        print()
        page = fresh_class(base, proc.pid, args.students, "fresh-page")
        if page is not None:
            kinds = page["kinds"]
            peak = max(peak, page.get("peak_pss_mib", 0))
            answered = sum(kinds[k]["ok"] for k in ("result", "calculus"))
            sent = sum(kinds[k]["count"] for k in ("result", "calculus"))
            panel = kinds["calculus"]
            print(f"fresh-work class on the page, new functions: {answered}/{sent} answered; "
                  f"result p50 {kinds['result']['p50_ms']} ms p95 {kinds['result']['p95_ms']} ms; "
                  f"derivative panel loaded apart {panel['count']} times"
                  + (f", p50 {panel['p50_ms']} ms p95 {panel['p95_ms']} ms"
                     if panel["count"] else ""))
        page_goals(goals, page, args.students)
    short = {"web server": "web", "fork server": "fork", "resource tracker": "tracker"}
    per_process = ", ".join(f"{short.get(role, role)} {pss:.0f}" for role, _, _, pss in rows_memory)
    goals.add("PSS per process (MiB, after warm-up)", per_process, "reported", None)
    goals.add("PSS of the replica, all processes", f"{total:.0f} MiB idle, {peak:.0f} MiB peak",
              "< 600 MiB", peak < 600)


if __name__ == "__main__":
    sys.exit(main())
