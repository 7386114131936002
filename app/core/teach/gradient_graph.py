"""The gradient's own graph read like y's: every node named, every step's rule derived.

second_order records the graph of dy/dx, whose nodes PyTorch made while it ran
y's backward formulas with ``create_graph=True`` (a backward of a backward).
None of them stands for a part of the student's text, so the recorder can name
neither them nor their operands. :class:`Capture` watches the ops that the
gradient computation runs (a TorchDispatchMode: the backward formulas are C++
and reach Python only through the dispatcher), so that each node is known with
its arguments and its result (capture.py), and :func:`explained` then

- names each node: by the first-order graph's name where it computes one of y's
  values (``x**2``, a program's ``h``), else by its value as a formula in the
  variables (``15*x**2``);
- derives each step's rule with the first order's own machinery
  (trace.local.rules on the op's form from trace.forms), at the request's
  numbers, checked against PyTorch's by the one agreement rule.

A node whose op has no form here, or whose form does not give the number
PyTorch computed, keeps the recorder's rule: "PyTorch's own numbers".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
import torch

from ..language.tree import ATOM, PRECEDENCE, BinOp, Call, Parsed, Unary, post_order
from ..result import Node, Step
from ..trace import local
from ..trace.forms import FORMS, K1, K, P
from ..trace.model import Trace
from ..trace.numeric import close
from ..trace.printing import Operand, precedence, show_number
from ..trace.symbolic import evaluate, number, symbol, to_sympy
from .capture import Made

# A name longer than this, or a first-order tree larger than NAMES_MAX_NODES, is not
# worked out: a step shortens long names anyway, and sympy's work grows with size.
MAX_NAME = 64
NAMES_MAX_NODES = 80
MAX_NAME_OPS = 40

# Node classes of an op with a number where the form has a tensor: x*3 is mul(x, 3).
FORM_OF = {"MulBackward1": "MulBackward0", "DivBackward1": "DivBackward0",
           "AddBackward1": "AddBackward0", "SubBackward1": "SubBackward0"}
# A backward op in the gradient's graph, as a formula of its arguments (what arrived, the
# output it saved), to name its value; its rule is PyTorch's own (no form in trace.forms).
NAMED_ONLY = {
    "TanhBackwardBackward0": lambda: P[0] * (1 - P[1] ** 2),  # tanh_backward(g, tanh(x))
    "SigmoidBackwardBackward0": lambda: P[0] * P[1] * (1 - P[1]),  # sigmoid_backward(g, σ(x))
}
# The op's arguments in the order of the form's placeholders, where it is not p0, p1, k, k1.
ORDER = {"PowBackward2": ("k", "p0")}  # pow(2, x): the base first
_SYMBOLS = {s.name: s for s in (*P, K, K1)}
# sympy's names of functions, as the language spells them.
_FUNCTIONS = (("Sigmoid(", "sigmoid("), ("Relu(", "relu("), ("Clamp(", "clamp("),
              ("Abs(", "abs("), ("Max(", "maximum("), ("Min(", "minimum("))


@dataclass(frozen=True)
class _Op:
    """A node's op in terms of its form: which placeholder holds which input or number."""

    form: str  # the FORMS key
    inputs: dict[str, int]  # placeholder -> index among the node's inputs
    constants: dict[str, Any]  # placeholder -> number or array
    order: tuple[str, ...] = ("p0", "p1", "k", "k1")  # the op's arguments, by placeholder
    # False where the form gives PyTorch's number only once rounded to float32 (exp(100)
    # is inf): the node is named by its form, but its rule stays PyTorch's own numbers,
    # since operands that overflowed would make a false formula agree.
    exact: bool = True


