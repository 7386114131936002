"""Second order and accumulation: what create_graph=True and a second backward() show.

:func:`second_order` computes dy/dx with ``create_graph=True``, then d²y/dx²
for each number of each variable (the Hessian's diagonal, within a bound), and
records the gradient computation's own graph for a single-number variable, so
that the page can draw it and step through its backward pass like y's.
:func:`accumulation` shows ``x.grad`` after one ``backward()`` and after a
second one without ``zero_grad()``: PyTorch adds, it does not replace.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from ..language.rules import N_, Limits, output_name
from ..language.tree import Parsed
from ..result import Value
from ..trace.graph import evaluate, make_inputs
from ..trace.model import Trace, to_value
from ..trace.recorder import record
from .capture import Capture
from .gradient_graph import explained

# Second order: at most this many numbers per variable get their d²y/dx².
DIAGONAL_MAX_NUMBERS = 100

SECOND_NO_GRAPH = N_(
    "dy/d{name} does not depend on any variable, so PyTorch builds no graph for it."
)
SECOND_TOO_LARGE = N_(
    "The graph of the gradient computation has {count} nodes, more than the {limit} that "
    "can be drawn."
)
SECOND_TENSOR = N_(
    "The graph of the gradient computation is shown for single-number variables only."
)


@dataclass(frozen=True)
class SecondOrder:
    """d²y/dx² per variable, and the trace of dy/dx's own graph for one of them."""

    second: dict[str, Any]  # name -> value (the Hessian's diagonal), None past the bound
    first: dict[str, Any]  # name -> dy/dx, as create_graph=True computed it
    trace: Trace | None  # the graph whose backward() gives d²y/dx² for ``variable``
    variable: str | None
    note: tuple[str, dict[str, Any]] | None  # why there is no graph, as template and params
    # d²y/dx² per variable as a formula beside its value (calculus.derivatives' fields),
    # for a function of single numbers; empty where dy/dx has no formula.
    formulas: tuple[dict[str, Any], ...] = ()


def second_order(
    parsed: Parsed, inputs: dict[str, Any], requires_grad: dict[str, bool] | None, limits: Limits
) -> SecondOrder:
    """``torch.autograd.grad(y, x, create_graph=True)``, then the gradient of each number of it."""
    with torch.enable_grad():
        tensors = make_inputs(parsed, inputs, requires_grad, limits)
        leaves = [(name, t) for name, t in tensors.items() if t.requires_grad]
        # Every op, y's and its backward formulas': the gradient's graph holds both.
        with Capture() as capture:
            y = evaluate(parsed, tensors, limits)
            grads = torch.autograd.grad(
                y, [t for _, t in leaves], create_graph=True, allow_unused=True
            )
        made = capture.made()
        second: dict[str, Any] = {}
        first: dict[str, Any] = {}
        chosen = None
        for (name, t), g in zip(leaves, grads, strict=False):
            g = torch.zeros_like(t) if g is None else g
            first[name] = to_value(g)
            if t.numel() > DIAGONAL_MAX_NUMBERS:
                second[name] = None
                continue
            flat = g.reshape(-1)
            diagonal = torch.zeros(t.numel())
            if g.grad_fn is not None:
                for i in range(t.numel()):
                    (h,) = torch.autograd.grad(flat[i], t, retain_graph=True, allow_unused=True)
                    if h is not None:
                        diagonal[i] = h.reshape(-1)[i]
            second[name] = to_value(diagonal.reshape(t.shape))
            if chosen is None and not t.shape:
                chosen = (name, g)
        if chosen is None:
            first_name = leaves[0][0] if leaves else "x"
            note = (SECOND_TENSOR, {}) if leaves and tensors[first_name].shape else (
                SECOND_NO_GRAPH, {"name": first_name})
            return SecondOrder(second, first, None, None, note, _formulas(parsed, inputs, second))
        name, g = chosen
        if g.grad_fn is None:
            return SecondOrder(second, first, None, name, (SECOND_NO_GRAPH, {"name": name}),
                               _formulas(parsed, inputs, second))
        # The gradient's graph, traced and stepped like y's: backward() of dy/dx.
        gradient_trace = explained(record(parsed, tensors, [], g), parsed, made)
        output = output_name(tensors)
        gradient_trace = replace(gradient_trace, output_label=f"d{output}/d{name}")
        if len(gradient_trace.nodes) > limits.max_graph_nodes:
            return SecondOrder(second, first, None, name, (
                SECOND_TOO_LARGE,
                {"count": len(gradient_trace.nodes), "limit": limits.max_graph_nodes},
            ), _formulas(parsed, inputs, second))
        return SecondOrder(second, first, gradient_trace, name, None,
                           _formulas(parsed, inputs, second))


def _formulas(parsed: Parsed, inputs: dict[str, Any], second: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """d²y/dx² for each single-number variable: dy/dx's formula (calculus.forms, from the
    checked tree) differentiated again, simplified within the same bounds, evaluated at the
    inputs and checked against PyTorch's number by the one agreement rule."""
    import sympy

    from ..trace.symbolic import plain_corners, symbol
    from . import calculus

    shapes = {name: tuple(torch.as_tensor(v).shape) for name, v in inputs.items()}
    names = tuple(n for n, v in second.items() if v is not None and not shapes.get(n))
    if not names or not calculus.scalar_only(parsed, shapes) or \
            calculus._size(parsed) > calculus.SYMBOLIC_MAX_NODES:
        return ()
    values = {n: float(torch.as_tensor(v, dtype=torch.float64)) for n, v in inputs.items()}
    out = []
    try:
        firsts = calculus.forms(parsed, names)
        for first in firsts:
            raw = plain_corners(sympy.diff(first.expr, symbol(first.variable)))
            if raw.has(sympy.zoo, sympy.nan, sympy.DiracDelta):
                continue  # undefined everywhere, or a spike at a corner: no formula helps
            shown, simplified = calculus.simplest(raw)
            form = calculus.Form(first.variable, sympy.sstr(shown), calculus.mathml(shown),
                                 simplified, raw)
            out.append(calculus._compared(form, values, second[first.variable]))
    except (ValueError, TypeError, KeyError):  # sympy refuses Max(zoo, x); no numeric form
        return ()
    return tuple(d for d in out if d["text"])


# --- accumulation -----------------------------------------------------------------


def accumulation(
    parsed: Parsed, inputs: dict[str, Any], requires_grad: dict[str, bool] | None, limits: Limits
) -> dict[str, Any]:
    """``x.grad`` after ``y.backward()``, and after a second one without ``zero_grad()``."""
    with torch.enable_grad():
        tensors = make_inputs(parsed, inputs, requires_grad, limits)
        y = evaluate(parsed, tensors, limits)
        leaves = {name: t for name, t in tensors.items() if t.requires_grad}
        y.backward(retain_graph=True)
        once = _grads(leaves)
        y.backward()
        twice = _grads(leaves)
    return {"once": once, "twice": twice}


def _grads(leaves: dict[str, torch.Tensor]) -> dict[str, Value | None]:
    """Each leaf's ``.grad``; None, as PyTorch leaves it, where the output does not reach it."""
    return {name: None if t.grad is None else to_value(t.grad) for name, t in leaves.items()}
