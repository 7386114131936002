"""The second source of a trace's rules: a node's operands as its saved tensors have them.

A tensor computed in a notebook has no parsed tree behind it. For each node of
the language's op classes (autograd_playground.core.trace.forms) the same rules
are fed from what the node saved for backward instead: ``_saved_self`` and
``_saved_other`` are the values of its inputs, ``_saved_exponent`` the exponent
of ``x**3``, ``_saved_min`` and ``_saved_max`` clamp's bounds, ``_saved_result``
its own output. An input that does not require grad (``5`` in ``5*x``) is a
constant, read from the same slot. An operand reads as its node's label
(autograd_playground.core.trace.labels: ``x``, ``4*x``, ``Linear 0``), binding
as the label's op does: there is no text to quote. A constant with no saved value (``8`` in ``x + 8``: AddBackward0
keeps none) is left out, which the forms allow where the derivative does not
depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy
import torch

from ..language.tree import ATOM, PRECEDENCE
from ..language.values import format_value
from . import local
from .forms import KNOWN
from .model import op_name
from .numeric import as_value
from .printing import Operand, show_number
from .steps import numbers, saved_for_rules

# The saved attribute holding each input's value, per node class (default: self, other).
SLOTS: dict[str, tuple[str, str]] = {
    "PowBackward1": ("self", "exponent"),
    "MvBackward0": ("self", "vec"),
    "MmBackward0": ("self", "mat2"),
    "BmmBackward0": ("self", "mat2"),
    "DotBackward0": ("self", "tensor"),
    "MseLossBackward0": ("self", "target"),
}
_DEFAULT_SLOTS = ("self", "other")

# The saved attribute of each constant an op holds (forms.held_constants: k, then k1).
HELD: dict[str, tuple[str, ...]] = {
    "PowBackward0": ("exponent",),
    "PowBackward2": ("self",),
    "ClampBackward1": ("min", "max"),
}

# A constant vector with more numbers than this (or any matrix) reads as a name,
# its value in ``where``.
MAX_SHOWN_CONSTANT = 3


def read_saved(fn: Any, name: str) -> Any:
    """The node's ``_saved_<name>``, or None where it has none (or it is None)."""
    try:
        return getattr(fn, f"_saved_{name}")
    except (AttributeError, RuntimeError):
        return None


def slot_names(fn: Any) -> tuple[str, str]:
    return SLOTS.get(op_name(fn), _DEFAULT_SLOTS)


def recovered_values(fns: list[Any], known: dict[Any, Any]) -> dict[Any, Any]:
    """The forward value of each op node that can be read back from saved tensors: its
    own ``_saved_result``, or what a node of a known class saved of it as an input.
    ``known`` (the values a capture recorded) wins."""
    values: dict[Any, Any] = {}
    for fn in fns:
        if hasattr(fn, "variable"):
            continue
        own = read_saved(fn, "result")
        if isinstance(own, torch.Tensor) and op_name(fn) in KNOWN:
            values.setdefault(fn, own)
        if op_name(fn) not in KNOWN:
            continue
        for (nf, _), slot in zip(fn.next_functions, slot_names(fn), strict=False):
            if nf is None or hasattr(nf, "variable"):
                continue
            value = read_saved(fn, slot)
            if isinstance(value, torch.Tensor):
                values.setdefault(nf, value)
    values.update(known)
    return values


def constant_operand(value: Any, name: str) -> Operand:
    """A constant input or held number as a formula shows it: the number itself
    (``5``, ``0.1``, ``−2``), a short vector's entries, or any other tensor as ``name``
    (its name in params, else its slot: ``other``, ``target``) with its value defined
    beside the formula."""
    data = numbers(value)
    if np.ndim(data) == 0:
        v = float(data)
        if isinstance(value, torch.Tensor) and value.dtype == torch.float32:
            v = float(str(np.float32(v)))  # the float32 number as it was typed: 0.1
        exact = sympy.Integer(int(v)) if v.is_integer() and abs(v) < 1e15 else sympy.Float(v)
        text = show_number(exact)
        return Operand(text, PRECEDENCE["unary"] if v < 0 else ATOM, data, exact=exact)
    if np.ndim(data) == 1 and np.size(data) <= MAX_SHOWN_CONSTANT:
        return Operand(format_value(as_value(data)).replace("-", "−"), ATOM, data)
    return Operand(name, ATOM, data, defined=(name, as_value(data)))


class SavedOperands:
    """Everything local.rules needs about a node's operands, read from its saved tensors
    (autograd_playground.core.trace.steps.Operands)."""

    def __init__(self, leaf_names: dict[Any, str], values: dict[Any, Any],
                 tensor_names: dict[int, str], labels: Mapping[Any, Any] | None = None):
        self.leaf_names = leaf_names  # AccumulateGrad node -> the leaf's name
        self.values = values  # op node -> its forward value, where known
        self.tensor_names = tensor_names  # id(tensor) -> its name in params
        self.labels = labels or {}  # node -> labels.Label: its text and precedence

    def knows(self, fn: Any) -> bool:
        """Only the classes the language's ops make have rules (forms.KNOWN)."""
        return op_name(fn) in KNOWN

    def label(self, fn: Any) -> str:
        """How an input reads in a formula: its label (labels.graph_labels), else a leaf's
        name or its node's class name."""
        label = self.labels.get(fn)
        return label.text if label is not None else self.leaf_names.get(fn) or op_name(fn)

    def operand(self, nf: Any) -> Operand:
        label = self.labels.get(nf)
        precedence = label.precedence if label is not None else ATOM
        if hasattr(nf, "variable"):
            return Operand(self.label(nf), precedence, numbers(nf.variable))
        return Operand(self.label(nf), precedence, numbers(self.values.get(nf)))

    def slot_constants(self, fn: Any) -> dict[int, Operand]:
        """The inputs without a node (``5`` in ``5*x``), by their slot."""
        out = {}
        for slot, ((nf, _), attr) in enumerate(zip(fn.next_functions, slot_names(fn), strict=False)):
            value = read_saved(fn, attr) if nf is None else None
            if value is not None:
                named = self.tensor_names.get(id(value)) if isinstance(value, torch.Tensor) else None
                out[slot] = constant_operand(value, named or attr)
        return out

    def held(self, fn: Any) -> tuple[Operand, ...]:
        """The constants the op holds (forms.held_constants: k, k1), from what it saved."""
        values = ((read_saved(fn, attr), attr) for attr in HELD.get(op_name(fn), ()))
        return tuple(constant_operand(v, attr) for v, attr in values if v is not None)

    def facts(self, fn: Any, arrived: Any, sent: tuple, torch_local: tuple) -> local.NodeFacts:
        inputs = tuple(self.operand(nf) if nf is not None else None for nf, _ in fn.next_functions)
        slots = self.slot_constants(fn)
        # The operands as the tensor rules name them, A and B, in slot order (A @ B).
        texts = tuple(
            i.text if i is not None else (slots[n].text if n in slots else "AB"[n])
            for n, i in enumerate((*inputs, None, None)[:2])
        )
        return local.NodeFacts(
            name=op_name(fn),
            owner=None,
            inputs=inputs,
            constants=(*(slots[n] for n in sorted(slots)), *self.held(fn)),
            arrived=numbers(arrived),
            sent=tuple(numbers(g) for g in sent),
            torch_local=torch_local,
            saved=saved_for_rules(fn),
            texts=(texts[0], texts[1]),
        )