def explained(trace: Trace, parsed: Parsed, made: dict[Any, Made]) -> Trace:
    """``trace`` (the gradient's graph) with its nodes named and its rules derived."""
    by_id = {trace.torch_ids[id(fn)]: m for fn, m in made.items() if id(fn) in trace.torch_ids}
    fns = {trace.torch_ids[id(fn)]: fn for fn in made if id(fn) in trace.torch_ids}
    nodes = {n.id: n for n in trace.nodes}
    names = _first_order_names(parsed)
    labels: dict[str, tuple[str, int] | None] = {}
    exprs = names.exprs
    ops: dict[str, _Op] = {}
    for node in _inputs_first(trace.nodes):
        if node.kind == "leaf":
            scalar = node.variable is not None and not node.shape
            exprs[node.id] = symbol(node.variable) if scalar and node.variable else None
            labels[node.id] = (node.variable, ATOM) if node.variable else None
            continue
        op = _op_of(node, by_id.get(node.id))
        if op is None:
            exprs[node.id], labels[node.id] = None, None
            continue
        ops[node.id] = op
        exprs[node.id] = _expr(op, node, exprs)
        labels[node.id] = _label(exprs[node.id], op, node, labels, names)
    named = tuple(
        dataclasses.replace(n, source=labels[n.id][0])  # type: ignore[index]
        if n.kind != "leaf" and labels.get(n.id) else n
        for n in trace.nodes
    )
    steps = tuple(
        _ruled(step, nodes[step.node], ops[step.node], labels, by_id[step.node], fns[step.node])
        if step.node in ops and ops[step.node].exact and ops[step.node].form in FORMS else step
        for step in trace.steps
    )
    return dataclasses.replace(trace, nodes=named, steps=steps)


def _inputs_first(nodes: tuple[Node, ...]) -> list[Node]:
    """The nodes in an order where every node comes after its inputs (explicit stack)."""
    by_id = {n.id: n for n in nodes}
    order: list[Node] = []
    seen: set[str] = set()
    for root in nodes:
        stack = [(root.id, False)]
        while stack:
            node_id, done = stack.pop()
            if done:
                order.append(by_id[node_id])
                continue
            if node_id in seen:
                continue
            seen.add(node_id)
            stack.append((node_id, True))
            stack.extend((i, False) for i in by_id[node_id].inputs if i is not None and i in by_id)
    return order


def _op_of(node: Node, made: Made | None) -> _Op | None:
    """The node's op as its form's placeholders, or None where no form fits it."""
    form = FORM_OF.get(node.name, node.name)
    if made is None or form not in FORMS and form not in NAMED_ONLY:
        return None
    present = {s.name for s in _form(form).free_symbols}
    order = ORDER.get(node.name, tuple(n for n in ("p0", "p1", "k", "k1") if n in present))
    args = made.args
    extra = list(args[len(order):]) + [v for k, v in made.kwargs.items() if k == "alpha"]
    if len(args) < len(order) or any(not (isinstance(v, (int, float)) and v == 1) for v in extra):
        return None
    if any(k != "alpha" for k in made.kwargs):
        return None
    positions = _positions(order, args, len(node.inputs))
    if positions is None:
        return None
    inputs: dict[str, int] = {}
    constants: dict[str, Any] = {}
    for placeholder, arg, index in zip(order, args, positions, strict=False):
        if index is not None and node.inputs[index] is not None:
            if placeholder != f"p{index}" or not isinstance(arg, torch.Tensor):
                return None  # the rule's input i is its form's p_i
            inputs[placeholder] = index
        elif isinstance(arg, torch.Tensor):
            constants[placeholder] = arg.detach().double().numpy()
        elif isinstance(arg, (int, float)) and not isinstance(arg, bool):
            constants[placeholder] = np.float64(arg)
        else:
            return None
    op = _Op(form, inputs, constants, order)
    agrees = _gives(op, made)
    return op if agrees else dataclasses.replace(op, exact=False) if agrees is None else None


def _input_value(made: Made, placeholder: str, order: tuple[str, ...] | None = None) -> np.ndarray:
    """The value of the argument in ``placeholder``'s place (the inputs come first)."""
    index = (order or ("p0", "p1", "k", "k1")).index(placeholder)
    return made.args[index].detach().double().numpy()


def _positions(order: tuple[str, ...], args: tuple[Any, ...], count: int) -> list[int | None] | None:
    """Each argument's index among the node's inputs (next_functions), None for a number
    the node holds. The tensors are its inputs (mul(x, 3) has one); where they are one too
    few, a number in an input's place is one as well (add(x, 1): PyTorch wraps the 1)."""
    tensors = [isinstance(a, torch.Tensor) for a in args[: len(order)]]
    if sum(tensors) == count:
        taken = tensors
    else:
        taken = [t or (p.startswith("p") and isinstance(a, (int, float)))
                 for t, p, a in zip(tensors, order, args, strict=False)]
        if sum(taken) != count:
            return None
    positions: list[int | None] = []
    for t in taken:
        positions.append(sum(1 for p in positions if p is not None) if t else None)
    return positions


