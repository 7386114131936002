"""Independent oracles for the trace tests: sympy and finite differences.

Both walk the checked tree (the frozen dataclasses of ``autograd_playground.core.language.tree``) themselves.
Neither imports torch nor ``autograd_playground.core.trace.graph``, and neither reads the student's text:
no ``sympify`` of text anywhere.

- :func:`to_sympy` turns a tree of scalar operations into a sympy expression,
  so the exact derivative comes from sympy's ``diff``.
- :func:`evaluate` computes the function with numpy in float64 and
  :func:`finite_difference_gradients` differentiates it by central differences;
  these also handle tensors (lists, ``@``, ``sum``, ``mean``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from autograd_playground.core.language.tree import (
    BinOp,
    Call,
    Expr,
    ListConst,
    Num,
    Unary,
    Var,
)


def _kids(node: Expr) -> tuple:
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args
    return ()


def _fold(tree: Expr, leaf: Callable[[Expr], Any], combine: Callable[[Expr, list], Any]) -> Any:
    """Post-order walk with an explicit stack (trees may be deep)."""
    done: dict[int, Any] = {}
    stack: list[tuple[Expr, bool]] = [(tree, False)]
    while stack:
        node, children_done = stack.pop()
        kids = _kids(node)
        if not kids:
            done[id(node)] = leaf(node)
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
            continue
        done[id(node)] = combine(node, [done[id(k)] for k in kids])
    return done[id(tree)]


# --- sympy ------------------------------------------------------------------


def symbol(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


def _sigmoid(z):
    return 1 / (1 + sympy.exp(-z))


def _relu(z):
    return sympy.Piecewise((z, z > 0), (0, True))


SYMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "tanh": sympy.tanh,
    "sigmoid": _sigmoid,
    "relu": _relu,
    "pow": sympy.Pow,
    "sum": lambda z: z,  # a scalar sums / averages to itself
    "mean": lambda z: z,
    # Of one number: its softmax is 1, log_softmax 0, logsumexp, max and min itself.
    "softmax": lambda z: sympy.Integer(1),
    "log_softmax": lambda z: sympy.Integer(0),
    "logsumexp": lambda z: z,
    "max": lambda z: z,
    "min": lambda z: z,
    "maximum": sympy.Max,
    "minimum": sympy.Min,
    "clamp": lambda z, low, high: sympy.Min(sympy.Max(z, low), high),
    "mse": lambda a, b: (a - b) ** 2,
}

SYMPY_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": sympy.Pow,
}


def to_sympy(tree: Expr) -> sympy.Expr:
    """The tree as a sympy expression; scalar operations only."""

    def leaf(node: Expr):
        if isinstance(node, Num):
            return sympy.Integer(node.value) if isinstance(node.value, int) else sympy.Float(node.value)
        if isinstance(node, Var):
            return symbol(node.name)
        raise NotImplementedError(f"the sympy oracle is scalar only: {type(node).__name__}")

    def combine(node: Expr, args: list):
        if isinstance(node, Unary):
            return -args[0] if node.op == "-" else args[0]
        if isinstance(node, BinOp):
            if node.op not in SYMPY_BINARY:
                raise NotImplementedError(f"the sympy oracle is scalar only: {node.op!r}")
            return SYMPY_BINARY[node.op](*args)
        return SYMPY_FUNCTIONS[node.func](*args)

    return _fold(tree, leaf, combine)


def sympy_value_and_gradients(
    tree: Expr, inputs: dict[str, float], wrt: list[str]
) -> tuple[float, dict[str, float]]:
    """Exact value and partial derivatives at ``inputs`` (as float64)."""
    f = to_sympy(tree)
    at = {symbol(name): sympy.Float(value) for name, value in inputs.items()}
    value = float(sympy.N(f.subs(at)))
    grads = {name: float(sympy.N(sympy.diff(f, symbol(name)).subs(at))) for name in wrt}
    return value, grads


# --- numpy and finite differences -------------------------------------------


def _logsumexp_np(z):
    if z.ndim == 0:
        return z
    top = np.max(z, axis=-1, keepdims=True)
    return np.squeeze(top, axis=-1) + np.log(np.sum(np.exp(z - top), axis=-1))


def _softmax_np(z):
    if z.ndim == 0:
        return np.ones_like(z)
    shifted = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


def _sigmoid_np(z):
    return 1.0 / (1.0 + np.exp(-z))


NUMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "tanh": np.tanh,
    "sigmoid": _sigmoid_np,
    "relu": lambda z: np.maximum(z, 0.0),
    "pow": np.power,
    "sum": np.sum,
    "mean": np.mean,
    "softmax": lambda z: _softmax_np(np.asarray(z)),
    "log_softmax": lambda z: np.log(_softmax_np(np.asarray(z))),
    "logsumexp": lambda z: _logsumexp_np(np.asarray(z)),
    "max": np.max,
    "min": np.min,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "clamp": np.clip,
    "mse": lambda a, b: np.mean((np.asarray(a) - np.asarray(b)) ** 2),
    "cross_entropy": lambda z, k: _logsumexp_np(np.asarray(z)) - np.asarray(z)[int(k)],
    "transpose": lambda w: np.swapaxes(w, -2, -1),
}

NUMPY_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "**": np.power,
    "@": np.matmul,
}


def evaluate(tree: Expr, inputs: dict[str, Any]) -> np.ndarray:
    """The function's value with numpy in float64."""
    values = {name: np.asarray(v, dtype=np.float64) for name, v in inputs.items()}

    def leaf(node: Expr):
        if isinstance(node, Num):
            return np.float64(node.value)
        if isinstance(node, Var):
            return values[node.name]
        if isinstance(node, ListConst):
            return np.asarray(node.value, dtype=np.float64)
        raise TypeError(type(node).__name__)  # pragma: no cover

    def combine(node: Expr, args: list):
        if isinstance(node, Unary):
            return -args[0] if node.op == "-" else +args[0]
        if isinstance(node, BinOp):
            return NUMPY_BINARY[node.op](*args)
        return NUMPY_FUNCTIONS[node.func](*args)

    with np.errstate(all="ignore"):
        return np.asarray(_fold(tree, leaf, combine), dtype=np.float64)


def finite_difference_gradients(
    tree: Expr, inputs: dict[str, Any], wrt: list[str], h: float = 1e-6
) -> dict[str, np.ndarray]:
    """d(scalar function)/d(each element of each variable in ``wrt``), central differences."""
    base = {name: np.array(v, dtype=np.float64) for name, v in inputs.items()}
    grads: dict[str, np.ndarray] = {}
    for name in wrt:
        x = base[name]
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            plus = {k: v.copy() for k, v in base.items()}
            minus = {k: v.copy() for k, v in base.items()}
            plus[name][index] += h
            minus[name][index] -= h
            up = float(evaluate(tree, plus))
            down = float(evaluate(tree, minus))
            grad[index] = (up - down) / (2 * h)
        grads[name] = grad
    return grads
