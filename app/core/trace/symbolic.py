"""The checked tree as sympy objects, and sympy objects as numbers.

:func:`to_sympy` builds a sympy expression from the nodes of a checked tree
(autograd_playground.core.language.tree), one node at a time, never from text: no ``sympify``, no
``parse_expr``, no ``lambdify`` of strings. Each variable becomes one
``Symbol(name, real=True)``; a number becomes an exact sympy number where
that is sensible (``0.25`` is ``1/4``). Tensor operations have no scalar
form and raise :class:`NotScalar`.

:func:`evaluate` computes a sympy expression built this way with numpy in
float64, with IEEE arithmetic (``log(0)`` is ``-inf``, ``log(-1)`` is
``nan``), as PyTorch computes; it walks the sympy tree itself.

Both walk with an explicit stack: a tree may be as deep as Limits.max_depth.
This module is the app's own; the tests' oracle (tests/oracle.py) is separate.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from ..language.rules import TENSOR_ONLY
from ..language.tree import (
    BinOp,
    Call,
    Expr,
    ListConst,
    Num,
    Unary,
    Var,
    children,
    post_order,
)


class NotScalar(ValueError):
    """The tree holds a tensor operation (a list, ``@``, or a tensor variable)."""

    def __init__(self, what: str, start: int | None = None, end: int | None = None):
        super().__init__(f"{what} has no scalar symbolic form")
        self.what = what
        self.start = start
        self.end = end


def symbol(name: str) -> sympy.Symbol:
    """The symbol of a variable: real, so that sympy simplifies as a student expects."""
    return sympy.Symbol(name, real=True)


def number(value: int | float) -> sympy.Expr:
    """A number as an exact sympy number: ints exactly, floats by their shortest decimal.

    ``0.25`` is ``1/4`` and ``0.1`` is ``1/10`` (what the student typed, not the
    nearest binary float); a float too long to be a short decimal stays a Float.
    """
    if isinstance(value, bool):  # pragma: no cover - the parser never makes one
        value = int(value)
    if isinstance(value, int):
        return sympy.Integer(value)
    if not math.isfinite(value):
        return sympy.Float(value)
    if value.is_integer():
        return sympy.Integer(int(value))
    exact = Fraction(repr(value))  # the shortest decimal that reads back as value
    if exact.denominator > 10**12:
        return sympy.Float(value)
    return sympy.Rational(exact.numerator, exact.denominator)


class Sigmoid(sympy.Function):
    """σ(z) = 1/(1 + e^(−z)) as one function, whose derivative sympy writes σ(z)·(1 − σ(z)),
    as the lesson does (autograd_playground.core.trace.local); :func:`to_sympy` writes the exponential form."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        s = Sigmoid(self.args[0])
        return s * (1 - s)


class Relu(sympy.Function):
    """max(0, z) as one function: its derivative is 1 where z > 0 and, as PyTorch picks,
    0 at z = 0 (sympy's Heaviside with the value 0 there)."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.Heaviside(self.args[0], 0)


class Clamp(sympy.Function):
    """clamp(z, low, high) as one function: its derivative in z is 1 from low to high,
    bounds included, as PyTorch picks at a bound (sympy's Heaviside with the value 1 there),
    and 0 outside. :func:`to_sympy` writes Min(Max(z, low), high)."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        z, low, high = self.args
        if argindex != 1:  # pragma: no cover - the bounds are numbers, never in the graph
            raise sympy.ArgumentIndexError(self, argindex)
        return sympy.Heaviside(z - low, 1) * sympy.Heaviside(high - z, 1)


def sigmoid(z: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-z))


def relu(z: sympy.Expr) -> sympy.Expr:
    return sympy.Max(0, z)


# Each function of the language, as sympy builds it. language.FUNCTIONS decides
# what is allowed; graph.TORCH_FUNCTIONS what runs in torch; this what it means.
SYMPY_FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "abs": sympy.Abs,
    "tanh": sympy.tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "pow": sympy.Pow,
    # A scalar sums and averages to itself (torch.sum of a 0-d tensor).
    "sum": lambda z: z,
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
    "mse": lambda a, b: (a - b) ** 2,  # the mean of one squared error
}

