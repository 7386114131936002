"""An hour of a classroom server's mixed traffic, compressed, and what it leaves behind.

A soak sends tens of thousands of requests of every kind a server meets in a
day, from 64 client addresses, as fast as 24 clients at once get answers: new
functions (names never sent before) and new values through the API and the
page, cache hits, hostile inputs (the kinds of tests/web/test_hostile.py and
bench/attack.py: injections, Unicode, huge constants, deep nesting, texts over
every limit), programs, training (the API's and the page's), second order,
the derivative panel, fields, embeds, share snippets, pages in English and
German.

``--compare`` (what ``make bench`` runs, through api_vs_torchviz.py) starts two
servers the same way, warms both alike, soaks one, and then measures both side
by side: the burst of 200 and the page class with new functions
(bench/classroom.py --mode fresh-page), three turns each in the order fresh,
soaked, soaked, fresh, fresh, soaked, so that the machine's drift falls on both
alike; each figure is the median of a server's three. Two servers rather than
one server's CPU per request before and after: the issue's symptom is latency
under a class, which CPU per request would not show, and this machine's
timings swing from minute to minute, which only measurements made side by side
cancel (the CPU per request of each class is printed beside its latency). The web process's RSS and PSS are taken after warm-up and after the
soak, against the bound: its size after warm-up, plus the configured cache
bounds (cache_mb, page_cache_mb), plus 50 MB.

``--trace DIR`` soaks one server started as ``bench.server:traced_app``
(tracemalloc on) and writes heap snapshots after warm-up and after each part of
the soak, then prints the top growers between them, the live objects by type,
and every cache's size against its bound.

    .venv/bin/python bench/soak.py --compare [--requests 40000]
    .venv/bin/python bench/soak.py --trace /tmp/soak [--requests 40000] [--frames 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import ssl
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import classroom

CLIENTS = 24
ADDRESSES = [f"127.0.3.{n}" for n in range(1, 65)]
# The configured bounds of the web process's caches (Settings' defaults), MiB.
CACHE_BOUNDS_MIB = 64 + 16
SLACK_MIB = 50
LESSON = classroom.FUNCTIONS
PROGRAM = "h = tanh(w*x + b)\ny = (h - t)**2"
PROGRAM_VALUES = {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1}

# Function texts every route must refuse, one of each kind the hostile tests cover.
HOSTILE = [
    "x.__class__.__mro__", "__import__('os').system('true')", "getattr(x, '__class__')",
    "(lambda: 1)()", "[c for c in ().__class__.__base__.__subclasses__()]", 'f"{x}"',
    "(y := x) + y", "import os", "exec('1')", "\uff3f\uff3fimport\uff3f\uff3f('os')",
    "\U0001d4cd*2", "x\x00+1", "x\u202e+1", "x**9**9**9", "x*1e999",
    "(" * 240 + "x" + ")" * 240, "-" * 450 + "x", "<script>alert(1)</script>",
    'x"><img src=x onerror=alert(1)>', "x*2 # <script>", "javascript:alert(1)",
]
HUGE = "x+" * 50_000  # over every length limit (413, and 414 on a page)


class Mix:
    """The next request of the day: a weighted choice among the kinds below."""

    def __init__(self, seed: int, tag: str):
        self.rng = random.Random(seed)
        self.tag, self.count = tag, 0
        kinds = {
            "api new function": 8, "api new value": 10, "api cache hit": 20,
            "page result": 12, "page new function": 4, "page": 6, "fields": 8,
            "calculus": 4, "embed": 4, "share": 2, "hostile api": 5, "hostile page": 4,
            "huge": 1, "program": 4, "train api": 2, "train page": 2, "second order": 3,
            "metrics": 1,
        }
        self.kinds, self.weights = list(kinds), list(kinds.values())

    def new_name(self) -> str:
        self.count += 1
        return f"{self.tag}s{self.count}"

    def lang(self) -> list[tuple[str, str]]:
        return [("lang", self.rng.choice(["en", "de"]))]

    def fn(self, new: bool = False) -> classroom.Function:
        fn = self.rng.choice(LESSON)
        return classroom.renamed(fn, self.new_name()) if new else fn

    def values(self, fn: classroom.Function) -> dict[str, str]:
        return {n: json.dumps(v) for n, v in classroom.fresh_values(fn, self.rng).items()}

    def next(self) -> tuple[str, str, str, dict[str, Any]]:
        """(kind, method, path with query, httpx keyword arguments)."""
        kind = self.rng.choices(self.kinds, self.weights)[0]
        return (kind, *self.build(kind))

    def build(self, kind: str) -> tuple[str, str, dict[str, Any]]:
        rng, hx = self.rng, {"HX-Request": "true", "HX-Target": "result"}
        page = "/?" if kind != "embed" else "/embed?"
        if kind in ("api new function", "api new value", "api cache hit", "second order"):
            fn = self.fn(new=kind == "api new function")
            values = fn.values if kind == "api cache hit" else self.values(fn)
            body = {"expression": fn.expr, "inputs": fn.inputs(values),
                    "requires_grad": {n: n not in fn.nograd for n in values}}
            if kind == "second order":
                body["order"] = 2
            return "POST", "/api/graph", {"json": body}
        if kind in ("page result", "page new function", "calculus", "page", "embed"):
            fn = self.fn(new=kind == "page new function" or rng.random() < 0.1)
            values = fn.values if kind in ("page", "embed") and rng.random() < 0.5 else (
                self.values(fn))
            query = classroom.encode(fn.form(values) + self.lang())
            if kind == "calculus":
                return "GET", "/calculus?" + query, {"headers": {**hx, "HX-Target": "calculus"}}
            if kind == "page":
                view = [("view", "annotated")] if rng.random() < 0.3 else []
                return "GET", "/?" + query + ("&" + classroom.encode(view) if view else ""), {}
            return "GET", page + query, {"headers": hx} if kind != "embed" else {}
        if kind == "fields":
            fn = self.fn(new=rng.random() < 0.3)
            prefix = fn.prefixes(rng, 1)[0]
            query = classroom.encode(fn.form(fn.values, prefix) + self.lang())
            return "GET", "/fields?" + query, {"headers": {**hx, "HX-Target": "fields"}}
        if kind == "share":
            fn = self.fn()
            return "GET", "/share?" + classroom.encode(fn.link() + self.lang()), {}
        if kind == "hostile api":
            text = rng.choice(HOSTILE)
            return "POST", "/api/graph", {"json": {"expression": text, "inputs": {"x": 2}}}
        if kind == "hostile page":
            text = rng.choice(HOSTILE)
            path = rng.choice(["/", "/embed", "/fields", "/calculus"])
            return "GET", path + "?" + classroom.encode([("expr", text), ("x", "2")]), {}
        if kind == "huge":
            if rng.random() < 0.5:
                return "POST", "/api/graph", {"json": {"expression": HUGE, "inputs": {"x": 1}}}
            return "GET", "/?" + classroom.encode([("expr", HUGE[:30_000]), ("x", "2")]), {}
        if kind == "program":
            suffix = self.new_name() if rng.random() < 0.5 else ""
            text = classroom._IDENTIFIER.sub(
                lambda m: m.group() + suffix if m.group() == "h" else m.group(), PROGRAM)
            values = {n: round(v + rng.uniform(-1, 1), 3) for n, v in PROGRAM_VALUES.items()}
            return "POST", "/api/graph", {"json": {"expression": text, "inputs": values}}
        if kind == "train api":
            body = {"expression": "(tanh(w*x + b) - t)**2", "params": ["w", "b"],
                    "inputs": {"w": round(rng.uniform(-1, 1), 3), "x": 1.5, "b": 0.1, "t": 1},
                    "lr": 0.1, "steps": 20, "zero_grad": True}
            return "POST", "/api/train", {"json": body}
        if kind == "train page":
            pairs = [("expr", "(w*x - t)**2"), ("w", str(round(rng.uniform(-2, 2), 2))),
                     ("x", "1.5"), ("t", "3"), ("train", "w"), ("steps", "10")]
            return "GET", "/?" + classroom.encode(pairs + self.lang()), {"headers": hx}
        return "GET", "/metrics", {}


async def soak(base: str, requests: int, seed: int, tag: str) -> dict[str, Any]:
    """``requests`` requests of the mix, CLIENTS at a time; statuses per kind."""
    mix = Mix(seed, tag)
    statuses: dict[str, Counter] = {}
    seconds: list[float] = []
    left = [requests]
    tls = ssl.create_default_context()

    async def client(k: int) -> None:
        sent = 0
        http = httpx.AsyncClient()  # replaced before the first request
        while left[0] > 0:
            left[0] -= 1
            # Each client moves to another address now and then, as a day's devices do.
            address = ADDRESSES[(k + sent // 200 * CLIENTS) % len(ADDRESSES)]
            if sent % 200 == 0:
                await http.aclose()
                http = httpx.AsyncClient(
                    base_url=base, verify=tls, timeout=30.0,
                    transport=httpx.AsyncHTTPTransport(local_address=address),
                    headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
            sent += 1
            kind, method, path, kwargs = mix.next()
            start = time.perf_counter()
            try:
                response = await http.request(method, path, **kwargs)
                status = str(response.status_code)
            except httpx.HTTPError as exc:
                status = f"exc:{type(exc).__name__}"
            seconds.append(time.perf_counter() - start)
            statuses.setdefault(kind, Counter())[status] += 1
        await http.aclose()

    started = time.monotonic()
    await asyncio.gather(*(client(k) for k in range(CLIENTS)))
    took = time.monotonic() - started
    return {"requests": requests, "seconds": round(took, 1),
            "per_second": round(requests / took), "statuses": statuses,
            "server_errors": sum(n for c in statuses.values() for s, n in c.items()
                                 if s.startswith("5") or s.startswith("exc"))}


def replica_pss(pid: int) -> float:
    """The PSS of the server and all its processes (workers, fork server), MiB."""
    got = [classroom.proc_sample(p) for p in classroom.descendants(pid)]
    return sum(g[1] for g in got if g) / 1024


def web_memory(pid: int) -> tuple[float, float]:
    """The web process's RSS and PSS, MiB."""
    got = classroom.proc_sample(pid)
    return (got[0] / 1024, got[1] / 1024) if got else (float("nan"), float("nan"))


