"""What the step rules cost a worker's task, and so what caching them could save at most.

Each case of the single-request bench (bench/api_vs_torchviz.py) runs as the
worker's whole task (jobs._run_job: trace, rules, picture, JSON, gzip) in this
process, never seen each time, three ways interleaved with the baseline
``torchviz.make_dot(y).pipe(format="svg")``: as it is; with every step's rule
made free (local.rules answering at once, as a perfect cache per tree shape
would at best); and with PyTorch's local derivative not asked for either (the
node called on ones). Prints the medians and, as ratios to the baseline, what
each would take off a request's figure in ``make bench``.

    .venv/bin/python bench/step_rules_bound.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torchviz

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_vs_torchviz as bench

from autograd_playground.core.language.rules import Limits
from autograd_playground.core.trace import steps
from autograd_playground.serve.jobs import WARM_UP, Job, _run_job, make_job

LIMITS = Limits()


def cases() -> list[tuple[str, Callable[[int], Job], Callable]]:
    def seed(k: int) -> Job:
        name = f"v{k}"
        return make_job(bench.SEED.replace("x", name), {name: 2}, None, "torchviz", LIMITS)

    def poly(k: int) -> Job:
        return make_job(bench.poly(f"v{k}"), {f"v{k}": 0.5}, None, "torchviz", LIMITS)

    def mlp(k: int) -> Job:
        return make_job(*bench.mlp_text(k), "torchviz", LIMITS)

    return [("seed, never seen", seed, bench.seed_by_hand),
            (f"{bench.POLY_TERMS}-term polynomial, never seen", poly, bench.poly_by_hand),
            ("two-layer MLP program, never seen", mlp, bench.mlp_by_hand)]


def free_rules(facts) -> tuple:
    return tuple(None for _ in facts.sent)


def as_it_is() -> None:
    steps.local.rules, steps._torch_local = RULES, TORCH_LOCAL


def without_rules() -> None:
    steps.local.rules, steps._torch_local = free_rules, TORCH_LOCAL


def without_rules_or_local() -> None:
    steps.local.rules, steps._torch_local = free_rules, lambda fn, arrived: ()


RULES, TORCH_LOCAL = steps.local.rules, steps._torch_local
WAYS = (("as it is", as_it_is), ("rules free", without_rules),
        ("rules and torch's local free", without_rules_or_local))


def task_ms(job: Job) -> float:
    start = time.perf_counter()
    _run_job(job, LIMITS, 5.0)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    for text, values in WARM_UP:  # what the fork server pays before any worker exists
        _run_job(make_job(text, values, None, "torchviz", LIMITS), LIMITS, 5.0)
    counter = iter(range(10**7))
    print(f"{'case':<38}{'baseline ms':>12}" + "".join(f"{name:>30}" for name, _ in WAYS))
    try:
        for name, job_of, by_hand in cases():
            for _ in range(20):  # warm: the first backward, the layouts of this shape
                for _, way in WAYS:
                    way()
                    _run_job(job_of(next(counter)), LIMITS, 5.0)
            base: list[float] = []
            took: dict[str, list[float]] = {way: [] for way, _ in WAYS}
            for _ in range(args.runs):
                base.append(bench.ms(lambda by_hand=by_hand: torchviz.make_dot(by_hand()).pipe(format="svg")))
                for way, set_way in WAYS:
                    set_way()
                    took[way].append(task_ms(job_of(next(counter))))
            as_is = statistics.median(took["as it is"])
            b = statistics.median(base)
            cells = []
            for way, _ in WAYS:
                m = statistics.median(took[way])
                cells.append(f"{m:.2f} ms" if way == "as it is"
                             else f"{m:.2f} ms, saves {(as_is - m) / b:.3f}×")
            print(f"{name:<38}{b:>12.2f}" + "".join(f"{cell:>30}" for cell in cells))
    finally:
        as_it_is()
    print(f"medians of {args.runs} tasks each way, interleaved with the baseline; 'saves' is "
          "the time taken off, as a ratio to the baseline: at most what a request's ratio in "
          "make bench could lose")


if __name__ == "__main__":
    main()
