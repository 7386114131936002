"""What PyTorch built and ran, as records: the graph's nodes, hooked, and each backward step.

graph.trace evaluates the function with torch; :func:`record` then walks the
graph PyTorch built, gives every node a stable id (``n0`` is the output's
``grad_fn``), hooks every node, runs ``y.backward()`` and records each step in
the order the engine really ran it. The records themselves (autograd_playground.core.result)
hold no tensors; only :class:`Trace` keeps the live ones, for torchviz.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..language.rules import ExprError
from ..language.tree import (
    ATOM,
    Expr,
    ListConst,
    Num,
    Parsed,
    Var,
    children,
    post_order,
)
from ..language.values import Value, finite
from ..result import Contribution, ForwardOp, Intermediate, Node, Output, Step, Variable
from . import local
from .forms import FORMS
from .printing import Operand, constant_operand, precedence

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
    output_name: str = "y"  # what the output is called (language.output_name, or a program's)
    # What the picture calls the output when it is not the function (dy/dx for order 2).
    output_label: str | None = None
    # A program's named values other than the output, with .grad as PyTorch leaves it.
    intermediates: tuple[Intermediate, ...] = ()
    # A program's lines, each with the ids of the nodes it made: (name, line text, ids).
    groups: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

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
    return finite(data)


def tensor_text(y: torch.Tensor) -> str:
    """``str(y)``, as a student sees it printed; written directly for the usual case.

    PyTorch's printer sizes a whole tensor's columns before it prints, which for
    one float32 number with a grad_fn costs about as much as its backward pass.
    For that case its rule is short (a precision of 4, scientific notation past
    1e8 or under 1e-4) and is followed here; tests check it against ``str(y)``.
    Anything else goes to PyTorch's printer.
    """
    if y.dim() != 0 or y.dtype != torch.float32 or y.grad_fn is None or y.is_cuda:
        return str(y)
    value = y.item()
    if math.isnan(value) or math.isinf(value):
        number = str(value)
    elif value == math.ceil(value):
        number = f"{value:.4e}" if abs(value) > 1e8 else f"{value:.0f}."
    elif abs(value) > 1e8 or abs(value) < 1e-4:
        number = f"{value:.4e}"
    else:
        number = f"{value:.4f}"
    return f"tensor({number}, grad_fn=<{type(y.grad_fn).__name__}>)"


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
        elif isinstance(val, int):
            out[name] = to_value(_signed(val))
        elif isinstance(val, float):
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


def record(
    parsed: Parsed,
    tensors: dict[str, torch.Tensor],
    ops: list[tuple[Expr, Any]],
    y: Any,
    retain: bool = False,
) -> Trace:
    """Walk the graph of ``y``, run backward() with every node hooked, record it all.

    ``retain`` calls ``retain_grad()`` on each named intermediate of a program before
    backward(), so that its ``.grad`` is kept, as ``h.retain_grad()`` does in PyTorch.
    """
    if not isinstance(y, torch.Tensor):  # pragma: no cover - a variable always gives a tensor
        raise ExprError("The function does not depend on any variable.")
    name = parsed.output_name
    if y.grad_fn is None:
        if y.requires_grad:
            raise ExprError(
                "{y} is the variable itself, so PyTorch builds no graph to draw; try 1*{expr}.",
                {"expr": parsed.normalized, "y": name},
            )
        raise ExprError(
            "{y} does not require grad: no variable with requires_grad=True reaches it, so "
            "{y}.backward() would fail. Switch requires_grad on for at least one variable.",
            {"y": name},
        )
    if y.numel() != 1:
        raise ExprError(
            "{y} has shape {shape}, but backward() needs a single number (a scalar). Wrap the "
            "function in sum(...) or mean(...).",
            {"shape": list(y.shape), "y": name},
        )
    output = Output(value=to_value(y), repr=tensor_text(y), shape=shape_of(y))

    fns = _walk(y.grad_fn)
    ids = {fn: f"n{i}" for i, fn in enumerate(fns)}
    made_by = {}
    for expr_node, result in ops:
        if isinstance(result, torch.Tensor) and result.grad_fn in ids:
            made_by[result.grad_fn] = (expr_node, result)
    owners = _owners(fns, made_by)
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
        _, result = made_by.get(fn, (None, None))
        expr_node = owners.get(fn)
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
                name_of=parsed.names.get(id(expr_node)) if expr_node else None,
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
            tensor=isinstance(r, torch.Tensor),
        )
        for i, (e, r) in enumerate(ops)
    )

    named = _named_values(parsed, tensors, ops)
    if retain:
        for _, value in named:
            if isinstance(value, torch.Tensor) and value.requires_grad:
                value.retain_grad()
    raw_steps = _run_backward(y, fns)
    operands = _Operands(parsed, tensors, ops, made_by, owners, {n.id: n for n in nodes}, ids)
    steps = _steps(raw_steps, ids, nodes, operands)

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
        output_name=name,
        intermediates=tuple(
            Intermediate(
                name=line_name,
                value=to_value(value),
                shape=shape_of(value),
                grad=_kept_grad(value),
            )
            for line_name, value in named
        ),
        groups=tuple(
            (line.name, parsed.text[line.start : line.end], tuple(
                n.id for n in nodes
                if n.kind != "leaf" and n.start is not None and line.start <= n.start < line.end
            ))
            for line in parsed.lines
        ),
    )


def _kept_grad(value: Any) -> Value | None:
    """``.grad`` as PyTorch leaves it: a leaf's, or a retained intermediate's; else None
    (read without PyTorch's warning about the .grad of a non-leaf)."""
    if not isinstance(value, torch.Tensor) or not (value.is_leaf or value.retains_grad):
        return None
    return to_value(value.grad) if value.grad is not None else None


def _named_values(
    parsed: Parsed, tensors: dict[str, torch.Tensor], ops: list[tuple[Expr, Any]]
) -> list[tuple[str, Any]]:
    """A program's named values except the output, in line order, as the trace computed them.

    A graph recorded without the program's ops (the gradient's own graph, for the second
    derivative) has no named values: the lines name values of y's graph, not of its."""
    computed = {id(e): r for e, r in ops}
    out = []
    for line in parsed.lines[:-1]:
        tree = line.tree
        if id(tree) in computed:
            value = computed[id(tree)]
        elif isinstance(tree, Var):
            value = tensors[tree.name]
        else:
            value = getattr(tree, "value", None)
        if value is not None:
            out.append((line.name, value))
    return out


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
        # Kept for local_derivatives(): the nodes are called once more on ones.
        y.backward(retain_graph=True)
    finally:
        for handle in handles:
            handle.remove()
    return ran


def _owners(fns: list[Any], made_by: dict[Any, tuple[Expr, Any]]) -> dict[Any, Expr]:
    """The tree node whose op made each node: 2/x makes ReciprocalBackward0 under
    its MulBackward0, v @ A makes MmBackward0 between two reshapes."""
    owners = {fn: expr_node for fn, (expr_node, _) in made_by.items()}
    for fn in fns:
        if fn not in owners:
            continue
        stack = [nf for nf, _ in fn.next_functions if nf is not None]
        while stack:
            nf = stack.pop()
            if nf in owners or nf in made_by or hasattr(nf, "variable"):
                continue
            owners[nf] = owners[fn]
            stack.extend(f for f, _ in nf.next_functions if f is not None)
    return owners


_SAVED_FOR_RULES = (
    "self", "mat2", "vec", "tensor", "dim0", "dim1", "result", "dim", "keepdim", "target",
    "total_weight",
)


class _Operands:
    """Everything local.rules needs about a node's operands: texts, values, constants."""

    def __init__(self, parsed, tensors, ops, made_by, owners, nodes, ids):
        self.text = parsed.text
        self.owners = owners
        self.nodes = nodes
        self.ids = ids
        self.values: dict[int, Any] = {}  # id(tree node) -> its value
        self.in_graph: set[int] = set()  # id(tree node) of operands with a node
        # id(tree node) of the subtrees that name a variable somewhere, found in the
        # same pass (asking each constant operand's subtree again cost a tenth of a trace).
        self.with_variable: set[int] = set()
        grads = {name for name, t in tensors.items() if t.requires_grad}
        for expr_node in post_order(parsed.tree):
            if isinstance(expr_node, Var) or any(
                id(k) in self.with_variable for k in children(expr_node)
            ):
                self.with_variable.add(id(expr_node))
            if isinstance(expr_node, Num):
                self.values[id(expr_node)] = expr_node.value
            elif isinstance(expr_node, Var):
                self.values[id(expr_node)] = tensors[expr_node.name]
                if expr_node.name in grads:
                    self.in_graph.add(id(expr_node))
            elif isinstance(expr_node, ListConst):
                self.values[id(expr_node)] = expr_node.value
        for expr_node, result in ops:
            self.values[id(expr_node)] = result
            if isinstance(result, torch.Tensor) and result.requires_grad:
                self.in_graph.add(id(expr_node))
        self.value_of_fn: dict[Any, Any] = {fn: r for fn, (_, r) in made_by.items()}

    def facts(self, fn: Any, arrived: Any, sent: tuple, torch_local: tuple) -> local.NodeFacts:
        owner = self.owners.get(fn)
        inputs = tuple(self.operand(nf, owner) if nf is not None else None for nf, _ in fn.next_functions)
        constants = ()
        texts = ("A", "B")
        if owner is not None:
            kids = children(owner)
            constants = tuple(
                constant_operand(
                    k, self.text[k.start : k.end], _numbers(self.values[id(k)]),
                    id(k) in self.with_variable,
                )
                for k in kids
                if id(k) not in self.in_graph
            )
            if kids:  # the operands as typed: A and B of the rules (softmax(A), A − B)
                typed = tuple(self.text[k.start : k.end] for k in kids[:2])
                texts = typed + texts[len(typed) :]
        saved = {}
        for name in () if _op_name(fn) in FORMS else _SAVED_FOR_RULES:
            try:
                value = getattr(fn, f"_saved_{name}")
            except (AttributeError, RuntimeError):
                continue
            if isinstance(value, int):
                saved[name] = _signed(value)
            elif isinstance(value, tuple):  # dimensions: logsumexp's dim
                saved[name] = tuple(_signed(int(v)) for v in value)
            else:
                saved[name] = _numbers(value)
        if "dim0" in saved:
            saved["dims"] = (saved["dim0"], saved.get("dim1", 1))
        return local.NodeFacts(
            name=_op_name(fn),
            owner=owner,
            inputs=inputs,
            constants=constants,
            arrived=_numbers(arrived),
            sent=tuple(_numbers(g) for g in sent),
            torch_local=torch_local,
            saved=saved,
            texts=texts,
        )

    def operand(self, nf: Any, owner: Expr | None) -> Operand:
        node = self.nodes[self.ids[nf]]
        if hasattr(nf, "variable"):
            return Operand(node.variable or "?", ATOM, _numbers(nf.variable))
        tree_node = self.owners.get(nf)
        value = self.value_of_fn.get(nf)
        if node.name_of:  # a program's named value reads as its name: 1 − tanh(z)², not tanh(w*x + b)
            return Operand(node.name_of, ATOM, _numbers(value))
        if tree_node is None or tree_node is owner:
            return Operand(f"({node.source or node.name})", ATOM, _numbers(value))
        return Operand(node.source or node.name, precedence(tree_node), _numbers(value))


def _signed(value: int) -> int:
    """A saved dimension as Python reads it: PyTorch hands -1 over as 2**64 - 1."""
    return value - 2**64 if value >= 2**63 else value


def _numbers(x: Any) -> Any:
    """A tensor or Python number as numpy float64, for local.rules; None stays None."""
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        if x.dim() == 0:
            return np.float64(x.item())
        return x.detach().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _torch_local(fn: Any, arrived: Any, sent: tuple) -> tuple:
    """PyTorch's own local derivatives of an element-wise op, one per input, as numpy.

    Where one finite, non-zero number arrived and single numbers were sent, that is
    sent / arrived. Otherwise (zero, inf or nan arrived, tensors) the node is called
    once more on ones, which does not depend on what arrived: sin(x)*x at 0 gives
    cos(0) = 1 although 0 arrived.
    """
    if arrived is None or _op_name(fn) not in FORMS:
        return ()
    if arrived.dim() == 0 and all(g is None or g.dim() == 0 for g in sent):
        a = arrived.item()
        if a != 0 and math.isfinite(a):
            return tuple(None if g is None else np.float64(g.item()) / a for g in sent)
    with torch.no_grad():
        out = fn(torch.ones_like(arrived))
    return tuple(_numbers(o) for o in (out if isinstance(out, tuple) else (out,)))


def _steps(
    raw: list[list[Any]], ids: dict[Any, str], nodes: list[Node], operands: _Operands
) -> tuple[Step, ...]:
    by_id = {n.id: n for n in nodes}
    received: dict[str, list[Contribution]] = {}
    steps: list[Step] = []
    for index, (fn, grad_outputs, grad_inputs) in enumerate(raw, start=1):
        node = by_id[ids[fn]]
        grad_inputs = grad_inputs or ()
        arrived = grad_outputs[0] if len(grad_outputs) == 1 else None
        sent = tuple(to_value(g) if g is not None else None for g in grad_inputs)
        got = tuple(to_value(g) if g is not None else None for g in grad_outputs)
        for target, g, value in zip(node.inputs, grad_inputs, sent):
            if target is not None and g is not None:
                received.setdefault(target, []).append(Contribution(node.id, value))
        leaf = node.kind == "leaf"
        ones = () if leaf else _torch_local(fn, arrived, grad_inputs)
        rules = () if leaf else local.rules(operands.facts(fn, arrived, grad_inputs, ones))
        locals_ = tuple(
            finite(t.tolist()) if t is not None and g is not None and np.shape(t) == tuple(g.shape)
            else None
            for t, g in zip(ones, grad_inputs)
        ) if ones else tuple(None for _ in grad_inputs)
        steps.append(
            Step(
                index=index,
                node=node.id,
                name=node.name,
                grad_outputs=got,
                grad_inputs=sent,
                targets=node.inputs,
                local_derivatives=locals_,
                accumulated=got[0] if leaf and got else None,
                contributions=tuple(received.get(node.id, ())) if leaf else (),
                rules=rules,
            )
        )
    return tuple(steps)