def _form(name: str) -> sympy.Expr:
    return FORMS[name]() if name in FORMS else NAMED_ONLY[name]()


def _gives(op: _Op, made: Made) -> bool | None:
    """Whether the form at the op's own arguments gives the number PyTorch computed; None
    where it does only past float32's range (an argument or the result not finite, or equal
    only once rounded to float32): the arguments are float32 results, so there a formula
    would agree with PyTorch on an overflowed number, which the first order marks ✗."""
    values = {_SYMBOLS[p]: _input_value(made, p, op.order) for p in op.inputs}
    values.update({_SYMBOLS[p]: v for p, v in op.constants.items()})
    try:
        ours = evaluate(_form(op.form), values)
    except (KeyError, TypeError, ValueError):
        return False
    theirs = made.result.detach().double().numpy()
    finite = np.isfinite(theirs).all() and all(np.isfinite(v).all() for v in values.values())
    if close(ours, theirs):
        return True if finite else None
    with np.errstate(over="ignore", invalid="ignore"):  # exp(100) is inf in float32
        rounded = np.asarray(ours, dtype=np.float64).astype(np.float32)
    return None if close(rounded, theirs) else False


def _exact(value: Any) -> sympy.Expr | None:
    """A single number as sympy puts it in a formula: as float32 prints it (0.1, not
    0.100000001490116), exactly; None for a tensor or a number that is not finite."""
    data = np.asarray(value)
    if data.ndim or not np.isfinite(data):
        return None
    shortest = float(repr(float(np.float32(data))))
    return number(int(shortest) if shortest.is_integer() and abs(shortest) < 1e15 else shortest)


def _expr(op: _Op, node: Node, exprs: dict[str, sympy.Expr | None]) -> sympy.Expr | None:
    """The node's value as a formula in the variables, where every part of it has one."""
    at: dict[sympy.Symbol, sympy.Expr] = {}
    for placeholder, index in op.inputs.items():
        expr = exprs.get(node.inputs[index] or "")
        if expr is None:
            return None
        at[_SYMBOLS[placeholder]] = expr
    for placeholder, value in op.constants.items():
        exact = _exact(value)
        if exact is None:
            return None
        at[_SYMBOLS[placeholder]] = exact
    expr = _form(op.form).xreplace(at)
    return expr if sympy.count_ops(expr) <= MAX_NAME_OPS else None


def _label(
    expr: sympy.Expr | None, op: _Op, node: Node,
    labels: dict[str, tuple[str, int] | None], names: _Names,
) -> tuple[str, int] | None:
    """How the node reads: y's own name for its value, else its formula (15*x**2), with a
    program's names in it (2*h - 2*t). An op that gives back its input's value (x**1,
    1*x) reads as that op, not as the input."""
    if expr is None:
        return None
    same = any(expr == names.exprs.get(node.inputs[i] or "") for i in op.inputs.values())
    if expr.is_Atom or same:
        with sympy.evaluate(False):
            expr = _form(op.form).xreplace(
                {_SYMBOLS[p]: _exact(v) for p, v in op.constants.items()}
                | {_SYMBOLS[p]: _as_symbol(labels.get(node.inputs[i] or "")) for p, i in op.inputs.items()})
    elif expr in names.texts:
        return names.texts[expr]
    else:
        expr = expr.xreplace(names.symbols)
    text = sympy.sstr(expr)
    for theirs, ours in _FUNCTIONS:
        text = text.replace(theirs, ours)
    return (text, _precedence(expr)) if len(text) <= MAX_NAME and "?" not in text else None


def _as_symbol(label: tuple[str, int] | None) -> sympy.Symbol:
    """A label as a symbol that prints it, in brackets unless it binds as a name."""
    if label is None:
        return sympy.Symbol("?")
    return sympy.Symbol(label[0] if label[1] == ATOM else f"({label[0]})")


def _precedence(expr: sympy.Expr) -> int:
    """How tightly a formula's text binds, as the language's precedence says."""
    if expr.could_extract_minus_sign() or (expr.is_Number and expr < 0):
        return PRECEDENCE["unary"]
    if isinstance(expr, sympy.Add):
        return PRECEDENCE["+"]
    if isinstance(expr, sympy.Mul) or (expr.is_Rational and not expr.is_Integer):
        return PRECEDENCE["*"]
    if isinstance(expr, sympy.Pow):
        return PRECEDENCE["**"]
    return ATOM


