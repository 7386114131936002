"""The second source of a trace: any tensor's grad_fn graph, as a notebook computed it.

:func:`trace_tensor` turns a tensor ``y`` that a user computed with their own
tensors, ``nn.Module``s or custom ``autograd.Function``s into the same
:class:`~autograd_playground.core.trace.model.Trace` that a typed function
gives: nodes with stable ids (``n0`` is ``y.grad_fn``), steps in the order the
engine really ran them, and the same rules. The calling convention is
torchviz's: ``params`` names leaves by identity (``{"x": x}``,
``dict(model.named_parameters())``); a leaf not named there is called ``t0``,
``t1``, ... in walk order, skipping every given name.

What runs: ``torch.autograd.grad(y, inputs=<every leaf>, grad_outputs=...,
retain_graph=True)`` with a pre-hook and a hook on every node, all removed
afterwards. It writes no ``.grad``: every ``.grad`` is what it was, and the
graph is kept, so the user's own ``y.backward()`` still works and gives what it
would have. (One exception PyTorch leaves no way around: a non-leaf tensor on
which ``retain_grad()`` was called gains the gradient in its ``.grad``, unless
it was computed inside :func:`~autograd_playground.core.trace.modules.capture`,
whose tensors are put back as they were.)

The leaf steps. ``autograd.grad`` runs no ``AccumulateGrad`` node, so a leaf's
step is made here, not recorded: it is *the sum arriving at the leaf*, its
contributions being what each step sent it and their sum what ``autograd.grad``
returned for it. It is placed where ``backward()`` would have run
``AccumulateGrad``: right after the step that sent the leaf its last
contribution (the engine runs an AccumulateGrad as soon as it is ready, before
any other node), several leaves of one step in the order of that step's inputs.
Every other step is the engine's own record, in its order.

The rules. A node of a class the language's ops make gets the page's rules,
fed from its saved tensors (autograd_playground.core.trace.saved_operands).
Any other node (``AddmmBackward0``, ``ConvolutionBackward0``, a custom
Function's ``BackwardCFunction``) keeps PyTorch's own numbers, what arrived and
what it sent, and has ``rules == ()``: for a step of kind op, an empty rules
tuple means "no formula known". No formula is guessed.

The labels. Each node reads as a label built from the graph itself, in the
language's notation (``4*x``, ``tanh(Linear 0)``; autograd_playground.core.trace.labels),
as a typed function's node reads as its text: the label is the node's source,
and a node named for a label too long to write into others (``h1``) has that
name as its ``name_of``.

The values. Leaves and the output always have their value. Another node has
the value its op computed where a :class:`~.modules.Captured` recorded it, or
where a node saved it (its own ``_saved_result``, or a consumer's
``_saved_self``); else its value is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..language.rules import ExprError, Limits
from ..result import Node, Output, Variable
from .forms import KNOWN
from .labels import Label, graph_labels
from .model import Trace, op_name, shape_of, tensor_text, to_value
from .modules import Captured
from .names import leaf_names, var_id
from .saved_operands import SavedOperands, recovered_values
from .steps import backward_steps
from .walk import run_hooked, saved, saved_names, walk

# torch's own sentence for backward() of a tensor with more than one number.
NOT_SCALAR = "grad can be implicitly created only for scalar outputs"
BACKWARD_FAILED = "PyTorch could not run the backward pass of {y}: {reason}"
FREED = (
    "The graph of {y} was freed by a backward() without retain_graph=True, so its saved "
    "tensors are gone. Call show({y}) before {y}.backward(), or pass retain_graph=True to "
    "backward()."
)


def trace_tensor(
    y: torch.Tensor,
    params: Mapping[str, torch.Tensor] | None = None,
    grad_outputs: torch.Tensor | None = None,
    limits: Limits = Limits(),
    captured: Captured | None = None,
    output_name: str = "y",
) -> Trace:
    """The trace of ``y``'s graph and its backward pass (see the module). Raises ExprError.

    ``grad_outputs`` is what ``y.backward(gradient=...)`` takes, needed when ``y`` has
    more than one number. ``limits`` is taken for the shape of the call; the node limit
    concerns the picture (pipeline.compute_tensor); a value of more than
    ``limits.max_shown_elements`` numbers is kept as its summary (values.summarize)."""
    _check(y, grad_outputs, output_name)
    fns = walk(y.grad_fn)
    _check_kept(fns, output_name)
    ids = {fn: f"n{i}" for i, fn in enumerate(fns)}
    given = {id(t): name for name, t in (params or {}).items()}
    leaves = [fn for fn in fns if hasattr(fn, "variable")]
    names = dict(zip(leaves, leaf_names(given.get(id(fn.variable)) for fn in leaves), strict=True))
    raw, grads = _run(y, fns, leaves, grad_outputs, captured, output_name)
    raw = with_leaf_steps(raw, grads)
    made = captured.made() if captured is not None else {}
    values = recovered_values(fns, {fn: result for fn, (result, _) in made.items()})
    values[y.grad_fn] = y
    shown = limits.max_shown_elements
    modules = captured.module_labels() if captured is not None else {}
    labels = graph_labels(fns, names, given, modules, output_name)
    nodes = _nodes(fns, ids, labels, values, y.grad_fn, shown)
    operands = SavedOperands(names, values, given, labels)
    steps = backward_steps(raw, ids, nodes, operands, shown)
    order = list(params or {})
    ranked = sorted(leaves, key=lambda fn: order.index(names[fn]) if names[fn] in order else len(order))
    torch_ids = {id(fn): ids[fn] for fn in fns}
    torch_ids.update({id(fn.variable): var_id(names[fn]) for fn in leaves})
    torch_ids[id(y)] = "out"
    return Trace(
        expression="",
        variables=tuple(
            Variable(names[fn], to_value(fn.variable, shown), shape_of(fn.variable), True,
                     to_value(grads[fn], shown) if grads.get(fn) is not None else None)
            for fn in ranked
        ),
        output=Output(value=to_value(y, shown), repr=tensor_text(y), shape=shape_of(y)),
        nodes=tuple(nodes),
        steps=steps,
        forward=(),
        tensor=y,
        params={names[fn]: fn.variable for fn in ranked},
        torch_ids=torch_ids,
        output_name=output_name,
        groups=_groups(made, captured, ids) if captured is not None else (),
    )


def _check(y: Any, grad_outputs: Any, name: str) -> None:
    """Raise ExprError unless ``y`` has a graph that backward(gradient=grad_outputs) can run."""
    if not isinstance(y, torch.Tensor):
        raise ExprError("{y} is not a tensor but {kind}; pass the tensor to draw.",
                        {"y": name, "kind": type(y).__name__})
    if y.grad_fn is None:
        if y.requires_grad:
            raise ExprError(
                "{y} is a leaf tensor itself, so PyTorch built no graph to draw; pass a tensor "
                "computed from it.", {"y": name})
        raise ExprError(
            "{y} does not require grad: no tensor with requires_grad=True reaches it, so "
            "{y}.backward() would fail. Compute {y} from a tensor with requires_grad=True.",
            {"y": name})
    if grad_outputs is None:
        if y.numel() != 1:
            raise ExprError(NOT_SCALAR)
    elif not isinstance(grad_outputs, torch.Tensor) or grad_outputs.shape != y.shape:
        raise ExprError(
            "grad_outputs must be a tensor of the shape of {y}, {shape}, as backward(gradient=...) "
            "takes it.", {"y": name, "shape": list(y.shape)})


def _check_kept(fns: list[Any], name: str) -> None:
    """Refuse a graph whose saved tensors a backward() without retain_graph freed."""
    for fn in fns:
        kind: type = type(fn)  # as type[Any], not Hashable to mypy (python/mypy#11470)
        for attr in saved_names(kind):
            try:
                getattr(fn, attr)
            except RuntimeError as e:
                if "freed" in str(e) or "second time" in str(e):
                    raise ExprError(FREED, {"y": name}) from None


def _run(y: torch.Tensor, fns: list[Any], leaves: list[Any], grad_outputs: Any,
         captured: Captured | None, name: str) -> tuple[list[list[Any]], dict[Any, Any]]:
    """Run autograd.grad with every node hooked; .grad of the captured tensors put back."""
    inputs = [fn.variable for fn in leaves]
    retained = [(t, t.grad) for t in (captured.tensors() if captured else ())
                if not t.is_leaf and t.retains_grad]

    def backward() -> tuple:
        if not inputs:
            return ()
        return torch.autograd.grad(y, inputs, grad_outputs, retain_graph=True, allow_unused=True)

    try:
        raw, grads = run_hooked(fns, backward)
    except RuntimeError as e:
        if "second time" in str(e) or "freed" in str(e):
            raise ExprError(FREED, {"y": name}) from None
        # PyTorch's own refusal (a saved tensor changed in place, ...), as it words it.
        raise ExprError(BACKWARD_FAILED, {"y": name, "reason": str(e).split("\n")[0]}) from e
    finally:
        for tensor, grad in retained:
            tensor.grad = grad
    return raw, dict(zip(leaves, grads, strict=True))


def with_leaf_steps(raw: list[list[Any]], grads: dict[Any, Any]) -> list[list[Any]]:
    """The hooks' records with a step for each leaf (see the module): what arrived is
    the leaf's sum, put right after the step that sent its last contribution."""
    last: dict[Any, int] = {}
    for index, (fn, _, sent) in enumerate(raw):
        for (nf, _), g in zip(fn.next_functions, sent or (), strict=False):
            if nf is not None and g is not None and nf in grads:
                last[nf] = index
    after: dict[int, list[Any]] = {}
    for leaf, index in last.items():
        after.setdefault(index, []).append(leaf)
    out: list[list[Any]] = []
    for index, record in enumerate(raw):
        out.append(record)
        slots = [nf for nf, _ in record[0].next_functions]
        for leaf in sorted(after.get(index, ()), key=slots.index):
            if grads[leaf] is not None:
                out.append([leaf, (grads[leaf],), ()])
    return out


