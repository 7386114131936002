"""The trace: checked expression tree -> real torch tensors -> what happened.

``trace()`` evaluates the tree op by op with torch, exactly as the same
function written as Python code would (constants stay Python numbers, so
``5*x**3`` builds ``MulBackward0`` over ``PowBackward0``). It then walks the
graph PyTorch built, gives every node a stable id (``n0`` is the output's
``grad_fn``), hooks every node, runs ``y.backward()`` and records each backward
step in the order the engine really ran it.

Imports torch and the expression module; nothing from the web layer.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Union

import torch

from app.core.values import Value, check_value
from app.core.expr import (
    BinOp,
    Call,
    Expr,
    ExprError,
    Limits,
    ListConst,
    Num,
    Parsed,
    Unary,
    Var,
    children,
    post_order,
)

InputValue = Union[int, float, list]

# What each function of the language does in torch. expr.FUNCTIONS decides
# what is allowed; this table decides what runs.
TORCH_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "pow": torch.pow,
    "sum": torch.sum,
    "mean": torch.mean,
}

BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "@": operator.matmul,
}

UNARY: dict[str, Callable[[Any], Any]] = {"-": operator.neg, "+": operator.pos}


# --- the data model ---------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    name: str
    value: Value
    shape: tuple[int, ...]
    requires_grad: bool
    grad: Value | None


@dataclass(frozen=True)
class Node:
    """One node of the backward graph (one ``grad_fn``)."""

    id: str
    name: str  # the torch class name: MulBackward0, AccumulateGrad, ...
    kind: str  # "output", "op" or "leaf"
    inputs: tuple[str | None, ...]  # one id per next_functions entry
    value: Value | None  # forward value of the tensor this node belongs to
    shape: tuple[int, ...]
    variable: str | None = None  # for leaves
    saved: dict[str, Value] = field(default_factory=dict)
    source: str | None = None  # the part of the function that made it
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Contribution:
    """A gradient a leaf received along one path: ``node`` sent ``value``."""

    node: str
    value: Value


@dataclass(frozen=True)
class Step:
    """One node run by the backward engine, in the order it ran."""

    index: int  # 1-based, as a student counts
    node: str
    name: str
    grad_outputs: tuple[Value | None, ...]  # what arrived
    grad_inputs: tuple[Value | None, ...]  # what was sent on, one per input
    targets: tuple[str | None, ...]  # where each grad_input went
    local_derivatives: tuple[Value | None, ...]  # grad_input / grad_output
    accumulated: Value | None = None  # for a leaf: what went into .grad
    contributions: tuple[Contribution, ...] = ()  # for a leaf: from each path


@dataclass(frozen=True)
class ForwardOp:
    """One operation of the forward pass, in the order Python evaluated it."""

    index: int
    source: str
    value: Value
    shape: tuple[int, ...]
    node: str | None  # the graph node it made, None for constant arithmetic
    start: int
    end: int


@dataclass(frozen=True)
class Output:
    value: Value
    repr: str
    shape: tuple[int, ...]


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


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if isinstance(x, torch.Tensor) else ()


# --- inputs -----------------------------------------------------------------


def check_input(name: str, value: Any, limits: Limits) -> tuple[int, ...]:
    """Check an input before it becomes a tensor (see values.check_value)."""
    return check_value(name, value, limits)


def make_inputs(
    parsed: Parsed,
    inputs: dict[str, InputValue],
    requires_grad: dict[str, bool] | None,
    limits: Limits,
) -> dict[str, torch.Tensor]:
    """One leaf tensor per variable, as ``torch.tensor(value, requires_grad=...)``."""
    requires_grad = requires_grad or {}
    tensors: dict[str, torch.Tensor] = {}
    missing = [name for name in parsed.variables if name not in inputs]
    if missing:
        raise ExprError(
            "The variable '{name}' has no value; give it one, for example {name} = 1.",
            {"name": missing[0]},
            *_first_use(parsed.tree, missing[0]),
        )
    for name in parsed.variables:
        check_input(name, inputs[name], limits)
        tensors[name] = torch.tensor(
            inputs[name], dtype=torch.float32, requires_grad=bool(requires_grad.get(name, True))
        )
    return tensors


def _first_use(tree: Expr, name: str) -> tuple[int | None, int | None]:
    uses = [(n.start, n.end) for n in post_order(tree) if isinstance(n, Var) and n.name == name]
    return min(uses) if uses else (None, None)


# --- forward ----------------------------------------------------------------


class _Evaluator:
    """Evaluates a checked tree with Python numbers and torch tensors."""

    def __init__(self, parsed: Parsed, tensors: dict[str, torch.Tensor], limits: Limits):
        self.text = parsed.text
        self.tensors = tensors
        self.limits = limits
        # (expression node, result) for every operation, in evaluation order.
        self.ops: list[tuple[Expr, Any]] = []

    def run(self, tree: Expr) -> Any:
        results: dict[int, Any] = {}
        for node in post_order(tree):
            kids = children(node)
            result = self.one(node, [results[id(k)] for k in kids])
            results[id(node)] = result
            if kids:
                self.ops.append((node, result))
        return results[id(tree)]

    def refuse(self, template: str, node: Expr, **params) -> ExprError:
        params.setdefault("token", self.text[node.start : node.end])
        return ExprError(template, params, node.start, node.end)

    def one(self, node: Expr, args: list[Any]) -> Any:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Var):
            return self.tensors[node.name]
        if isinstance(node, ListConst):
            return torch.tensor(node.value, dtype=torch.float32)
        try:
            if isinstance(node, Unary):
                result = UNARY[node.op](args[0])
            elif isinstance(node, BinOp):
                result = self.binary(node, args[0], args[1])
            else:
                result = self.call(node, args)
        except ExprError:
            raise
        except ZeroDivisionError:
            raise self.refuse("Division by zero in '{token}' at column {column}.", node) from None
        except OverflowError:
            raise self.refuse(
                "The number '{token}' at column {column} is too large.", node
            ) from None
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            raise self.refuse(
                "PyTorch cannot compute '{token}' at column {column}: {reason}",
                node,
                reason=_first_line(exc),
            ) from None
        return self.checked(node, result)

    def binary(self, node: BinOp, left: Any, right: Any) -> Any:
        if node.op == "**":
            self.check_exponent(node, right)
        if isinstance(left, torch.Tensor) or isinstance(right, torch.Tensor):
            self.check_shape(node, left, right, matmul=node.op == "@")
        return BINARY[node.op](left, right)

    def call(self, node: Call, args: list[Any]) -> Any:
        if node.func == "pow":
            base, exponent = args
            self.check_exponent(node, exponent)
            if not isinstance(base, torch.Tensor) and not isinstance(exponent, torch.Tensor):
                return base**exponent
            self.check_shape(node, base, exponent)
            return torch.pow(base, exponent)
        (arg,) = args
        if not isinstance(arg, torch.Tensor):
            arg = torch.tensor(float(arg))
        return TORCH_FUNCTIONS[node.func](arg)

    def check_exponent(self, node: Expr, exponent: Any) -> None:
        if isinstance(exponent, (int, float)) and abs(exponent) > self.limits.max_exponent:
            raise self.refuse(
                "The exponent in '{token}' at column {column} is too large; exponents may be "
                "at most {limit:g}.",
                node,
                limit=self.limits.max_exponent,
            )

    def check_shape(self, node: Expr, left: Any, right: Any, matmul: bool = False) -> None:
        """Refuse before computing when the result would be too big."""
        a, b = _shape(left), _shape(right)
        if not matmul and (a == b or not b):
            return self.check_size(node, a)
        if not matmul and not a:
            return self.check_size(node, b)
        if matmul:
            if not a or not b:
                raise self.refuse(
                    "'@' at column {column} needs vectors or matrices on both sides, not "
                    "single numbers.",
                    node,
                )
            meta = torch.matmul(torch.empty(a, device="meta"), torch.empty(b, device="meta"))
            shape = tuple(meta.shape)
        else:
            shape = tuple(torch.broadcast_shapes(a, b))
        self.check_size(node, shape)

    def check_size(self, node: Expr, shape: tuple[int, ...]) -> None:
        if math.prod(shape) > self.limits.max_elements or len(shape) > self.limits.max_dims:
            raise self.refuse(
                "'{token}' at column {column} would make a tensor of shape {shape}, larger "
                "than the limit of {limit} numbers.",
                node,
                shape=list(shape),
                limit=self.limits.max_elements,
            )

    def checked(self, node: Expr, result: Any) -> Any:
        if isinstance(result, complex):
            raise self.refuse(
                "'{token}' at column {column} has no real value (it would be a complex "
                "number).",
                node,
            )
        if isinstance(result, (int, float)):
            if isinstance(result, float) and math.isnan(result):
                raise self.refuse("'{token}' at column {column} is not a number.", node)
            # An int compares with the bound exactly; math.isfinite would first turn it
            # into a float, which overflows for 10000**100.
            finite = isinstance(result, int) or math.isfinite(result)
            if not finite or abs(result) > self.limits.max_constant:
                raise self.refuse(
                    "The constant '{token}' at column {column} is too large; constants may "
                    "be at most {limit:g}.",
                    node,
                    limit=self.limits.max_constant,
                )
        elif isinstance(result, torch.Tensor):
            self.check_size(node, tuple(result.shape))
        return result


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


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


def trace(
    parsed: Parsed,
    inputs: dict[str, InputValue],
    requires_grad: dict[str, bool] | None = None,
    limits: Limits = Limits(),
) -> Trace:
    """Build the graph of ``parsed`` with real tensors, run backward, record it all."""
    if not parsed.variables:
        raise ExprError(
            "The function has no variable, so there is nothing to differentiate; use one, "
            "such as x."
        )
    with torch.enable_grad():
        tensors = make_inputs(parsed, inputs, requires_grad, limits)
        evaluator = _Evaluator(parsed, tensors, limits)
        y = evaluator.run(parsed.tree)
        return _record(parsed, tensors, evaluator.ops, y)


def _record(
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
    output = Output(value=to_value(y), repr=str(y), shape=_shape(y))

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
                Node(ids[fn], _op_name(fn), "leaf", inputs, to_value(var), _shape(var),
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
                _shape(result),
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
            shape=_shape(r),
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
            shape=_shape(t),
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
