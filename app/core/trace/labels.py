"""What a notebook tensor's nodes stand for: a label built from the graph itself.

A typed function's node reads as the text that made it (``4*x``, ``x**3``). A
tensor computed in a notebook has no text behind it, so :func:`graph_labels`
writes one from what PyTorch recorded, in the language's notation (the printer
of autograd_playground.core.language.tree, which writes the page's normalized
text): the op of each node over its inputs' labels. Leaves read as their names
(``x``, ``0.weight``, ``t0``); a constant input as the number the node saved
(``_saved_other`` = 4 for ``4*x``), or its name in params, else its slot
(``target``); an exponent as ``_saved_exponent`` (``x**3``).

Choices, each deterministic:

- A product with one number reads number first, ``4*x``: Python's ``4*x`` and
  ``x*4`` both make ``mul(x, 4)``, and a coefficient is written first. Any
  other operand order is PyTorch's, its inputs' order.
- A constant PyTorch kept no value of (the ``8`` of ``x + 8``: AddBackward0
  saves only alpha; the ``8`` of ``8 - x``) reads :data:`UNKEPT`.
- ``8/x`` makes ``reciprocal(x)`` times 8: the product reads ``8/x``, the
  reciprocal ``1/x``.
- A node that only reshapes (forms.RESHAPES, ExpandBackward0) reads as its
  input: the same numbers, as the page labels matmul's squeezes by the matmul.
- ``cross_entropy``'s two nodes: the log_softmax reads ``log_softmax(z)``, the
  nll node ``cross_entropy(z, k)``.
- An op the language does not know reads as its short name over its inputs'
  labels, an input without a node as ``…``: ``addmm(0.bias, …, t(0.weight))``,
  a custom Function by its class name (``Cube(x)``). When a capture recorded
  it as a module's output, it reads as the module: ``Linear 0``.
- A label longer than :data:`MAX_LABEL` (the page's explain.MAX_OPERAND) is
  not written into its consumers' labels: the node is named instead, as a
  program names a line, ``h1``, ``h2``, ... in forward order (a module's
  output by its module, the output by its own name), and keeps the long text
  as its source.

A label names a value; it claims nothing beyond the op PyTorch recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..language.tree import ATOM, Printed, binary, number, unary
from .forms import KNOWN, RESHAPES
from .model import op_name
from .saved_operands import HELD, read_saved, slot_names

# The page's limit on an operand in a step (teach.explain.MAX_OPERAND).
MAX_LABEL = 32
# A constant input PyTorch kept no value of.
UNKEPT = "const"
# A constant vector with more numbers than this reads as a name (saved_operands).
MAX_LISTED = 3

_BINARY = {"AddBackward0": "+", "SubBackward0": "-", "MulBackward0": "*", "DivBackward0": "/",
           "PowBackward1": "**", "DotBackward0": "@", "MvBackward0": "@", "MmBackward0": "@",
           "BmmBackward0": "@"}
_CALLS = {"SinBackward0": "sin", "CosBackward0": "cos", "TanBackward0": "tan",
          "ExpBackward0": "exp", "LogBackward0": "log", "SqrtBackward0": "sqrt",
          "AbsBackward0": "abs", "TanhBackward0": "tanh", "SigmoidBackward0": "sigmoid",
          "ReluBackward0": "relu", "MaximumBackward0": "maximum", "MinimumBackward0": "minimum",
          "SumBackward0": "sum", "MeanBackward0": "mean", "SoftmaxBackward0": "softmax",
          "LogSoftmaxBackward0": "log_softmax", "LogsumexpBackward0": "logsumexp",
          "MaxBackward1": "max", "MinBackward1": "min", "MseLossBackward0": "mse",
          "TransposeBackward0": "transpose"}
_PASS = RESHAPES | {"ExpandBackward0"}
_WORDS = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[0-9A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class Label:
    """How a node reads: ``text`` in formulas and steps, binding as ``precedence``;
    ``name`` when the node is named (``h1``), ``text`` then being what it computes."""

    text: str
    precedence: int = ATOM
    name: str | None = None
    source: str | None = None  # the long text of a named node


def graph_labels(fns: list[Any], leaves: Mapping[Any, str], tensor_names: Mapping[int, str],
                 modules: Mapping[Any, str], output_name: str) -> dict[Any, Label]:
    """Each node's label (see the module). ``leaves``: AccumulateGrad node -> name;
    ``tensor_names``: id(tensor) -> its name in params; ``modules``: node -> the module
    label of the module whose output it is (modules.Captured.outputs)."""
    taken = set(leaves.values())
    count = 0
    out: dict[Any, Label] = {}
    root = fns[0] if fns else None
    for fn in _forward_order(fns):
        if fn in leaves:
            out[fn] = Label(leaves[fn])
            continue
        printed = _printed(fn, out, tensor_names, modules)
        if len(printed.text) <= MAX_LABEL:
            out[fn] = Label(printed.text, printed.precedence)
            continue
        if fn is root:
            name = output_name
        elif fn in modules:
            name = modules[fn]
        else:
            count += 1
            while f"h{count}" in taken:
                count += 1
            name = f"h{count}"
        out[fn] = Label(name, ATOM, name=name, source=printed.text)
    return out


def _forward_order(fns: list[Any]) -> list[Any]:
    """The nodes, each after its inputs (a post-order walk with an explicit stack)."""
    known = set(fns)
    order: list[Any] = []
    done: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(fn, False) for fn in reversed(fns)]
    while stack:
        fn, inputs_done = stack.pop()
        if fn in done:
            continue
        if not inputs_done:
            stack.append((fn, True))
            stack.extend((nf, False) for nf, _ in reversed(fn.next_functions)
                         if nf is not None and nf in known and nf not in done)
            continue
        done.add(fn)
        order.append(fn)
    return order


def _printed(fn: Any, labels: Mapping[Any, Label], tensor_names: Mapping[int, str],
             modules: Mapping[Any, str]) -> Printed:
    """The node's op over its inputs' labels, in the language's notation."""
    name = op_name(fn)
    args = [_input(fn, slot, nf, labels, tensor_names) for slot, (nf, _) in enumerate(fn.next_functions)]
    if name in _PASS and args:
        return args[0]
    if name in _BINARY and len(args) == 2:
        return _binary(fn, _BINARY[name], args, labels)
    if name in ("RsubBackward1", "NegBackward0") and args:
        alpha = _alpha(fn, args[0])
        return binary("-", Printed(UNKEPT), alpha) if name == "RsubBackward1" else unary("-", alpha)
    if name == "ReciprocalBackward0" and args:
        return binary("/", number(1), args[0])
    if name in ("PowBackward0", "PowBackward2") and args:
        held = _constant(read_saved(fn, HELD[name][0]), HELD[name][0], tensor_names)
        return binary("**", *((args[0], held) if name == "PowBackward0" else (held, args[0])))
    if name == "ClampBackward1" and args:
        bounds = [_constant(read_saved(fn, a), a, tensor_names) for a in HELD[name]]
        return _call("clamp", [args[0], *bounds])
    if name == "NllLossBackward0" and args:
        target = _constant(read_saved(fn, "target"), "target", tensor_names)
        inner = fn.next_functions[0][0]
        if inner is not None and op_name(inner) == "LogSoftmaxBackward0":
            return _call("cross_entropy", [_input(inner, 0, inner.next_functions[0][0], labels,
                                                  tensor_names), target])
        return _call("nll_loss", [args[0], target])
    if name in _CALLS:
        return _call(_CALLS[name], args)
    if fn in modules:
        return Printed(modules[fn])
    return _call(short_name(fn), args)


