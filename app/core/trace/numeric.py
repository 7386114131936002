"""The rules computed with numpy, and the comparison with PyTorch's numbers.

:func:`apply` computes a tensor op's rule (``sum``, ``mean``, ``@``, ``expand``,
the lesson's softmax, log_softmax, logsumexp, max, min, mse and nll) from the
gradient that arrived and what the node saved, as the text in
autograd_playground.core.trace.forms.TENSOR_RULES says. :func:`close` compares
a number computed here with PyTorch's within float32 tolerance,
:func:`chain_parting` checks a chain rule's product in float32 exactly, and
:func:`as_value` turns numpy's numbers into the records' JSON-ready values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..language.values import finite
from ..result import Value

# --- checking ------------------------------------------------------------------


# The one agreement rule, for the step rules and the derivative panel alike: a number
# computed in float64 agrees with PyTorch's float32 one within these tolerances.
RTOL, ATOL = 1e-4, 1e-5
# float32's largest finite number (about 3.4e38): past it PyTorch's arithmetic gives inf.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _agreeing(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Element-wise: nan matches nan, inf the same inf; a finite number past FLOAT32_MAX
    matches nothing (float32 cannot hold it); others within RTOL and ATOL."""
    both_nan = np.isnan(ours) & np.isnan(theirs)
    infinite = np.isinf(ours) | np.isinf(theirs)
    same_inf = infinite & (ours == theirs)
    near = np.abs(ours - theirs) <= ATOL + RTOL * np.maximum(np.abs(ours), np.abs(theirs))
    fits = np.abs(ours) <= FLOAT32_MAX
    return both_nan | same_inf | (~infinite & near & fits)


def _agreeing_one(ours: float, theirs: float) -> bool:
    """:func:`_agreeing` for two numbers, in Python floats (a scalar function's steps)."""
    if math.isnan(ours) and math.isnan(theirs):
        return True
    if math.isinf(ours) or math.isinf(theirs):
        return ours == theirs
    near = abs(ours - theirs) <= ATOL + RTOL * max(abs(ours), abs(theirs))
    return near and abs(ours) <= FLOAT32_MAX


def _pair(ours: Any, theirs: Any) -> tuple[np.ndarray, np.ndarray] | None:
    with np.errstate(all="ignore"):
        left = np.asarray(ours, dtype=np.float64)
        right = np.asarray(theirs, dtype=np.float64)
        if left.shape != right.shape:
            try:
                left = np.broadcast_to(left, right.shape)
            except ValueError:
                return None
    return left, right


def close(ours: Any, theirs: Any) -> bool:
    """Whether ``ours`` (float64) equals PyTorch's ``theirs`` within float32 tolerance."""
    if not (np.ndim(ours) or np.ndim(theirs)):  # one number each: _agreeing without arrays
        return _agreeing_one(float(ours), float(theirs))
    pair = _pair(ours, theirs)
    if pair is None:
        return False
    with np.errstate(all="ignore"):
        return bool(_agreeing(*pair).all())


def parting(ours: Any, theirs: Any) -> str | None:
    """Why ``ours`` and PyTorch's ``theirs`` differ, as a note id, or None where they agree:
    ``float32-overflow`` (past FLOAT32_MAX PyTorch has inf), ``float32-nan`` (PyTorch's
    float32 arithmetic met inf·0 or inf − inf), ``formula-undefined`` (the formula has no
    finite value where PyTorch returns a limit), ``not-finite`` (neither is a finite number),
    else ``subgradient`` (a corner or a tie)."""
    pair = _pair(ours, theirs)
    if pair is None:
        return "subgradient"
    left, right = pair
    with np.errstate(all="ignore"):
        wrong = ~_agreeing(left, right)
        if not wrong.any():
            return None
        a, b = left[wrong], right[wrong]
        if (np.isinf(b) & np.isfinite(a)).any() or (np.abs(a[np.isfinite(a)]) > FLOAT32_MAX).any():
            return "float32-overflow"
        if (np.isnan(b) & np.isfinite(a)).any():
            return "float32-nan"
        if (~np.isfinite(a) & np.isfinite(b)).any():
            return "formula-undefined"
        if (~np.isfinite(a) & ~np.isfinite(b)).any():
            return "not-finite"
    return "subgradient"


# The rounding a kernel that divides (or multiplies in another order) leaves in float32:
# a few units in the last place.
ROUNDING = 1e-6


def chain_parting(arrived: Any, local: Any, sent: Any) -> str | None:
    """Whether ``arrived`` · ``local``, multiplied in float32 element by element, is exactly
    what PyTorch ``sent`` (nan matching nan): None, the chain rule's line is PyTorch's own
    arithmetic. Else a note id: ``kernel-order`` where the kernel computes the product in
    another order and only the last digits differ (sqrt sends arrived/(2·√x), one rounding
    fewer than arrived · (1/(2·√x))), ``kernel-own`` where it sets what it sends itself
    (relu and pow send 0 where the local derivative is 0, even if nan arrived)."""
    if not (np.ndim(arrived) or np.ndim(local) or np.ndim(sent)):  # one number: no array work
        with np.errstate(all="ignore"):
            one = float(np.float32(arrived) * np.float32(local))
        mine = float(np.float32(sent))
        if one == mine or (math.isnan(one) and math.isnan(mine)):
            return None
        return "kernel-order" if abs(one - mine) <= ROUNDING * abs(mine) else "kernel-own"
    with np.errstate(all="ignore"):
        product = np.asarray(arrived, dtype=np.float32) * np.asarray(local, dtype=np.float32)
        theirs = np.asarray(sent, dtype=np.float32)
        if product.shape != theirs.shape:
            return "kernel-own"
        if ((product == theirs) | (np.isnan(product) & np.isnan(theirs))).all():
            return None
        near = np.isclose(product, theirs, rtol=ROUNDING, atol=0, equal_nan=True)
    return "kernel-order" if near.all() else "kernel-own"


