"""Time POST /api/graph against the bare torchviz baseline, in one process and one run.

The baseline is what the lesson does by hand: build y with PyTorch and call
``torchviz.make_dot(y).pipe(format="svg")``. Ours is the whole request through
the app in-process: parse, trace with hooks, backward, make_dot, Graphviz,
sanitize, JSON. Graphviz layout dominates both, so the ratio shows what the
app adds on top. Runs are interleaved so that machine noise hits both alike.

    .venv/bin/python bench/api_vs_torchviz.py [--runs 30]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings

import torch
import torchviz

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from fastapi.testclient import TestClient  # noqa: E402

from app.core.expr import parse  # noqa: E402
from app.core.graph import trace  # noqa: E402
from app.web.main import create_app  # noqa: E402
from app.serve.settings import Settings  # noqa: E402

SEED = "5*x**3 + 2*x**2 + 4*x + 8"
POLY_TERMS = 20
POLY = " + ".join(f"{POLY_TERMS + 1 - k}*x**{k}" for k in range(POLY_TERMS, 0, -1))


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


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    # Every request computed: no result cache, and in-process like the baseline
    # (a worker pool adds a hop between processes; bench/classroom.py measures it).
    fresh = Settings(workers=0, cache_size=0, page_cache_size=0, warm_cache=False,
                     rate_limit_per_minute=0)
    client = TestClient(create_app(fresh))
    cached = TestClient(create_app(Settings(workers=0, warm_cache=False, rate_limit_per_minute=0)))
    logging.getLogger("playground.access").setLevel(logging.WARNING)  # one line per request
    cases = [
        ("seed", SEED, {"x": 2}, seed_by_hand),
        (f"{POLY_TERMS}-term polynomial", POLY, {"x": 0.5}, poly_by_hand),
    ]
    print(
        f"{'function':<22} {'baseline ms':>12} {'api ms':>9} {'ratio':>6} {'core ms':>8}"
        f" {'cached ms':>10}"
    )
    for name, text, inputs, by_hand in cases:
        body = {"expression": text, "inputs": inputs}

        def api() -> None:
            response = client.post("/api/graph", json=body)
            response.raise_for_status()

        def baseline() -> None:
            torchviz.make_dot(by_hand()).pipe(format="svg")

        def core() -> None:
            trace(parse(text), inputs)

        def api_cached() -> None:
            cached.post("/api/graph", json=body).raise_for_status()

        for fn in (api, baseline, core, api_cached):  # warm up: the first backward is slow
            fn()
        base, ours, inner, hits = [], [], [], []
        for _ in range(args.runs):
            base += timed(baseline, 1)
            ours += timed(api, 1)
            inner += timed(core, 1)
            hits += timed(api_cached, 1)
        b, a, c, h = (statistics.median(v) for v in (base, ours, inner, hits))
        print(f"{name:<22} {b:>12.2f} {a:>9.2f} {a / b:>6.2f} {c:>8.3f} {h:>10.2f}")
    print(
        f"medians of {args.runs} interleaved runs; api = the whole request, computed (no "
        "cache); core = parse + trace + backward, no layout; cached = the same request "
        "answered from the result cache"
    )


if __name__ == "__main__":
    main()
