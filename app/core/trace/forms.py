"""Each element-wise op's symbolic form, and the rule texts of the tensor ops.

The backward pass of every node the language's ops make is explained from one
of these tables, keyed by PyTorch's node class: :data:`FORMS` holds an
element-wise op's form as a sympy function of its inputs (``p0``, ``p1``) and
the constants it holds (``k``, ``k1``); :func:`derived` differentiates it, so
no local derivative is typed by hand. :data:`TENSOR_RULES` holds the rule a
tensor op applies to the gradient that arrived, as text; :data:`RESHAPES` the
nodes that only give the gradient back its input's shape. :data:`KNOWN` is all
of them, for the tests that trace every op.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sympy

from ..result import AT_INDEX_K, AT_LARGEST, AT_SMALLEST, SUM_OVER_COPIES
from .symbolic import Clamp, Relu, Sigmoid

# The inputs of an op in next_functions order: p0, p1. ``k`` is a constant the
# op holds that is not an input (an exponent, the base of 2**x, the 2 of 2 - x).
P = (sympy.Symbol("p0", real=True), sympy.Symbol("p1", real=True))
K = sympy.Symbol("k", real=True)
K1 = sympy.Symbol("k1", real=True)  # a second constant: clamp's high bound

# Each element-wise node class PyTorch makes for the language's ops, as a
# sympy function of its inputs. The local derivative is sympy's diff of it.
FORMS: dict[str, Callable[[], sympy.Expr]] = {
    "AddBackward0": lambda: P[0] + P[1],
    "SubBackward0": lambda: P[0] - P[1],
    "RsubBackward1": lambda: K - P[0],  # 2 - x: torch.rsub(x, 2)
    "MulBackward0": lambda: P[0] * P[1],
    "DivBackward0": lambda: P[0] / P[1],
    "ReciprocalBackward0": lambda: 1 / P[0],  # 2/x is 2·reciprocal(x)
    "NegBackward0": lambda: -P[0],
    "PowBackward0": lambda: P[0] ** K,  # x**3: a constant exponent
    "PowBackward1": lambda: P[0] ** P[1],  # x**y: both tensors
    "PowBackward2": lambda: K ** P[0],  # 2**x: a constant base
    "SinBackward0": lambda: sympy.sin(P[0]),
    "CosBackward0": lambda: sympy.cos(P[0]),
    "TanBackward0": lambda: sympy.tan(P[0]),
    "ExpBackward0": lambda: sympy.exp(P[0]),
    "LogBackward0": lambda: sympy.log(P[0]),
    "SqrtBackward0": lambda: sympy.sqrt(P[0]),
    "AbsBackward0": lambda: sympy.Abs(P[0]),
    "TanhBackward0": lambda: sympy.tanh(P[0]),
    "SigmoidBackward0": lambda: Sigmoid(P[0]),
    "ReluBackward0": lambda: Relu(P[0]),
    # sympy's Max and Min differentiate to a step that is 1/2 at a tie: PyTorch's even split.
    "MaximumBackward0": lambda: sympy.Max(P[0], P[1]),
    "MinimumBackward0": lambda: sympy.Min(P[0], P[1]),
    "ClampBackward1": lambda: Clamp(P[0], K, K1),  # clamp(x, low, high), numbers for the bounds
}

# Node classes whose rule is not a local derivative but a tensor rule applied
# to what arrived: (rule name, formula per input). G is what arrived; {A} and {B}
# are the operands as typed, in parentheses unless a name, and {a} and {b} the
# same inside a difference, where fewer are needed (local._tensor_rule).
TENSOR_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "SumBackward0": ("sum", ("g·1",)),
    "MeanBackward0": ("mean", ("g·1/n",)),
    "DotBackward0": ("dot", ("g·{B}", "g·{A}")),
    "MvBackward0": ("mv", ("G·{B}ᵀ", "{A}ᵀ·G")),
    "MmBackward0": ("mm", ("G·{B}ᵀ", "{A}ᵀ·G")),
    "BmmBackward0": ("bmm", ("G·{B}ᵀ", "{A}ᵀ·G")),
    "ExpandBackward0": ("expand", (SUM_OVER_COPIES,)),
    "TransposeBackward0": ("transpose", ("Gᵀ",)),
    # The lesson's tensor ops, over the last dimension (s is the softmax of the input).
    "SoftmaxBackward0": ("softmax", ("s ⊙ (g − g·s)",)),
    "LogSoftmaxBackward0": ("log_softmax", ("g − softmax({A})·sum(g)",)),
    "LogsumexpBackward0": ("logsumexp", ("g·softmax({A})",)),
    "MaxBackward1": ("max", (AT_LARGEST,)),
    "MinBackward1": ("min", (AT_SMALLEST,)),
    "MseLossBackward0": ("mse", ("2·({a} − {b})/n·g", "−2·({a} − {b})/n·g")),
    "NllLossBackward0": ("nll", (AT_INDEX_K,)),
}

# Nodes that only reshape (matmul adds them around 1-d and batched operands):
# the gradient goes back with the input's shape, the numbers unchanged.
RESHAPES = frozenset({
    "SqueezeBackward0", "SqueezeBackward1", "SqueezeBackward4", "UnsqueezeBackward0",
    "ViewBackward0", "UnsafeViewBackward0", "ReshapeAliasBackward0", "CloneBackward0",
    "PermuteBackward0",
})

# Every node class the language's ops can make (tests/core/test_local.py traces
# every op to check this list is complete).
KNOWN = frozenset(FORMS) | frozenset(TENSOR_RULES) | RESHAPES | {"AccumulateGrad"}


@functools.lru_cache(maxsize=4096)
def derived(name: str, index: int, constants: tuple[tuple[str, Any], ...]) -> sympy.Expr:
    """d(form of ``name``)/d(input ``index``), with numeric constants put in exactly.

    ``constants`` maps placeholder names (``p1``, ``k``) to exact sympy numbers;
    a constant the student named stays a placeholder. Cached: the same op with
    the same constants is differentiated once per worker.
    """
    form = FORMS[name]()
    at = {sympy.Symbol(n, real=True): v for n, v in constants}
    # powsimp (not simplify) gathers powers: y·x^(y−1), not x^y·y/x.
    return sympy.powsimp(sympy.diff(form.subs(at), P[index]))


@functools.cache
def held_constants(name: str) -> tuple[str, ...]:
    """The constants the op holds that are not inputs (k: 2**x's base, x**3's exponent;
    k and k1: clamp's bounds), in order."""
    symbols = FORMS[name]().free_symbols
    return tuple(c.name for c in (K, K1) if c in symbols)
