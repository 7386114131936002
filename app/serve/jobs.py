"""A request's computation as a job: checked and keyed in the web process, run in a worker.

make_job and make_train_job check everything a job carries (cheap, no torch) and
build the key that identical requests share; _run_job and _run_training are the
worker's side, which computes and encodes the answer once for every reader.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..core.language.expr import checked
from ..core.language.program import check_collapse
from ..core.language.rules import ExprError, Extras, Limits
from ..core.language.tree import Parsed, post_order
from ..core.language.values import check_training, check_value
from ..core.result import RESULT_VERSION
from .cache import Encoded
from .formulas import Derived

# Functions of the page's examples and the ops a first lesson uses: the cost of each
# op's first derivation is paid in the fork server (autograd_playground.serve.prewarm), not by a student;
# a new worker computes the first once more (worker.init_worker).
WARM_UP: tuple[tuple[str, dict[str, object]], ...] = (
    ("5*x**3 + 2*x**2 + 4*x + 8", {"x": 2.0}),
    ("x**2*y + sin(y)", {"x": 3.0, "y": 0.5}),
    ("sigmoid(w*x + b)", {"w": 0.5, "x": 2.0, "b": -1.0}),
    ("sigmoid(sum(w*x) + b)", {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 3.0], "b": 0.1}),
    ("mean((w*x - t)**2)", {"w": 1.5, "x": [1.0, 2.0, 3.0], "t": [2.0, 4.0, 6.0]}),
    ("w @ x + b", {"w": [1.0, -2.0, 0.5], "x": [2.0, 1.0, 4.0], "b": 0.5}),
    ("z = w*x + b\nh = tanh(z)\nloss = (h - t)^2", {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1.0}),
    ("relu(x) + exp(x) + log(x) + sqrt(x) + cos(x) + x/2", {"x": 1.5}),
)



@dataclass(frozen=True)
class Job:
    """One request's computation, with the key that identical requests share."""

    expression: str
    inputs: dict[str, Any]
    requires_grad: dict[str, bool]
    view: str
    key: str
    extras: Extras = Extras()
    collapse: tuple[str, ...] = ()  # program lines drawn as one box each
    cost: int = 1  # its price against the client's share (job_cost)
    # The checked tree, sent along so that the worker need not parse the text again
    # (see SENT_NODES); None: the worker parses it.
    parsed: Parsed | None = field(default=None, compare=False, repr=False)
    # Formulas a worker derived for this function before (serve.formulas), for its
    # worker to adopt rather than derive again; None: none known.
    formulas: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def heavy(self) -> bool:
        """Whether admission estimates it by the heavy jobs' time (sympy, create_graph)."""
        return self.extras.symbolic or self.extras.order == 2

    @property
    def function(self) -> str | None:
        """The function as sympy sees it (normalized), if the job carries its tree."""
        return None if self.parsed is None else self.parsed.normalized


def make_job(
    expression: str,
    inputs: dict[str, Any],
    requires_grad: dict[str, bool] | None,
    view: str,
    limits: Limits,
    extras: Extras = Extras(),
    collapse: tuple[str, ...] = (),
) -> Job:
    """Check the text and the values (cheap, no torch) and build the cache key.

    Everything a job carries is checked here, in the web process, before it is
    pickled, queued or cached: the text's tree, the number of variables, and each
    used value's shape, depth and size (values.check_value). Values of names the
    function does not use are dropped. Raises ExprError with a sentence.
    """
    parsed = checked(expression, limits)
    if len(parsed.variables) > limits.max_variables:
        raise ExprError(
            "Too many variables: {count}; the limit is {limit}.",
            {"count": len(parsed.variables), "limit": limits.max_variables},
        )
    inputs = parsed.with_values(inputs)  # a program's value line (x = 2) wins
    requires_grad = parsed.with_grads(requires_grad)  # and a cell's requires_grad=
    used = {name: inputs[name] for name in parsed.variables if name in inputs}
    for name, value in used.items():
        check_value(name, value, limits)
    grads = {name: bool((requires_grad or {}).get(name, True)) for name in parsed.variables}
    # The text as typed, not parsed.normalized: the result quotes it (labels, positions).
    parts: list[Any] = [RESULT_VERSION, expression, used, grads, view]
    if extras.wanted:  # the default answer keeps its key
        parts.append([extras.symbolic, extras.order, extras.accumulate])
    if extras.symbolic and extras.known_only:  # may come without the formula
        parts.append("known_only")
    if extras.retain_grad:  # so is the answer without retain_grad
        parts.append("retain_grad")
    collapse = check_collapse(expression, collapse)
    if collapse:  # a picture with boxes; the default answer keeps its key
        parts.append(["collapse", *collapse])
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    key = hashlib.sha256(canonical.encode()).hexdigest()
    cost = job_cost(len(parsed.lines), used, extras)
    sent = parsed if len(post_order(parsed.tree)) <= SENT_NODES else None
    return Job(expression, used, grads, view, key, extras, collapse, cost, sent)


