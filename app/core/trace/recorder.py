"""Walk the graph PyTorch built, hook every node, run backward() and record it all.

graph.trace evaluates the function with torch; :func:`record` then walks the
graph PyTorch built, gives every node a stable id (``n0`` is the output's
``grad_fn``), hooks every node, runs ``y.backward()`` and records each step in
the order the engine really ran it (autograd_playground.core.trace.steps). The
records themselves (autograd_playground.core.result) hold no tensors; only the
:class:`autograd_playground.core.trace.model.Trace` keeps the live ones, for
torchviz. Every walk uses an explicit stack: a graph may be deep.
"""

from __future__ import annotations

from typing import Any

import torch

from ..language.rules import ExprError
from ..language.tree import Expr, ListConst, Parsed, Var
from ..language.values import Value
from ..result import ForwardOp, Intermediate, Node, Output, Variable
from .model import Trace, op_name, shape_of, tensor_text, to_value
from .steps import backward_steps
from .tree_operands import TreeOperands
from .walk import run_hooked, saved, walk


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
    _check_output(parsed, y)
    output = Output(value=to_value(y), repr=tensor_text(y), shape=shape_of(y))

    fns = walk(y.grad_fn)
    ids = {fn: f"n{i}" for i, fn in enumerate(fns)}
    made_by = _made_by(ops, ids)
    owners = _owners(fns, made_by)
    nodes = _nodes(parsed, tensors, fns, ids, made_by, owners, y.grad_fn)
    forward = _forward(parsed, ops, ids)

    named = _named_values(parsed, tensors, ops)
    if retain:
        for _, value in named:
            if isinstance(value, torch.Tensor) and value.requires_grad:
                value.retain_grad()
    raw_steps = _run_backward(y, fns)
    operands = TreeOperands(parsed, tensors, ops, made_by, owners, {n.id: n for n in nodes}, ids)
    steps = backward_steps(raw_steps, ids, nodes, operands)

    # After backward(): the variables and the named values carry their .grad now.
    return Trace(
        expression=parsed.normalized,
        variables=_variables(tensors),
        output=output,
        nodes=tuple(nodes),
        steps=steps,
        forward=forward,
        tensor=y,
        params={name: t for name, t in tensors.items() if t.requires_grad},
        torch_ids=_torch_ids(fns, ids, tensors, y),
        output_name=parsed.output_name,
        intermediates=tuple(
            Intermediate(
                name=line_name,
                value=to_value(value),
                shape=shape_of(value),
                grad=_kept_grad(value),
            )
            for line_name, value in named
        ),
        groups=_groups(parsed, nodes),
    )


def _check_output(parsed: Parsed, y: Any) -> None:
    """Raise ExprError unless ``y`` is a single number with a graph that backward() can run."""
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


def _made_by(ops: list[tuple[Expr, Any]], ids: dict[Any, str]) -> dict[Any, tuple[Expr, Any]]:
    """The tree node and the result of each op whose result's grad_fn is in the graph."""
    made_by = {}
    for expr_node, result in ops:
        if isinstance(result, torch.Tensor) and result.grad_fn in ids:
            made_by[result.grad_fn] = (expr_node, result)
    return made_by


def _nodes(
    parsed: Parsed,
    tensors: dict[str, torch.Tensor],
    fns: list[Any],
    ids: dict[Any, str],
    made_by: dict[Any, tuple[Expr, Any]],
    owners: dict[Any, Expr],
    root: Any,
) -> list[Node]:
    """One Node per graph node, in walk order: leaves with their variable, ops with their source."""
    names = {id(t): name for name, t in tensors.items()}
    nodes: list[Node] = []
    for fn in fns:
        inputs = tuple(ids[nf] if nf is not None else None for nf, _ in fn.next_functions)
        if hasattr(fn, "variable"):
            var = fn.variable
            nodes.append(
                Node(ids[fn], op_name(fn), "leaf", inputs, to_value(var), shape_of(var),
                     variable=names.get(id(var)))
            )
            continue
        _, result = made_by.get(fn, (None, None))
        expr_node = owners.get(fn)
        kind = "output" if fn is root else "op"
        nodes.append(
            Node(
                ids[fn],
                op_name(fn),
                kind,
                inputs,
                to_value(result) if result is not None else None,
                shape_of(result),
                saved=saved(fn),
                source=parsed.text[expr_node.start : expr_node.end] if expr_node else None,
                start=expr_node.start if expr_node else None,
                end=expr_node.end if expr_node else None,
                name_of=parsed.names.get(id(expr_node)) if expr_node else None,
            )
        )
    return nodes


def _forward(parsed: Parsed, ops: list[tuple[Expr, Any]], ids: dict[Any, str]) -> tuple[ForwardOp, ...]:
    """The forward pass, op by op in the order the trace ran them."""
    return tuple(
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


def _variables(tensors: dict[str, torch.Tensor]) -> tuple[Variable, ...]:
    """Each variable with its ``.grad`` as backward() left it."""
    return tuple(
        Variable(
            name=name,
            value=to_value(t),
            shape=shape_of(t),
            requires_grad=t.requires_grad,
            grad=to_value(t.grad) if t.grad is not None else None,
        )
        for name, t in tensors.items()
    )


def _torch_ids(fns: list[Any], ids: dict[Any, str], tensors: dict[str, torch.Tensor], y: Any) -> dict[int, str]:
    """The stable id of each torch object torchviz draws: nodes, variables, the output."""
    torch_ids = {id(fn): ids[fn] for fn in fns}
    torch_ids.update({id(t): f"var-{name}" for name, t in tensors.items() if t.requires_grad})
    torch_ids[id(y)] = "out"
    return torch_ids


def _groups(parsed: Parsed, nodes: list[Node]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """A program's lines, each with the ids of the op nodes its text made."""
    return tuple(
        (line.name, parsed.text[line.start : line.end], tuple(
            n.id for n in nodes
            if n.kind != "leaf" and n.start is not None and line.start <= n.start < line.end
        ))
        for line in parsed.lines
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
        elif isinstance(tree, ListConst):  # a list line is a tensor, as the trace made it
            value = torch.tensor(tree.value, dtype=torch.float32)
        else:
            value = getattr(tree, "value", None)
        if value is not None:
            out.append((line.name, value))
    return out


def _run_backward(y: torch.Tensor, fns: list[Any]) -> list[list[Any]]:
    """Hook every node, run ``y.backward()``, return [fn, grad_outputs, grad_inputs] in order."""
    # Kept for local_derivatives(): the nodes are called once more on ones.
    ran, _ = run_hooked(fns, lambda: y.backward(retain_graph=True))
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