SYMPY_BINARY: dict[str, Callable[[Any, Any], sympy.Expr]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": sympy.Pow,
}

SYMPY_UNARY: dict[str, Callable[[Any], sympy.Expr]] = {
    "-": lambda a: -a,
    "+": lambda a: a,
}


# The language's named constants, as sympy's exact ones.
_CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}


# relu and clamp as one function each, whose derivatives take PyTorch's values at the
# corners (to_sympy's ``corners``); Max and Min already split a tie evenly, as PyTorch does.
_CORNERED: dict[str, Callable[..., sympy.Expr]] = {"relu": Relu, "clamp": Clamp}


def plain_corners(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with Relu and Clamp written as Max and Min, as a student reads them."""
    return expr.replace(Relu, relu).replace(Clamp, SYMPY_FUNCTIONS["clamp"])


def to_sympy(
    tree: Expr, shapes: Mapping[str, tuple[int, ...]] | None = None, corners: bool = False
) -> sympy.Expr:
    """The scalar function ``tree`` as a sympy expression.

    ``shapes`` gives each variable's shape where known; a variable with a
    non-empty shape, a list literal or ``@`` raises :class:`NotScalar`.
    Without ``shapes`` every variable is taken to be a single number. With ``corners``,
    relu and clamp are Relu and Clamp, which differentiate to PyTorch's subgradients.
    """
    shapes = shapes or {}
    done: dict[int, sympy.Expr] = {}
    for node in post_order(tree):
        args = [done[id(k)] for k in children(node)]
        if corners and isinstance(node, Call) and node.func in _CORNERED:
            done[id(node)] = _CORNERED[node.func](*args)
        else:
            done[id(node)] = _one(node, args, shapes)
    return done[id(tree)]


def _one(node: Expr, args: list[sympy.Expr], shapes: Mapping[str, tuple[int, ...]]) -> sympy.Expr:
    if isinstance(node, Num):
        return _CONSTANTS[node.name] if node.name in _CONSTANTS else number(node.value)
    if isinstance(node, Var):
        if shapes.get(node.name, ()):
            raise NotScalar(f"the tensor variable {node.name}", node.start, node.end)
        return symbol(node.name)
    if isinstance(node, ListConst):
        raise NotScalar("a list", node.start, node.end)
    if isinstance(node, Unary):
        return SYMPY_UNARY[node.op](args[0])
    if isinstance(node, BinOp):
        if node.op not in SYMPY_BINARY:
            raise NotScalar(f"'{node.op}'", node.start, node.end)
        return SYMPY_BINARY[node.op](*args)
    if isinstance(node, Call):
        if node.func in TENSOR_ONLY:
            raise NotScalar(f"{node.func}", node.start, node.end)
        return SYMPY_FUNCTIONS[node.func](*args)
    raise TypeError(f"not a tree node: {type(node).__name__}")  # pragma: no cover


def is_scalar(tree: Expr, shapes: Mapping[str, tuple[int, ...]] | None = None) -> bool:
    """Whether :func:`to_sympy` can build ``tree`` (no list, no ``@``, no tensor variable)."""
    shapes = shapes or {}
    for node in post_order(tree):
        if isinstance(node, ListConst) or (isinstance(node, BinOp) and node.op == "@"):
            return False
        if isinstance(node, Var) and shapes.get(node.name, ()):
            return False
        if isinstance(node, Call) and node.func in TENSOR_ONLY:
            return False
    return True


# --- numbers from a sympy expression ---------------------------------------


def _sympy_post_order(expr: sympy.Basic) -> Iterator[sympy.Basic]:
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, done = stack.pop()
        if node.args and not done:
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(node.args))
            continue
        yield node


def _heaviside(x: Any, at_zero: Any = 0.5) -> Any:
    return np.where(x > 0, 1.0, np.where(x < 0, 0.0, at_zero))


def _power(base: Any, exponent: Any) -> Any:
    return np.power(np.asarray(base, dtype=np.float64), exponent)


# sympy's classes, as numpy computes them.
NUMPY_OF: dict[type, Callable[..., Any]] = {
    sympy.sin: np.sin,
    sympy.cos: np.cos,
    sympy.tan: np.tan,
    sympy.exp: np.exp,
    sympy.log: np.log,
    sympy.Abs: np.abs,
    sympy.tanh: np.tanh,
    sympy.sign: np.sign,
    sympy.Heaviside: _heaviside,
    Sigmoid: lambda z: 1.0 / (1.0 + np.exp(-z)),
    Relu: lambda z: np.maximum(z, 0.0),
    Clamp: np.clip,
}


def evaluate(expr: sympy.Basic, values: Mapping[sympy.Symbol, Any]) -> Any:
    """``expr`` computed with numpy float64 at ``values`` (numbers or arrays, which broadcast).

    IEEE arithmetic throughout, as in PyTorch: a division by zero is ``inf``,
    ``log(-1)`` is ``nan``; nothing raises. A symbol without a value raises KeyError.
    The walk over sympy's tree is done once per expression (:func:`compiled`).
    """
    program = compiled(expr)
    done: list[Any] = []
    with np.errstate(all="ignore"):
        for kind, payload, args in program:
            if kind == "symbol":
                done.append(np.asarray(values[payload], dtype=np.float64))
            elif kind == "number":
                done.append(payload)
            else:
                done.append(payload(*(done[i] for i in args)))
    return np.asarray(done[-1], dtype=np.float64)


@functools.lru_cache(maxsize=4096)
def compiled(expr: sympy.Basic) -> tuple[tuple[str, Any, tuple[int, ...]], ...]:
    """``expr`` as straight-line steps (kind, payload, argument positions), in post-order:
    symbols to look up, numbers as float64, and numpy functions of earlier steps."""
    steps: list[tuple[str, Any, tuple[int, ...]]] = []
    position: dict[sympy.Basic, int] = {}
    for node in _sympy_post_order(expr):
        if node in position:
            continue
        args = tuple(position[a] for a in node.args)
        steps.append(_step(node, args))
        position[node] = len(steps) - 1
    return tuple(steps)


def _step(node: sympy.Basic, args: tuple[int, ...]) -> tuple[str, Any, tuple[int, ...]]:
    if isinstance(node, sympy.Symbol):
        return ("symbol", node, ())
    if node is sympy.zoo or node is sympy.oo:
        return ("number", np.float64(np.inf), ())
    if node is sympy.S.NegativeInfinity:
        return ("number", np.float64(-np.inf), ())
    if node is sympy.nan:
        return ("number", np.float64(np.nan), ())
    if node.is_Number or node is sympy.pi or node is sympy.E:
        return ("number", np.float64(float(node)), ())
    if isinstance(node, sympy.Add):
        return ("call", _add, args)
    if isinstance(node, sympy.Mul):
        return ("call", _multiply, args)
    if isinstance(node, sympy.Pow):
        if node.exp == -1:
            return ("call", _reciprocal, args[:1])
        if node.exp == sympy.S.Half:
            return ("call", np.sqrt, args[:1])
        return ("call", _power, args)
    if isinstance(node, sympy.Max):
        return ("call", _maximum, args)
    if isinstance(node, sympy.Min):
        return ("call", _minimum, args)
    func = NUMPY_OF.get(type(node))
    if func is None:
        raise TypeError(f"no numeric form for {type(node).__name__}")
    return ("call", func, args)


def _add(*terms: Any) -> Any:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _multiply(*factors: Any) -> Any:
    product = factors[0]
    for factor in factors[1:]:
        product = product * factor
    return product


def _reciprocal(x: Any) -> Any:
    return np.float64(1.0) / x


def _maximum(*items: Any) -> Any:
    out = items[0]
    for item in items[1:]:
        out = np.maximum(out, item)
    return out


def _minimum(*items: Any) -> Any:
    out = items[0]
    for item in items[1:]:
        out = np.minimum(out, item)
    return out