def as_value(array: Any) -> Value:
    """Numbers from numpy as a record holds them: lists or a float, non-finite ones as text."""
    data = np.asarray(array, dtype=np.float64)
    return finite(data.tolist() if data.ndim else float(data))


def apply(kind: str, index: int, g: Any, saved: dict[str, Any], shape: tuple) -> Any:
    """The tensor rule computed with numpy from what arrived and what the node saved."""
    if g is None:
        return None
    g = np.asarray(g, dtype=np.float64)
    with np.errstate(all="ignore"):
        if kind == "sum":
            return np.broadcast_to(g, shape)
        if kind == "mean":
            n = int(np.prod(shape)) or 1
            return np.broadcast_to(g / n, shape)
        if kind == "expand":
            return _sum_to(g, shape)
        if kind == "transpose":
            dims = saved.get("dims", (0, 1))
            return np.swapaxes(g, int(dims[0]), int(dims[1])).reshape(shape)
        if kind in _LESSON_RULES:
            return _LESSON_RULES[kind](index, g, saved, shape)
        first = saved.get("self")
        second = saved.get("mat2", saved.get("vec", saved.get("tensor")))
        if kind == "dot":
            other = second if index == 0 else first
            return None if other is None else g * other
        if kind in ("mv", "mm", "bmm"):
            if index == 0:
                if second is None:
                    return None
                if kind == "mv":
                    return np.outer(g, second)
                return g @ np.swapaxes(second, -1, -2)
            if first is None:
                return None
            return np.swapaxes(first, -1, -2) @ g
    return None


def _softmax_rule(index: int, g: np.ndarray, saved: dict, shape: tuple) -> Any:
    s, dim = saved.get("result"), int(saved.get("dim", -1))
    return None if s is None else s * (g - np.sum(g * s, axis=dim, keepdims=True))


def _log_softmax_rule(index: int, g: np.ndarray, saved: dict, shape: tuple) -> Any:
    r, dim = saved.get("result"), int(saved.get("dim", -1))
    return None if r is None else g - np.exp(r) * np.sum(g, axis=dim, keepdims=True)


def _logsumexp_rule(index: int, g: np.ndarray, saved: dict, shape: tuple) -> Any:
    x, r = saved.get("self"), saved.get("result")
    if x is None or r is None:
        return None
    dims = saved.get("dim", (-1,))
    dim = int(np.ravel(dims)[0]) if np.ndim(dims) else int(dims)
    if not saved.get("keepdim"):
        g, r = np.expand_dims(g, dim), np.expand_dims(r, dim)
    return g * np.exp(x - r)


def _extreme_rule(index: int, g: np.ndarray, saved: dict, shape: tuple) -> Any:
    """max(t), min(t): g to the element(s) holding the result, split evenly between ties."""
    x, r = saved.get("self"), saved.get("result")
    if x is None or r is None:
        return None
    hit = (np.asarray(x) == r).astype(np.float64)
    return g * hit / max(hit.sum(), 1.0)


def _mse_rule(index: int, g: np.ndarray, saved: dict, shape: tuple) -> Any:
    pred, target = saved.get("self"), saved.get("target")
    if pred is None or target is None:
        return None
    n = int(np.prod(shape)) or 1
    out = 2.0 * (pred - target) / n * g
    return out if index == 0 else -out


def _nll_rule(index: int, g: np.ndarray, saved: dict, shape: tuple) -> Any:
    target = saved.get("target")
    if target is None:
        return None
    total = float(np.ravel(saved.get("total_weight", 1.0))[0]) or 1.0
    out = np.zeros(shape)
    out[..., int(np.ravel(target)[0])] = -g / total
    return out


# The lesson's tensor rules, as numpy computes them from what arrived and what was saved.
_LESSON_RULES: dict[str, Callable[[int, np.ndarray, dict, tuple], Any]] = {
    "softmax": _softmax_rule,
    "log_softmax": _log_softmax_rule,
    "logsumexp": _logsumexp_rule,
    "max": _extreme_rule,
    "min": _extreme_rule,
    "mse": _mse_rule,
    "nll": _nll_rule,
}


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """``g`` summed over the dimensions a broadcast added or stretched, down to ``shape``."""
    extra = g.ndim - len(shape)
    out = g.sum(axis=tuple(range(extra))) if extra > 0 else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and out.shape[i] != 1)
    if stretched:
        out = out.sum(axis=stretched, keepdims=True)
    return out.reshape(shape)
