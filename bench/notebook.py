"""show(y) in a notebook against the bare torchviz baseline, in one process and one run.

The baseline is what the lesson does by hand: ``torchviz.make_dot(y,
params=...).pipe(format="svg")``. Ours is the whole ``show(y, params=...)``,
HTML included: autograd.grad with the engine's order recorded, the rules checked,
both pictures laid out and sanitized, the steps explained, the output rendered.
Every call draws afresh (the picture memo is cleared), as a new graph would be.
Runs are interleaved, so that machine noise hits both alike; the figures are warm
medians, and the first call of this fresh process is reported apart.

Goals (issue 25): the lesson within 1x the baseline, a two-layer MLP's loss within 2x.

    .venv/bin/python bench/notebook.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import torch
import torchviz

warnings.filterwarnings("ignore", category=DeprecationWarning)


def lesson() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    x = torch.tensor(2.0, requires_grad=True)
    return 5 * x**3 + 2 * x**2 + 4 * x + 8, {"x": x}


def mlp_loss() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    x, target = torch.randn(16, 4), torch.randn(16, 1)
    loss = torch.nn.functional.mse_loss(model(x), target)
    return loss, dict(model.named_parameters())


def ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    start = time.perf_counter()
    from autograd_playground import show
    from autograd_playground.core.draw.render import drawn
    imported = (time.perf_counter() - start) * 1000

    def ours(build: Callable[[], tuple[torch.Tensor, dict[str, torch.Tensor]]]) -> Callable[[], object]:
        def run() -> object:
            drawn.cache_clear()  # a new graph: no picture remembered
            y, params = build()
            return show(y, params=params)._repr_html_()
        return run

    def baseline(build: Callable[[], tuple[torch.Tensor, dict[str, torch.Tensor]]]) -> Callable[[], object]:
        def run() -> object:
            y, params = build()
            return torchviz.make_dot(y, params=params).pipe(format="svg")
        return run

    print(f"import autograd_playground.show: {imported:.0f} ms")
    for name, build, goal in (("lesson", lesson, 1.0), ("two-layer MLP loss", mlp_loss, 2.0)):
        first_ours = ms(ours(build))  # the first call of this fresh process
        first_base = ms(baseline(build))
        times: dict[str, list[float]] = {"show": [], "torchviz": []}
        for _ in range(args.runs):
            times["show"].append(ms(ours(build)))
            times["torchviz"].append(ms(baseline(build)))
        show_ms, base_ms = statistics.median(times["show"]), statistics.median(times["torchviz"])
        ratio = show_ms / base_ms
        print(f"{name}: show(y) incl. HTML {show_ms:.1f} ms, make_dot(...).pipe(svg) {base_ms:.1f} ms, "
              f"ratio {ratio:.2f}x (goal <= {goal:g}x: {'met' if ratio <= goal else 'NOT met'}); "
              f"first call: show {first_ours:.0f} ms, torchviz {first_base:.0f} ms")


if __name__ == "__main__":
    main()