def _nodes(fns: list[Any], ids: dict[Any, str], labels: dict[Any, Label],
           values: dict[Any, Any], root: Any, shown: int) -> list[Node]:
    """One Node per graph node, in walk order; an op's value where known (see the module),
    its label as its source (labels.graph_labels), a named one's name as name_of."""
    nodes = []
    for fn in fns:
        inputs = tuple(ids[nf] if nf is not None else None for nf, _ in fn.next_functions)
        label = labels[fn]
        if hasattr(fn, "variable"):
            var = fn.variable
            nodes.append(Node(ids[fn], op_name(fn), "leaf", inputs, to_value(var, shown),
                              shape_of(var),
                              variable=label.text))
            continue
        value = values.get(fn)
        nodes.append(Node(
            ids[fn], op_name(fn), "output" if fn is root else "op", inputs,
            to_value(value, shown) if value is not None else None,
            shape_of(value) if value is not None else _output_shape(fn),
            saved=saved(fn, shown),
            source=label.source or label.text,
            name_of=label.name,
        ))
    return nodes


def _output_shape(fn: Any) -> tuple[int, ...]:
    """The shape of the tensor a node made, from what it expects to receive."""
    metadata = getattr(fn, "_input_metadata", ())
    return tuple(metadata[0].shape) if metadata else ()


def _groups(made: dict[Any, tuple[torch.Tensor, str | None]], captured: Captured,
            ids: dict[Any, str]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """Each module that made nodes, with their ids, in the order the modules ran."""
    members: dict[str, list[str]] = {path: [] for path in captured.texts}
    for fn, (_, path) in made.items():
        if path is not None and fn in ids:
            members.setdefault(path, []).append(ids[fn])
    return tuple(
        (path, captured.texts.get(path, path), tuple(sorted(found, key=lambda i: int(i[1:]))))
        for path, found in members.items() if found
    )


__all__ = ["KNOWN", "NOT_SCALAR", "trace_tensor", "with_leaf_steps"]