# The largest tree a job carries to the worker, in nodes. Pickling recurses about three
# levels of the interpreter's stack per level of the tree, and a tree is at most as deep
# as it has nodes: 200 stays well inside the stack the web process has left (a tree of
# some 330 levels exhausts the default limit of 1000). A larger one is parsed again there.
SENT_NODES = 200


# What a job costs against its client's share, in plain computations. The
# prices follow the time a worker takes: sympy (symbolic) and create_graph
# (second order) each take several times a plain trace, a second backward a
# little more, and every 1000 numbers of the values or 4 more lines of a
# program add one. Bounded, so that one job alone is still admitted (share.Shares).
SYMBOLIC_COST, ORDER_2_COST, ACCUMULATE_COST = 3, 2, 1
MAX_COST = 16


def numbers_in(value: Any) -> int:
    """How many numbers a value holds (a number, or nested lists), walked without recursion."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            count += 1
    return count


def job_cost(lines: int, inputs: dict[str, Any], extras: Extras = Extras()) -> int:
    """A job's price against its client's share: 1 for a plain computation, more by size."""
    cost = 1 + (max(lines, 1) - 1) // 4
    cost += sum(numbers_in(value) for value in inputs.values()) // 1000
    if extras.symbolic:
        cost += SYMBOLIC_COST
    if extras.order == 2:
        cost += ORDER_2_COST
    if extras.accumulate:
        cost += ACCUMULATE_COST
    return min(cost, MAX_COST)


def _run_job(job: Job, limits: Limits, dot_timeout: float) -> Encoded:
    """The worker's whole task: compute, then encode once (JSON and gzip) for every reader."""
    # Imported here: torch is loaded by the workers (and the fork server), not by
    # the web process, which only parses, caches and renders pages.
    from ..core.pipeline import check_result_size, compute

    if job.heavy:
        from ..core.teach import calculus

        if job.formulas is not None:
            calculus.adopt(job.formulas)
    result = compute(
        job.expression, job.inputs, job.requires_grad, job.view, limits, dot_timeout, job.extras,
        job.collapse, job.parsed,
    )
    encoded = Encoded.of(result)
    # Bound the answer before it crosses back to the web process.
    check_result_size(len(encoded.body), limits)
    formulas = calculus.derived() if job.heavy else None
    return encoded if formulas is None else Derived(encoded.body, encoded.gzip, formulas)


@dataclass(frozen=True)
class TrainJob:
    """One training run (autograd_playground.core.teach.train), with the key that identical runs share."""

    expression: str
    inputs: dict[str, Any]
    params: tuple[str, ...]
    lr: float
    steps: int
    zero_grad: bool
    key: str
    cost: int = 1  # its price against the client's share (job_cost): every 25 steps add one
    heavy = True  # a training run is estimated by the heavy jobs' time


def make_train_job(
    expression: str,
    inputs: dict[str, Any],
    params: list[str],
    lr: float,
    steps: int,
    zero_grad: bool,
    limits: Limits,
) -> TrainJob:
    """Check a training run as :func:`make_job` checks a function, before it is queued."""
    job = make_job(expression, inputs, None, "torchviz", limits)
    parsed = checked(expression, limits)
    check_training(parsed, params, lr, steps, limits)
    canonical = json.dumps(
        ["train", RESULT_VERSION, parsed.normalized, job.inputs, params, lr, steps, zero_grad],
        sort_keys=True,
        separators=(",", ":"),
    )
    key = hashlib.sha256(canonical.encode()).hexdigest()
    cost = min(MAX_COST, job.cost + 1 + steps // 25)
    return TrainJob(
        expression, job.inputs, tuple(params), float(lr), steps, zero_grad, key, cost
    )


def _run_training(job: TrainJob, limits: Limits) -> Encoded:
    """A worker's task for a training run: train, then encode once, bounded like a trace."""
    from ..core.pipeline import check_result_size
    from ..core.result import plain
    from ..core.teach.train import train

    run = train(
        checked(job.expression, limits), job.inputs, list(job.params), job.lr, job.steps,
        job.zero_grad, limits,
    )
    encoded = Encoded.of(plain(run))
    check_result_size(len(encoded.body), limits)
    return encoded
