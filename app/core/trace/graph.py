"""The trace: checked expression tree -> real torch tensors -> what happened.

``trace()`` evaluates the tree op by op with torch, exactly as the same
function written as Python code would (constants stay Python numbers, so
``5*x**3`` builds ``MulBackward0`` over ``PowBackward0``). recorder.record then
walks the graph PyTorch built, hooks it, runs ``y.backward()`` and records
each backward step in the order the engine really ran it.

Imports torch and the expression module; nothing from the web layer.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import torch

from ..language.rules import ExprError, Limits
from ..language.tree import (
    BinOp,
    Call,
    Expr,
    ListConst,
    Num,
    Parsed,
    Unary,
    Var,
    children,
    post_order,
)
from ..language.values import check_value
from .model import Trace, shape_of
from .recorder import record

InputValue = int | float | list

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
    "softmax": lambda t: torch.softmax(t, dim=-1),
    "log_softmax": lambda t: torch.log_softmax(t, dim=-1),
    "logsumexp": lambda t: torch.logsumexp(t, dim=-1),
    "max": torch.max,
    "min": torch.min,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "clamp": torch.clamp,
    "mse": torch.nn.functional.mse_loss,
    "cross_entropy": torch.nn.functional.cross_entropy,
    "transpose": lambda t: torch.transpose(t, -2, -1),
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
        if node.func == "clamp":
            return self.clamp(node, *args)
        if node.func == "cross_entropy":
            return self.cross_entropy(node, *args)
        tensors = [a if isinstance(a, torch.Tensor) else torch.tensor(float(a)) for a in args]
        if node.func in ("maximum", "minimum"):
            self.check_shape(node, tensors[0], tensors[1])
        if node.func == "mse" and tensors[0].shape != tensors[1].shape:
            raise self.refuse(
                "mse needs a prediction and a target of the same shape in '{token}' (column "
                "{column}); they have shapes {left} and {right}.",
                node,
                left=list(tensors[0].shape),
                right=list(tensors[1].shape),
            )
        if node.func == "transpose" and tensors[0].dim() < 2:
            raise self.refuse(
                "transpose needs a matrix (two dimensions) in '{token}' at column {column}; "
                "it has shape {shape}.",
                node,
                shape=list(tensors[0].shape),
            )
        return TORCH_FUNCTIONS[node.func](*tensors)

    def clamp(self, node: Call, value: Any, low: Any, high: Any) -> Any:
        """clamp(x, low, high): the bounds are numbers, low at most high."""
        if isinstance(low, torch.Tensor) or isinstance(high, torch.Tensor):
            raise self.refuse(
                "The bounds of clamp in '{token}' (column {column}) must be numbers, not "
                "variables.",
                node,
            )
        if low > high:
            raise self.refuse(
                "clamp's low bound {low:g} is above its high bound {high:g} in '{token}' "
                "(column {column}).",
                node,
                low=low,
                high=high,
            )
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(float(value))
        return torch.clamp(value, low, high)

    def cross_entropy(self, node: Call, logits: Any, k: Any) -> Any:
        """cross_entropy(logits, k): a vector of logits and a class index without grad."""
        if not isinstance(logits, torch.Tensor) or logits.dim() != 1:
            raise self.refuse(
                "cross_entropy needs a vector of logits, one per class, in '{token}' (column "
                "{column}).",
                node,
            )
        if isinstance(k, torch.Tensor):
            if k.requires_grad or k.dim() != 0:
                raise self.refuse(
                    "The class index of cross_entropy in '{token}' (column {column}) must be "
                    "one number without requires_grad.",
                    node,
                )
            k = k.item()
        classes = logits.shape[0]
        if float(k) != int(k) or not 0 <= int(k) < classes:
            raise self.refuse(
                "The class index {k:g} of cross_entropy in '{token}' (column {column}) must be "
                "a whole number from 0 to {last}.",
                node,
                k=float(k),
                last=classes - 1,
            )
        return torch.nn.functional.cross_entropy(logits, torch.tensor(int(k)))

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
        a, b = shape_of(left), shape_of(right)
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
            try:
                meta = torch.matmul(torch.empty(a, device="meta"), torch.empty(b, device="meta"))
            except RuntimeError:
                # PyTorch's own sentence would stay English inside a German one.
                raise self.refuse(
                    "'@' at column {column} cannot multiply shape {left} by shape {right}: "
                    "the last size on the left must equal the first size on the right.",
                    node,
                    left=list(a),
                    right=list(b),
                ) from None
            shape = tuple(meta.shape)
        else:
            try:
                shape = tuple(torch.broadcast_shapes(a, b))
            except RuntimeError:
                raise self.refuse(
                    "'{token}' at column {column} combines shape {left} with shape {right}, "
                    "which do not fit: from the right, each pair of sizes must be equal, or one "
                    "of them 1.",
                    node,
                    left=list(a),
                    right=list(b),
                ) from None
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


def trace(
    parsed: Parsed,
    inputs: dict[str, InputValue],
    requires_grad: dict[str, bool] | None = None,
    limits: Limits = Limits(),
    retain: bool = False,
) -> Trace:
    """Build the graph of ``parsed`` with real tensors, run backward, record it all.

    ``retain``: call ``retain_grad()`` on a program's named intermediates first."""
    if not parsed.variables:
        raise ExprError(
            "The function has no variable, so there is nothing to differentiate; use one, "
            "such as x."
        )
    try:
        with torch.enable_grad():
            tensors = make_inputs(parsed, inputs, requires_grad, limits)
            evaluator = _Evaluator(parsed, tensors, limits)
            y = evaluator.run(parsed.tree)
            return record(parsed, tensors, evaluator.ops, y, retain)
    except ExprError as error:
        raise error.locate(parsed.text) from None


def evaluate(parsed: Parsed, tensors: dict[str, torch.Tensor], limits: Limits = Limits()) -> Any:
    """``parsed`` computed on ``tensors`` as trace does, without recording anything.

    For what builds the function again on its own tensors: a second backward,
    the second order, the plot's grid, each step of a training run.
    """
    return _Evaluator(parsed, tensors, limits).run(parsed.tree)