def _input(fn: Any, slot: int, nf: Any, labels: Mapping[Any, Label],
           tensor_names: Mapping[int, str]) -> Printed:
    """An input as it reads: its node's label, else the constant the node saved for it."""
    if nf is not None:
        return _printed_label(labels[nf])
    slots = slot_names(fn)
    if slot >= len(slots) or op_name(fn) not in KNOWN:
        return Printed("…")
    return _constant(read_saved(fn, slots[slot]), slots[slot], tensor_names)


def _binary(fn: Any, op: str, args: list[Printed], labels: Mapping[Any, Label]) -> Printed:
    left, right = args
    if op == "*" and right.number and not left.number:
        inner = fn.next_functions[0][0]
        below = inner.next_functions[0][0] if inner is not None and inner.next_functions else None
        if op_name(inner) == "ReciprocalBackward0" and below is not None and not labels[inner].name:
            return binary("/", right, _printed_label(labels[below]))  # 8/x
        left, right = right, left  # 4*x: a coefficient first
    if op in "+-":
        right = _alpha(fn, right)
    return binary(op, left, right)


def _printed_label(label: Label) -> Printed:
    return Printed(label.text, label.precedence)


def _alpha(fn: Any, operand: Printed) -> Printed:
    """``operand`` times the node's ``alpha`` (``torch.add(a, b, alpha=2)``), if not 1."""
    alpha = read_saved(fn, "alpha")
    if alpha is None or alpha == 1:
        return operand
    return binary("*", number(alpha), operand)


def _call(func: str, args: list[Printed]) -> Printed:
    return Printed(f"{func}({', '.join(a.text for a in args)})")


def _constant(value: Any, slot: str, tensor_names: Mapping[int, str]) -> Printed:
    """A constant as the language writes it: a number, a short list, else a name (its
    name in params, else its slot: ``other``, ``target``)."""
    if value is None:
        return Printed(UNKEPT)
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return number(value)
    if not isinstance(value, torch.Tensor):
        return Printed(slot)
    named = tensor_names.get(id(value))
    if named is not None:
        return Printed(named)
    if value.dim() == 0:
        return number(_python_number(value))
    if value.dim() == 1 and value.numel() <= MAX_LISTED:
        entries = [repr(_python_number(v)) for v in value]
        return Printed(f"[{', '.join(entries)}]")
    return Printed(slot)


def _python_number(value: torch.Tensor) -> int | float:
    """A number of a tensor as it was typed: ``4`` of an integer tensor, ``0.1`` of float32."""
    v = value.item()
    if value.dtype == torch.float32:
        return float(str(np.float32(v)))
    return v


def short_name(fn: Any) -> str:
    """An op the language does not know, by name: PyTorch's function of a built-in
    node (``addmm``, ``t``, ``native_layer_norm``), a custom Function's class name."""
    name = re.sub(r"Backward\d*$", "", op_name(fn)) or op_name(fn)
    if isinstance(fn, torch.autograd.function.BackwardCFunction):
        return name
    return _WORDS.sub("_", name).lower()
