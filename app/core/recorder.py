"""What PyTorch built and ran, as records: the graph's nodes, hooked, and each backward step.

graph.trace evaluates the function with torch; :func:`record` then walks the
graph PyTorch built, gives every node a stable id (``n0`` is the output's
``grad_fn``), hooks every node, runs ``y.backward()`` and records each step in
the order the engine really ran it. The records themselves (app.core.result)
hold no tensors; only :class:`Trace` keeps the live ones, for torchviz.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from app.core.language import ExprError
from app.core.result import Contribution, ForwardOp, Node, Output, Step, Variable
from app.core.tree import Expr, Parsed
from app.core.values import Value


# --- the data model ---------------------------------------------------------


@dataclass(frozen=True)
class Trace:
    expression: str
    variables: tuple[Variable, ...]
    output: Output
    nodes: tuple[Node, ...]
    steps: tuple[Step, ...]
    forward: tuple[ForwardOp, ...]
    # The live torch objects, for drawing with torchviz; not part of the record.
    tensor: torch.Tensor = field(repr=False, compare=False)
    params: dict[str, torch.Tensor] = field(repr=False, compare=False)
    torch_ids: dict[int, str] = field(repr=False, compare=False)

    @property
    def gradients(self) -> dict[str, Value | None]:
        return {v.name: v.grad for v in self.variables}

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


# --- values -----------------------------------------------------------------


def to_value(x: Any) -> Value:
    """A tensor or number as JSON-ready data; non-finite numbers become strings."""
    if isinstance(x, torch.Tensor):
        if x._is_zerotensor():  # a gradient PyTorch knows is zero has no storage to read
            x = torch.zeros(x.shape, dtype=x.dtype)
        data = x.detach().tolist()
    else:
        data = x
    return _finite(data)


def _finite(data: Any) -> Value:
    if isinstance(data, list):
        return [_finite(d) for d in data]
    number = float(data)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return number


def shape_of(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if isinstance(x, torch.Tensor) else ()


# --- the graph --------------------------------------------------------------


def _op_name(fn: Any) -> str:
    return type(fn).__name__


@functools.cache
def _saved_names(kind: type) -> tuple[str, ...]:
    return tuple(a for a in sorted(dir(kind)) if a.startswith("_saved_"))


def _saved(fn: Any) -> dict[str, Value]:
    """The attributes a node saved for backward, readable before they are freed."""
    out: dict[str, Value] = {}
    for attr in _saved_names(type(fn)):
        try:
            val = getattr(fn, attr)
        except (RuntimeError, AttributeError):
            continue
        name = attr[len("_saved_") :]
        if isinstance(val, torch.Tensor):
            out[name] = to_value(val)
        elif isinstance(val, bool):
            out[name] = str(val)
        elif isinstance(val, (int, float)):
            out[name] = to_value(val)
        elif isinstance(val, (tuple, list)) and all(isinstance(v, (int, float)) for v in val):
            out[name] = [to_value(v) for v in val]
        elif val is not None:
            out[name] = str(val)[:80]
    return out


def _walk(root: Any) -> list[Any]:
    """Every node reachable from ``root``, depth first, inputs in order."""
    order: list[Any] = []
    seen: set[Any] = set()
    stack = [root]
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        order.append(fn)
        nexts = [nf for nf, _ in fn.next_functions if nf is not None]
        stack.extend(reversed(nexts))
    return order


def _ratio(sent: torch.Tensor | None, arrived: torch.Tensor | None) -> Value | None:
    """The local derivative sent / arrived, where it is defined elementwise."""
    if sent is None or arrived is None or sent.shape != arrived.shape:
        return None
    if sent.numel() == 1:
        a = arrived.item()
        return None if a == 0 else _finite(sent.item() / a)
    if bool((arrived == 0).any()):
        return None
    return to_value(sent.double() / arrived.double())


def record(
    parsed: Parsed,
    tensors: dict[str, torch.Tensor],
    ops: list[tuple[Expr, Any]],
    y: Any,
) -> Trace:
    if not isinstance(y, torch.Tensor):  # pragma: no cover - a variable always gives a tensor
        raise ExprError("The function does not depend on any variable.")
    if y.grad_fn is None:
        if y.requires_grad:
            raise ExprError(
                "y is the variable itself, so PyTorch builds no graph to draw; try 1*{expr}.",
                {"expr": parsed.normalized},
            )
        raise ExprError(
            "y does not require grad: no variable with requires_grad=True reaches it, so "
            "y.backward() would fail. Switch requires_grad on for at least one variable."
        )
    if y.numel() != 1:
        raise ExprError(
            "y has shape {shape}, but backward() needs a single number (a scalar). Wrap the "
            "function in sum(...) or mean(...).",
            {"shape": list(y.shape)},
        )
    output = Output(value=to_value(y), repr=str(y), shape=shape_of(y))

    fns = _walk(y.grad_fn)
    ids = {fn: f"n{i}" for i, fn in enumerate(fns)}
    made_by = {}
    for expr_node, result in ops:
        if isinstance(result, torch.Tensor) and result.grad_fn in ids:
            made_by[result.grad_fn] = (expr_node, result)
    names = {id(t): name for name, t in tensors.items()}

    nodes: list[Node] = []
    for fn in fns:
        inputs = tuple(ids[nf] if nf is not None else None for nf, _ in fn.next_functions)
        if hasattr(fn, "variable"):
            var = fn.variable
            nodes.append(
                Node(ids[fn], _op_name(fn), "leaf", inputs, to_value(var), shape_of(var),
                     variable=names.get(id(var)))
            )
            continue
        expr_node, result = made_by.get(fn, (None, None))
        kind = "output" if fn is y.grad_fn else "op"
        nodes.append(
            Node(
                ids[fn],
                _op_name(fn),
                kind,
                inputs,
                to_value(result) if result is not None else None,
                shape_of(result),
                saved=_saved(fn),
                source=parsed.text[expr_node.start : expr_node.end] if expr_node else None,
                start=expr_node.start if expr_node else None,
                end=expr_node.end if expr_node else None,
            )
        )

    forward = tuple(
        ForwardOp(
            index=i + 1,
            source=parsed.text[e.start : e.end],
            value=to_value(r),
            shape=shape_of(r),
            node=ids.get(r.grad_fn) if isinstance(r, torch.Tensor) else None,
            start=e.start,
            end=e.end,
        )
        for i, (e, r) in enumerate(ops)
    )

    raw_steps = _run_backward(y, fns)
    steps = _steps(raw_steps, ids, nodes)

    variables = tuple(
        Variable(
            name=name,
            value=to_value(t),
            shape=shape_of(t),
            requires_grad=t.requires_grad,
            grad=to_value(t.grad) if t.grad is not None else None,
        )
        for name, t in tensors.items()
    )
    torch_ids = {id(fn): ids[fn] for fn in fns}
    torch_ids.update({id(t): f"var-{name}" for name, t in tensors.items() if t.requires_grad})
    torch_ids[id(y)] = "out"
    return Trace(
        expression=parsed.normalized,
        variables=variables,
        output=output,
        nodes=tuple(nodes),
        steps=steps,
        forward=forward,
        tensor=y,
        params={name: t for name, t in tensors.items() if t.requires_grad},
        torch_ids=torch_ids,
    )


def _run_backward(y: torch.Tensor, fns: list[Any]) -> list[list[Any]]:
    """Hook every node, run ``y.backward()``, return [fn, grad_outputs, grad_inputs] in order."""
    ran: list[list[Any]] = []
    open_steps: dict[Any, list[Any]] = {}
    handles = []

    def prehook(fn):
        def hook(grad_outputs):
            record = [fn, tuple(grad_outputs), None]
            open_steps[fn] = record
            ran.append(record)

        return hook

    def posthook(fn):
        def hook(grad_inputs, grad_outputs):
            open_steps.pop(fn)[2] = tuple(grad_inputs)

        return hook

    for fn in fns:
        handles.append(fn.register_prehook(prehook(fn)))
        handles.append(fn.register_hook(posthook(fn)))
    try:
        y.backward()
    finally:
        for handle in handles:
            handle.remove()
    return ran


def _steps(raw: list[list[Any]], ids: dict[Any, str], nodes: list[Node]) -> tuple[Step, ...]:
    by_id = {n.id: n for n in nodes}
    received: dict[str, list[Contribution]] = {}
    steps: list[Step] = []
    for index, (fn, grad_outputs, grad_inputs) in enumerate(raw, start=1):
        node = by_id[ids[fn]]
        grad_inputs = grad_inputs or ()
        arrived = grad_outputs[0] if len(grad_outputs) == 1 else None
        sent = tuple(to_value(g) if g is not None else None for g in grad_inputs)
        for target, g in zip(node.inputs, grad_inputs):
            if target is not None and g is not None:
                received.setdefault(target, []).append(Contribution(node.id, to_value(g)))
        leaf = node.kind == "leaf"
        steps.append(
            Step(
                index=index,
                node=node.id,
                name=node.name,
                grad_outputs=tuple(to_value(g) if g is not None else None for g in grad_outputs),
                grad_inputs=sent,
                targets=node.inputs,
                local_derivatives=tuple(_ratio(g, arrived) for g in grad_inputs),
                accumulated=to_value(grad_outputs[0]) if leaf and grad_outputs else None,
                contributions=tuple(received.get(node.id, ())) if leaf else (),
            )
        )
    return tuple(steps)