@dataclass
class _Names:
    """How the first-order graph names y's values, by their formula in the variables."""

    texts: dict[sympy.Expr, tuple[str, int]]  # formula -> name or text as typed, precedence
    symbols: dict[sympy.Expr, sympy.Symbol]  # a program's named value -> its name
    exprs: dict[str, sympy.Expr | None]  # the gradient graph's node id -> its formula


def _first_order_names(parsed: Parsed) -> _Names:
    """Each of y's computed values as a formula -> how the first-order graph names it:
    a program's name (h), else the text as typed (x**2). Empty for tensors and large trees."""
    names = _Names({}, {}, {})
    ops = [n for n in post_order(parsed.tree) if isinstance(n, (BinOp, Unary, Call))]
    if len(ops) > NAMES_MAX_NODES:
        return names
    for node in ops:
        try:
            expr = to_sympy(node)
        except (ValueError, TypeError):  # a tensor, a list, @: no formula to match
            continue
        name = parsed.names.get(id(node))
        if name:
            names.symbols.setdefault(expr, sympy.Symbol(name))
        named = (name, ATOM) if name else (parsed.text[node.start : node.end], precedence(node))
        names.texts.setdefault(expr, named)
    return names


def _numbers(value: Any) -> np.ndarray | None:
    """A record's value as numpy float64 ("nan" and "inf" too); None stays None."""
    return None if value is None else np.asarray(value, dtype=np.float64)


def _ruled(
    step: Step, node: Node, op: _Op, labels: dict[str, tuple[str, int] | None],
    made: Made, fn: Any,
) -> Step:
    """``step`` with the rule of each input derived from the op's form (trace.local)."""
    slots = sorted(p for p in (*op.inputs, *op.constants) if p.startswith("p"))
    inputs: list[Operand | None] = [None] * max(len(slots), len(node.inputs))
    for placeholder, index in op.inputs.items():
        label = labels.get(node.inputs[index] or "")
        value = _input_value(made, placeholder, op.order)
        # No name: an operand without a value, so the rule gives PyTorch's own numbers.
        inputs[index] = Operand(label[0], label[1], value) if label else Operand("", ATOM, None)
    constants = tuple(
        _constant(op.constants[p]) for p in sorted(op.constants, key=lambda p: (p[0] != "p", p))
    )
    facts = local.NodeFacts(
        name=op.form,
        owner=None,
        inputs=tuple(inputs),
        constants=constants,
        arrived=_numbers(step.grad_outputs[0]) if len(step.grad_outputs) == 1 else None,
        sent=tuple(_numbers(g) for g in step.grad_inputs),
        torch_local=_pytorch_local(fn, step),
    )
    return dataclasses.replace(step, rules=local.rules(facts))


def _pytorch_local(fn: Any, step: Step) -> tuple[np.ndarray | None, ...]:
    """PyTorch's own local derivative per input, as the first order takes it (trace.steps):
    what was sent over the one finite, non-zero number that arrived; else the node called
    on ones (mul(x, 3)'s node is not a first-order class, so the recorder left it out)."""
    if any(t is not None for t in step.local_derivatives):
        return tuple(_numbers(t) for t in step.local_derivatives)
    arrived = _numbers(step.grad_outputs[0]) if len(step.grad_outputs) == 1 else None
    sent = [_numbers(g) for g in step.grad_inputs]
    if arrived is None:
        return tuple(None for _ in sent)
    if arrived.ndim == 0 and arrived != 0 and np.isfinite(arrived) and all(
            g is None or g.ndim == 0 for g in sent):
        return tuple(None if g is None else g / arrived for g in sent)
    try:
        with torch.no_grad():
            out = fn(torch.ones(arrived.shape))
    except RuntimeError:  # its saved values were freed: no number to check against
        return tuple(None for _ in sent)
    out = out if isinstance(out, tuple) else (out,)
    return tuple(None if o is None else o.detach().double().numpy() for o in out)


def _constant(value: Any) -> Operand:
    """A number of the op that is not in the graph: put in exactly where it is one number."""
    exact = _exact(value)
    if exact is None:
        return Operand(str(np.asarray(value).tolist()), ATOM, value)
    shown = show_number(exact)
    return Operand(shown, PRECEDENCE["unary"] if shown.startswith("−") else ATOM, value,
                   exact=exact)