def warm_up(base: str, seed: int) -> dict[str, Any]:
    """What every server gets before it is measured: a few of each kind, so that first-call
    costs (imports, compiled templates, the workers' first jobs) are paid."""
    return asyncio.run(soak(base, 600, seed, classroom.new_tag()))


def describe(result: dict[str, Any]) -> str:
    bad = {k: dict(c) for k, c in result["statuses"].items()
           if any(s.startswith("5") or s.startswith("exc") for s in c)}
    return (f"{result['requests']} requests in {result['seconds']} s "
            f"({result['per_second']}/s); 5xx or no answer: {result['server_errors']}"
            + (f" {bad}" if bad else ""))


# --- two servers side by side ----------------------------------------------------


class Servers:
    """Servers started the same way, stopped at the end."""

    def __init__(self) -> None:
        self.procs: list[Any] = []
        self.logs: list[Path] = []

    def start(self, app: str = "autograd_playground.web.main:create_app",
              env: list[str] | None = None) -> tuple[str, int]:
        port = classroom.free_port()
        log = Path(tempfile.mkstemp(prefix="soak-server-", suffix=".log")[1])
        proc = classroom.start_server(port, None, env or [], log, app)
        self.procs.append(proc)
        self.logs.append(log)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(classroom.wait_healthy(base, proc, time.monotonic() + 90))
        return base, proc.pid

    def stop(self, failed: bool = False) -> None:
        if failed:
            for log in self.logs:
                print(f"--- {log}:\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        for proc in self.procs:
            classroom.stop_server(proc)
        for log in self.logs:
            log.unlink(missing_ok=True)


def page_class(base: str, pid: int, students: int, tag: str) -> dict | None:
    """bench/classroom.py --mode fresh-page on a running server, with the teacher's new
    functions named by ``tag``."""
    import subprocess

    command = [sys.executable, str(Path(__file__).with_name("classroom.py")), "--mode",
               "fresh-page", "--students", str(students), "--url", base, "--pid", str(pid),
               "--json", "--max-seconds", "90", "--tag", tag]
    done = subprocess.run(command, capture_output=True, text=True, timeout=200)
    cut = done.stdout.find("\n{")
    if done.returncode != 0 or cut < 0:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(done.stdout[cut + 1:])


def compare(requests: int, students: int, seed: int = 3) -> dict[str, Any]:
    """Fresh and soaked, side by side: memory, the burst of 200, the page class."""
    from api_vs_torchviz import burst  # the same burst as make bench's

    servers = Servers()
    try:
        fresh, soaked = servers.start(), servers.start()
        for name, (base, _) in (("fresh", fresh), ("soaked-to-be", soaked)):
            print(f"soak: warm-up of the {name} server: {describe(warm_up(base, seed))}")
        warm = web_memory(soaked[1]), web_memory(fresh[1])
        print(f"soak: after warm-up, web process RSS/PSS MiB: soaked-to-be {warm[0][0]:.0f}/"
              f"{warm[0][1]:.0f}, fresh {warm[1][0]:.0f}/{warm[1][1]:.0f}", flush=True)
        result = asyncio.run(soak(soaked[0], requests, seed, classroom.new_tag()))
        print(f"soak: {describe(result)}", flush=True)
        after = web_memory(soaked[1])
        replica = [replica_pss(soaked[1])]
        bursts: dict[str, list[float]] = {"fresh": [], "soaked": []}
        classes: dict[str, list[dict]] = {"fresh": [], "soaked": []}
        tags = [classroom.new_tag(), classroom.new_tag()]
        tags.append(classroom.new_tag())
        plan = [("fresh", fresh, tags[0]), ("soaked", soaked, tags[0]),
                ("soaked", soaked, tags[1]), ("fresh", fresh, tags[1]),
                ("fresh", fresh, tags[2]), ("soaked", soaked, tags[2])]
        for name, (base, pid), tag in plan:
            # Three bursts a turn, their median: one burst swings by a factor of 3 here.
            lasts = []
            for _ in range(3):
                got = asyncio.run(burst(base, 200))
                lasts.append(got["last"] if got["ok"] == 200 else float("inf"))
            bursts[name].append(statistics.median(lasts))
            page = page_class(base, pid, students, tag)
            if page is not None:
                classes[name].append(page)
        end = web_memory(soaked[1]), web_memory(fresh[1])
        replica.append(replica_pss(soaked[1]))
    finally:
        servers.stop()
    return {"soak": result, "memory": {"warm": warm[0], "after_soak": after,
                                       "after_all": end[0], "fresh_after_all": end[1],
                                       "bound_mib": warm[0][0] + CACHE_BOUNDS_MIB + SLACK_MIB,
                                       "replica_pss": replica},
            "bursts": bursts, "classes": classes}


def summary(cmp: dict[str, Any]) -> dict[str, Any]:
    """Medians over the turns of each server, and the soaked server's ratios to the fresh."""
    def p95(name: str, kind: str) -> float | None:
        values = [c["kinds"][kind]["p95_ms"] for c in cmp["classes"][name]]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def errors(name: str) -> int:
        return sum(k["errors"] + k["rate_limited"] for c in cmp["classes"][name]
                   for k in c["kinds"].values())

    def cpu_ms(name: str, who: str) -> float | None:
        """The web process's (or the workers') CPU per request of the page class, ms."""
        values = [c["cpu_seconds"][who] * 1000 / c["requests"] for c in cmp["classes"][name]
                  if who in c.get("cpu_seconds", {}) and c["requests"]]
        return statistics.median(values) if values else None

    out: dict[str, Any] = {}
    for name in ("fresh", "soaked"):
        out[name] = {"web_cpu_ms": cpu_ms(name, "server"), "workers_cpu_ms": cpu_ms(name, "workers"),
                     "burst_last_ms": statistics.median(cmp["bursts"][name]),
                     "result_p95_ms": p95(name, "result"), "panel_p95_ms": p95(name, "calculus"),
                     "errors": errors(name), "runs": len(cmp["classes"][name])}
    ratios = {}
    for key in ("burst_last_ms", "result_p95_ms", "panel_p95_ms", "web_cpu_ms", "workers_cpu_ms"):
        a, b = out["fresh"][key], out["soaked"][key]
        ratios[key] = None if not a or b is None else b / a
    out["ratios"] = ratios
    return out


def print_compare(cmp: dict[str, Any]) -> dict[str, Any]:
    s = summary(cmp)

    def runs(name: str, kind: str) -> str:
        return ", ".join(str(c["kinds"][kind]["p95_ms"]) for c in cmp["classes"][name])

    mem = cmp["memory"]
    for name in ("fresh", "soaked"):
        f = s[name]
        print(f"soak: {name:<6} burst of 200, last answer {f['burst_last_ms']:.0f} ms "
              f"(runs {', '.join(f'{v:.0f}' for v in cmp['bursts'][name])}); page class with new "
              f"functions: result p95 {f['result_p95_ms']:.0f} ms (runs {runs(name, 'result')}), "
              f"panel p95 {f['panel_p95_ms']:.0f} ms (runs {runs(name, 'calculus')}), "
              f"{f['errors']} errors; CPU per request of the class: web process "
              f"{f['web_cpu_ms']:.2f} ms, workers {f['workers_cpu_ms']:.2f} ms")
    print("soak: soaked / fresh: " + ", ".join(
        f"{k} {'-' if v is None else f'{v:.2f}'}x" for k, v in s["ratios"].items()))
    print(f"soak: web process RSS/PSS MiB: after warm-up {mem['warm'][0]:.0f}/{mem['warm'][1]:.0f}, "
          f"after the soak {mem['after_soak'][0]:.0f}/{mem['after_soak'][1]:.0f}, after the "
          f"classes {mem['after_all'][0]:.0f}/{mem['after_all'][1]:.0f} (the fresh server's "
          f"{mem['fresh_after_all'][0]:.0f}/{mem['fresh_after_all'][1]:.0f}); bound "
          f"{mem['bound_mib']:.0f} (after warm-up + {CACHE_BOUNDS_MIB} of cache bounds + "
          f"{SLACK_MIB}); the soaked replica's PSS, all processes: after the soak "
          f"{mem['replica_pss'][0]:.0f}, at the end {mem['replica_pss'][1]:.0f}")
    return s


# --- what grows ---------------------------------------------------------------------


def trace(folder: Path, requests: int, parts: int, frames: int, env: list[str],
          seed: int = 5) -> None:
    """One traced server: snapshots after warm-up and after each part of the soak.

    With small caches (``env``: PLAYGROUND_CACHE_MB=2 PLAYGROUND_PAGE_CACHE_MB=1) they are
    full after the first part, and what grows between later parts is what is not theirs.
    """
    folder.mkdir(parents=True, exist_ok=True)
    servers = Servers()
    try:
        base, pid = servers.start("bench.server:traced_app", [
            f"BENCH_TRACEMALLOC={frames}", f"BENCH_TRACE_DIR={folder}", *env])
        warm_up(base, seed)
        reports = [heap(base, "warm")]
        print(f"trace: warm, web RSS {web_memory(pid)[0]:.0f} MiB, traced "  # 0 untraced
              f"{reports[-1]['traced_mib']:.1f} MiB", flush=True)
        memory = [web_memory(pid)]
        tag = classroom.new_tag()
        for part in range(1, parts + 1):
            result = asyncio.run(soak(base, requests // parts, seed + part, tag + str(part)))
            reports.append(heap(base, f"part{part}"))
            memory.append(web_memory(pid))
            print(f"trace: part {part}: {describe(result)}; web RSS {web_memory(pid)[0]:.0f} "
                  f"MiB, traced {reports[-1]['traced_mib']:.1f} MiB", flush=True)
    except BaseException:
        servers.stop(failed=True)
        raise
    servers.stop()
    if frames > 0:
        growers(folder, "warm", f"part{parts}", frames)
        if parts > 1:
            growers(folder, "part1", f"part{parts}", frames)
    objects = [r["objects"] for r in reports]
    names = set(objects[0]) | set(objects[-1])
    grown = sorted(names, key=lambda n: objects[0].get(n, 0) - objects[-1].get(n, 0))[:15]
    print("\nweb process RSS/PSS MiB (warm-up -> each part): "
          + " -> ".join(f"{r:.0f}/{p:.0f}" for r, p in memory))
    print("live objects by type (warm-up -> each part):")
    for name in grown:
        print(f"  {name:<32}" + " -> ".join(str(o.get(name, '?')) for o in objects))
    print("caches (warm-up -> end):")
    for key, value in reports[-1]["caches"].items():
        print(f"  {key:<16} {json.dumps(reports[0]['caches'].get(key))} -> {json.dumps(value)}")


def growers(folder: Path, start: str, end: str, frames: int) -> None:
    """The allocating lines that grew most between two snapshots."""
    first = tracemalloc.Snapshot.load(str(folder / f"{start}.snapshot"))
    last = tracemalloc.Snapshot.load(str(folder / f"{end}.snapshot"))
    print(f"\ntop growers, {start} to {end} (by traceback):")
    for stat in last.compare_to(first, "traceback")[:15]:
        frame = stat.traceback.format(limit=frames)
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8d} blocks  "
              + " <- ".join(line.strip() for line in frame if line.startswith("  File"))[:600])


def heap(base: str, name: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/bench/heap", params={"name": name}, timeout=300)
    response.raise_for_status()
    return response.json()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40_000)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--compare", action="store_true", help="fresh beside soaked")
    parser.add_argument("--trace", type=Path, metavar="DIR", help="tracemalloc snapshots here")
    parser.add_argument("--parts", type=int, default=3, help="with --trace: snapshots")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="with --trace: environment of the traced server (repeatable)")
    parser.add_argument("--frames", type=int, default=6,
                        help="with --trace: traceback depth; 0: no tracemalloc, counts only")
    args = parser.parse_args()
    if args.trace:
        trace(args.trace, args.requests, args.parts, args.frames, args.server_env)
    if args.compare or not args.trace:
        print_compare(compare(args.requests, args.students))
    return 0


if __name__ == "__main__":
    sys.exit(main())
