"""The steps of a tensor's trace come in the order the engine ran them.

The order is recorded here independently: the test's own pre-hooks on every
node, its own ``torch.autograd.grad`` for the op steps, and its own
``backward()`` (which runs AccumulateGrad) for where the leaf steps go.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from autograd_playground.core.pipeline import compute, compute_tensor
from autograd_playground.core.trace.modules import capture
from autograd_playground.core.trace.tensor import trace_tensor

from .tensors import Cube


def _leaves() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return {
        "x": torch.tensor(1.5, requires_grad=True),
        "b": torch.tensor(-0.5, requires_grad=True),
        "w": torch.randn(3, requires_grad=True),
        "A": torch.randn(2, 3, requires_grad=True),
    }


def _repeated(t: dict[str, torch.Tensor]) -> torch.Tensor:
    h = t["x"]
    for _ in range(6):
        h = h * t["x"] + t["b"]
    return h


def _module(t: dict[str, torch.Tensor]) -> torch.Tensor:
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    return torch.nn.functional.mse_loss(model(t["A"] * t["x"]), torch.zeros(2, 1))


# Ten graphs with fan-out and reuse.
GRAPHS: dict[str, Callable[[dict[str, torch.Tensor]], torch.Tensor]] = {
    "lesson": lambda t: 5 * t["x"] ** 3 + 2 * t["x"] ** 2 + 4 * t["x"] + 8,
    "x used thrice": lambda t: t["x"] * t["x"] * t["x"] + t["x"],
    "diamond": lambda t: torch.sin(t["x"] * 2) + torch.cos(t["x"] * 2),
    "shared subexpression": lambda t: (lambda h: h * h + h / t["b"])(t["x"] * t["b"]),
    "two leaves crossing": lambda t: (t["x"] * t["b"] + t["x"] / t["b"]) * (t["x"] - t["b"]),
    "tensor ops": lambda t: (t["A"] @ t["w"]).sum() + (t["w"] * t["w"]).mean() * t["x"],
    "a module": _module,
    "a deep chain": _repeated,
    "a custom function": lambda t: Cube.apply(t["x"]) + Cube.apply(t["x"] * t["b"]) * t["x"],
    "softmax and friends": lambda t: torch.logsumexp(t["w"] * t["x"], -1)
    + (torch.softmax(t["w"], -1) * torch.tanh(t["w"])).sum(),
}


def _all_leaves(y: torch.Tensor) -> list[torch.Tensor]:
    """Every leaf of y's graph, found by the test's own walk."""
    found, seen, stack = [], set(), [y.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        if hasattr(fn, "variable"):
            found.append(fn.variable)
        stack.extend(nf for nf, _ in fn.next_functions)
    return found


def _engine_order(y: torch.Tensor, run: Callable[[], object]) -> list[int]:
    """id() of each node the engine ran during ``run``, in order, by the test's own hooks."""
    ran: list[int] = []
    handles, seen, stack = [], set(), [y.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        handles.append(fn.register_prehook(lambda grads, fn=fn: ran.append(id(fn))))
        stack.extend(nf for nf, _ in fn.next_functions)
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return ran


@pytest.mark.parametrize("name", list(GRAPHS))
def test_the_op_steps_come_in_the_order_autograd_grad_ran_them(name):
    leaves = _leaves()
    y = GRAPHS[name](leaves)
    trace = trace_tensor(y, leaves)
    used = _all_leaves(y)
    ran = _engine_order(
        y, lambda: torch.autograd.grad(y, used, retain_graph=True, allow_unused=True))
    ops = [s.node for s in trace.steps if trace.node(s.node).kind != "leaf"]
    assert len(ops) >= 3
    assert ops == [trace.torch_ids[i] for i in ran]


@pytest.mark.parametrize("name", list(GRAPHS))
def test_the_leaf_steps_sit_where_backward_ran_accumulate_grad(name):
    leaves = _leaves()
    y = GRAPHS[name](leaves)
    trace = trace_tensor(y, leaves)
    ran = _engine_order(y, lambda: y.backward(retain_graph=True))
    assert [s.node for s in trace.steps] == [trace.torch_ids[i] for i in ran]
    leaf_steps = {id(trace.params[trace.node(s.node).variable or ""]): s
                  for s in trace.steps if trace.node(s.node).kind == "leaf"}
    for leaf in _all_leaves(y):  # each leaf's step holds what backward() put in .grad
        step = leaf_steps[id(leaf)]
        assert torch.allclose(torch.tensor(step.accumulated), leaf.grad)
        assert torch.allclose(
            sum(torch.tensor(c.value) for c in step.contributions), leaf.grad, atol=1e-6)


# The language's functions and the same functions written with torch.
TYPED = [
    ("x*y + sin(x)*exp(y)", lambda x, y: x * y + torch.sin(x) * torch.exp(y)),
    ("tanh(x)*sigmoid(y)/(x**2 + 1)", lambda x, y: torch.tanh(x) * torch.sigmoid(y) / (x**2 + 1)),
    ("2**x*x**y - 3/y", lambda x, y: 2**x * x**y - 3 / y),
    ("relu(x - 1) + clamp(y, 0, 1)*abs(x)",
     lambda x, y: torch.relu(x - 1) + torch.clamp(y, 0, 1) * torch.abs(x)),
    ("sqrt(x)*log(y) - (x - y)**2", lambda x, y: torch.sqrt(x) * torch.log(y) - (x - y) ** 2),
]


@pytest.mark.parametrize(("text", "written"), TYPED)
def test_a_typed_function_and_its_torch_twin_give_the_same_steps_and_checks(text, written):
    typed = compute(text, {"x": 1.5, "y": 0.75})
    x = torch.tensor(1.5, requires_grad=True)
    y = torch.tensor(0.75, requires_grad=True)
    with capture() as captured:  # relu keeps only its result: x - 1 needs the capture
        out = written(x, y)
    data = compute_tensor(out, {"x": x, "y": y}, captured=captured)
    assert data["gradients"] == typed["gradients"]
    keep = ("node", "name", "grad_inputs", "targets", "accumulated", "contributions")
    assert [[s[k] for k in keep] for s in data["steps"]] == [
        [s[k] for k in keep] for s in typed["steps"]]
    checks = [[(r["kind"], r["agrees"], r["value"]) if r else None for r in s["rules"]]
              for s in data["steps"]]
    assert checks == [[(r["kind"], r["agrees"], r["value"]) if r else None for r in s["rules"]]
                      for s in typed["steps"]]
