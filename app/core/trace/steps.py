"""Each backward step as a record, with the rule that explains it.

The recorder hooks every node and runs ``y.backward()``; :func:`backward_steps`
turns what each hook saw (the gradient that arrived, the gradients sent) into
:class:`autograd_playground.core.result.Step` records in the engine's order,
with what each leaf accumulated. For each node that is not a leaf it gathers
what autograd_playground.core.trace.local.rules needs: the operands of the op
as the student wrote them and their values (:class:`Operands`), the constants
the op holds, what the node saved for its tensor rule, and PyTorch's own local
derivatives (the node called on ones), to compare the derived rule against.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch

from ..language.values import finite
from ..result import Contribution, Node, Step
from . import local
from .forms import FORMS
from .model import op_name, signed, to_value

_SAVED_FOR_RULES = (
    "self", "mat2", "vec", "tensor", "dim0", "dim1", "result", "dim", "keepdim", "target",
    "total_weight",
)


class Operands(Protocol):
    """Where a source of the trace finds what local.rules needs about one node: the
    parsed tree (tree_operands.TreeOperands) or the node's saved tensors."""

    def knows(self, fn: Any) -> bool:
        """Whether a rule can be written for the node at all; a step of a node it does
        not know has ``rules == ()``: PyTorch's numbers, no formula."""
        ...

    def facts(self, fn: Any, arrived: Any, sent: tuple, torch_local: tuple) -> local.NodeFacts:
        ...


def saved_for_rules(fn: Any) -> dict[str, Any]:
    """What a tensor op's node saved for its rule, as numpy arrays and signed ints."""
    saved: dict[str, Any] = {}
    for name in () if op_name(fn) in FORMS else _SAVED_FOR_RULES:
        try:
            value = getattr(fn, f"_saved_{name}")
        except (AttributeError, RuntimeError):
            continue
        if isinstance(value, int):
            saved[name] = signed(value)
        elif isinstance(value, tuple):  # dimensions: logsumexp's dim
            saved[name] = tuple(signed(int(v)) for v in value)
        else:
            saved[name] = numbers(value)
    if "dim0" in saved:
        saved["dims"] = (saved["dim0"], saved.get("dim1", 1))
    return saved


def numbers(x: Any) -> Any:
    """A tensor or Python number as numpy float64, for local.rules; None stays None."""
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        if x.dim() == 0:
            return np.float64(x.item())
        return x.detach().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _torch_local(fn: Any, arrived: Any) -> tuple:
    """PyTorch's own local derivatives of an element-wise op, one per input, as numpy.

    The node is called once more on ones: that gives the float32 factor its kernel
    multiplies what arrived by, whatever arrived (sin(x)*x at 0 gives cos(0) = 1 although
    0 arrived; exp(x) at 100 gives inf, as float32 holds e^100), so that the chain rule
    shown, arrived · local = sent, is PyTorch's own float32 arithmetic.
    """
    if arrived is None or op_name(fn) not in FORMS:
        return ()
    out = fn(torch.ones_like(arrived))  # under backward_steps' no_grad
    return tuple(numbers(o) for o in (out if isinstance(out, tuple) else (out,)))


def _local_values(ones: tuple, grad_inputs: tuple) -> tuple:
    """PyTorch's local derivative per input as the step shows it, None where it has not
    the gradient's shape (broadcast) or nothing was sent."""
    if not ones:
        return tuple(None for _ in grad_inputs)
    return tuple(
        None if t is None or g is None
        else finite(float(t)) if type(t) is np.float64 and g.dim() == 0  # one number
        else finite(t.tolist()) if np.shape(t) == tuple(g.shape)
        else None
        for t, g in zip(ones, grad_inputs, strict=False)
    )


def backward_steps(
    raw: list[list[Any]], ids: dict[Any, str], nodes: list[Node], operands: Operands,
    max_shown: int | None = None,
) -> tuple[Step, ...]:
    """One Step per node the engine ran, from the hooks' records ``raw``, in that order;
    a gradient of more than ``max_shown`` numbers as its summary (model.to_value)."""
    with torch.no_grad():  # the nodes are called once more (_torch_local): no graph of that
        return _steps(raw, ids, nodes, operands, max_shown)


def _steps(
    raw: list[list[Any]], ids: dict[Any, str], nodes: list[Node], operands: Operands,
    max_shown: int | None,
) -> tuple[Step, ...]:
    by_id = {n.id: n for n in nodes}
    received: dict[str, list[Contribution]] = {}
    steps: list[Step] = []
    for index, (fn, grad_outputs, grad_inputs) in enumerate(raw, start=1):
        node = by_id[ids[fn]]
        grad_inputs = grad_inputs or ()
        arrived = grad_outputs[0] if len(grad_outputs) == 1 else None
        sent = tuple(to_value(g, max_shown) if g is not None else None for g in grad_inputs)
        got = tuple(to_value(g, max_shown) if g is not None else None for g in grad_outputs)
        for target, value in zip(node.inputs, sent, strict=False):
            if target is not None and value is not None:
                received.setdefault(target, []).append(Contribution(node.id, value))
        leaf = node.kind == "leaf"
        ones = () if leaf else _torch_local(fn, arrived)
        rules = () if leaf or not operands.knows(fn) else local.rules(
            operands.facts(fn, arrived, grad_inputs, ones))
        locals_ = _local_values(ones, grad_inputs)
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
