"""The Trace: what one function's graph and backward pass left, and torch values as data.

A :class:`Trace` holds the records of autograd_playground.core.result (nodes,
steps, variables, the forward ops), which hold no tensors, plus the live torch
objects torchviz needs to draw the same graph. The helpers below turn what
torch hands over into those records' plain values: :func:`to_value` for a
tensor or a number, :func:`tensor_text` for ``str(y)`` as a student sees it,
:func:`shape_of`, :func:`signed` for a dimension PyTorch saved, and
:func:`op_name` for a node's class name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from ..language.values import SUMMARY_FIRST, Value, finite
from ..result import ForwardOp, Intermediate, Node, Output, Step, Summary, Variable

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


def to_value(x: torch.Tensor | float, max_shown: int | None = None) -> Value:
    """A tensor or number as JSON-ready data; non-finite numbers become strings.

    A tensor of more than ``max_shown`` numbers becomes its summary at once, as
    values.summarize would make it of the whole list (a notebook's weights: a
    million numbers are not turned into a list to be summarized)."""
    if not isinstance(x, torch.Tensor):
        return finite(x)
    if x._is_zerotensor():  # a gradient PyTorch knows is zero has no storage to read
        x = torch.zeros(x.shape, dtype=x.dtype)
    if max_shown is not None and 0 < max_shown < x.numel():
        return summary_of(x)
    if x.dim() == 0 and x.is_floating_point():  # one number: no list to walk
        number = x.item()
        return number if math.isfinite(number) else finite(number)
    return finite(x.detach().tolist())


def summary_of(x: torch.Tensor) -> Summary:
    """values.summarize's summary of a tensor, computed by torch in float64."""
    data = x.detach().reshape(-1).double()
    real = data[~torch.isnan(data)]
    return {
        "shape": list(x.shape),
        "first": [_one_number(v) for v in data[:SUMMARY_FIRST].tolist()],
        "min": _one_number(real.min().item()) if real.numel() else "nan",
        "max": _one_number(real.max().item()) if real.numel() else "nan",
        "mean": _one_number(data.mean().item()),
    }


def _one_number(v: float) -> float | str:
    value = finite(v)
    return value if isinstance(value, (float, str)) else float("nan")


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



def signed(value: int) -> int:
    """A saved dimension as Python reads it: PyTorch hands -1 over as 2**64 - 1."""
    return value - 2**64 if value >= 2**63 else value


def op_name(fn: Any) -> str:
    """The class name of a graph node: ``MulBackward0``, ``AccumulateGrad``."""
    return type(fn).__name__
