"""Each step's local derivative: derived from the op's symbolic form, printed, checked.

For every node the backward pass runs, :func:`rules` says how PyTorch turns the
gradient that arrives into the gradient it sends to each input:

- an element-wise op (``MulBackward0``, ``SinBackward0``, ...) has a local
  derivative. It is *derived*: sympy differentiates the op's symbolic form
  (the table :data:`FORMS`, keyed by node class, beside nothing typed by hand)
  with respect to the input, and the result is printed in terms of the
  operands as the student wrote them: names where they exist, a constant's
  value where the operand is a constant (``2^x·ln(2)`` for ``2**x``).
- a tensor op (``sum``, ``mean``, ``@``, reshapes) has a rule applied to what
  arrived (``G·Bᵀ``, ``g·1``, ``g/n``), see :data:`TENSOR_RULES`.

Either way the rule is then computed with numpy at the request's own numbers
(autograd_playground.core.trace.symbolic.evaluate, never lambdify) and compared with PyTorch's
number from the same request: its local derivative (the node called on ones)
or what it really sent. The result says whether they agree.

Derived forms are cached per node class and constants (not per text), so a
request pays for sympy only for ops it has not seen before. No simplify.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import sympy

from ..language.tree import ATOM, PRECEDENCE, BinOp, Expr, ListConst, Num, Unary
from ..language.values import finite, format_value
from ..result import Rule, Value
from .symbolic import Clamp, Relu, Sigmoid, evaluate

# --- the symbolic forms ----------------------------------------------------


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
# to what arrived: (rule name, formula per input). G is what arrived.
TENSOR_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "SumBackward0": ("sum", ("g·1",)),
    "MeanBackward0": ("mean", ("g·1/n",)),
    "DotBackward0": ("dot", ("g·{B}", "g·{A}")),
    "MvBackward0": ("mv", ("G·{B}ᵀ", "{A}ᵀ·G")),
    "MmBackward0": ("mm", ("G·{B}ᵀ", "{A}ᵀ·G")),
    "BmmBackward0": ("bmm", ("G·{B}ᵀ", "{A}ᵀ·G")),
    "ExpandBackward0": ("expand", ("sum of G over the copies",)),
    "TransposeBackward0": ("transpose", ("Gᵀ",)),
    # The lesson's tensor ops, over the last dimension (s is the softmax of the input).
    "SoftmaxBackward0": ("softmax", ("s ⊙ (g − g·s)",)),
    "LogSoftmaxBackward0": ("log_softmax", ("g − softmax({A})·sum(g)",)),
    "LogsumexpBackward0": ("logsumexp", ("g·softmax({A})",)),
    "MaxBackward1": ("max", ("g at the largest element",)),
    "MinBackward1": ("min", ("g at the smallest element",)),
    "MseLossBackward0": ("mse", ("2·({A} − {B})/n·g", "−2·({A} − {B})/n·g")),
    "NllLossBackward0": ("nll", ("−g at index k",)),
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


# --- printing ----------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    """How an input of an op reads in a formula, and its value here."""

    text: str
    precedence: int  # as in autograd_playground.core.language.tree.PRECEDENCE; ATOM for a name or a call
    value: Any  # numpy array or float64, or None when unknown
    defined: tuple[str, Value] | None = None  # a named constant: (name, value)
    exact: sympy.Expr | None = None  # a constant that is one number, as sympy puts it in


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_FUNCTION_NAMES = {sympy.log: "ln", Sigmoid: "σ"}


def show_number(value: sympy.Expr) -> str:
    """A sympy number as a student writes it: ``3``, ``0.5``, ``1/3``, ``−2``."""
    if value.is_Integer:
        text = str(int(value))
    elif value.is_Rational:
        text = f"{value.p}/{value.q}"
    else:
        f = float(value)
        text = repr(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)
    return text.replace("-", "−")


@functools.lru_cache(maxsize=4096)
def printed(expr: sympy.Expr, texts: tuple[tuple[str, str, int], ...]) -> str:
    """``expr`` in the lesson's notation, each placeholder as its operand's text.

    ``texts`` holds (placeholder, text, precedence). Products read ``a·b``,
    quotients ``a/b``, powers with superscript digits (``x²``) or ``^(…)``,
    ``ln``, ``√``, ``σ``, ``|x|``, and PyTorch's step ``[x > 0]``.
    """
    names = {n: (t, p) for n, t, p in texts}
    return _print_into(expr, {}, names)[0]


def _print_into(expr: sympy.Basic, out: dict, names: dict) -> tuple[str, int]:
    """Print ``expr`` bottom-up with an explicit stack, remembering every part in ``out``."""
    stack: list[tuple[sympy.Basic, bool]] = [(expr, False)]
    while stack:
        node, done = stack.pop()
        if node in out:
            continue
        if node.args and not done and not isinstance(node, sympy.Symbol):
            stack.append((node, True))
            stack.extend((a, False) for a in node.args)
            continue
        out[node] = _print_one(node, out, names)
    return out[expr]


def _wrap(item: tuple[str, int], mine: int, strict: bool = False) -> str:
    text, precedence = item
    if precedence < mine or (strict and precedence == mine):
        return f"({text})"
    return text


def _print_one(node: sympy.Basic, out: dict, names: dict) -> tuple[str, int]:
    add, mul, unary, power = PRECEDENCE["+"], PRECEDENCE["*"], PRECEDENCE["unary"], PRECEDENCE["**"]
    if isinstance(node, sympy.Symbol):
        return names.get(node.name, (node.name, ATOM))
    if node.is_Number:
        text = show_number(node)
        return text, (unary if text.startswith("−") else (mul if "/" in text else ATOM))
    if isinstance(node, sympy.Add):
        terms = sorted(node.args, key=lambda t: t.could_extract_minus_sign())
        text = ""
        for term in terms:
            negative = term.could_extract_minus_sign()
            item = _print_into(-term if negative else term, out, names)
            piece = _wrap(item, add, strict=negative)
            text = (f"{text} − {piece}" if text else f"−{piece}") if negative else (f"{text} + {piece}" if text else piece)
        return text, add
    if isinstance(node, sympy.Mul):
        return _print_product(node, out, names)
    if isinstance(node, sympy.Pow):
        base, exponent = node.args
        if exponent == sympy.S.Half:
            return f"√{_wrap(out[base], ATOM)}", ATOM
        if exponent.is_Number and exponent < 0:
            positive = _print_into(base ** (-exponent), out, names)
            return f"1/{_wrap(positive, power)}", mul
        base_text = _wrap(out[base], power, strict=True)
        if exponent.is_Integer and exponent > 1:
            return base_text + str(int(exponent)).translate(_SUPERSCRIPT), power
        exponent_text = _wrap(out[exponent], ATOM)
        return f"{base_text}^{exponent_text}", power
    if isinstance(node, sympy.Heaviside):
        return _print_step(node, out, names), ATOM
    if isinstance(node, sympy.Abs):
        return f"|{out[node.args[0]][0]}|", ATOM
    if isinstance(node, sympy.Function):
        name = _FUNCTION_NAMES.get(type(node), type(node).__name__)
        return f"{name}({', '.join(out[a][0] for a in node.args)})", ATOM
    return str(node), ATOM  # pragma: no cover - no other class is derived


def _print_step(node: sympy.Heaviside, out: dict, names: dict) -> str:
    """PyTorch's step as a comparison: ``[x > 0]``, ``[x > y]``; ``≥`` where the step is 1
    at the corner (clamp's bounds), a number on the right: ``[x ≤ 1]``, not ``[1 ≥ x]``."""
    arg = node.args[0]
    strict = not (len(node.args) > 1 and node.args[1] == 1)
    terms = sympy.Add.make_args(arg)
    left = sympy.Add(*(t for t in terms if not t.could_extract_minus_sign()))
    right = -sympy.Add(*(t for t in terms if t.could_extract_minus_sign()))
    if left.is_Number and not right.is_Number:
        left, right, sign = right, left, ("<" if strict else "≤")
    else:
        sign = ">" if strict else "≥"
    a, b = (_print_into(side, out, names)[0] for side in (left, right))
    return f"[{a} {sign} {b}]"


def _factor_order(factor: sympy.Basic) -> int:
    if factor.is_Number:
        return 0
    if isinstance(factor, sympy.Symbol):
        return 1
    return 3 if isinstance(factor, sympy.Add) else 2


def _print_product(node: sympy.Mul, out: dict, names: dict) -> tuple[str, int]:
    mul, unary = PRECEDENCE["*"], PRECEDENCE["unary"]
    sign = ""
    top: list[tuple[str, int]] = []
    bottom: list[tuple[str, int]] = []
    # Numbers, then names, then the rest, sums (in parentheses) last: 3·x², y·x^(y − 1),
    # σ(x)·(1 − σ(x)).
    for factor in sorted(node.as_ordered_factors(), key=_factor_order):
        if factor.is_Number:
            if factor.is_negative:
                sign = "−" if not sign else ""
                factor = -factor
            if factor == 1:
                continue
            if factor.is_Rational and not factor.is_Integer:
                if factor.p != 1:
                    top.append((str(factor.p), ATOM))
                bottom.append((str(factor.q), ATOM))
                continue
            top.append(_print_into(factor, out, names))
        elif isinstance(factor, sympy.Pow) and factor.exp.is_Number and factor.exp < 0:
            positive = factor.base ** (-factor.exp)
            bottom.append(_print_into(positive, out, names))
        else:
            top.append(out[factor])
    numerator = "·".join(_wrap(t, mul) for t in top) or "1"
    if bottom:
        denominator = "·".join(_wrap(b, mul) for b in bottom)
        if len(bottom) > 1:
            denominator = f"({denominator})"
        else:
            denominator = _wrap(bottom[0], PRECEDENCE["**"])
        text = f"{numerator}/{denominator}"
    else:
        text = numerator
    return (f"−{text}", unary) if sign else (text, mul)


# --- checking ------------------------------------------------------------------


def close(ours: Any, theirs: Any) -> bool:
    """Within float32 tolerance, nan matching nan and inf matching inf of the same sign."""
    if np.ndim(ours) == 0 and np.ndim(theirs) == 0:  # the common case, without numpy's arrays
        with np.errstate(all="ignore"):
            a, b = float(np.float32(ours)), float(theirs)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= 1e-6 + 1e-4 * abs(b)
    with np.errstate(all="ignore"):
        a = np.asarray(ours, dtype=np.float64).astype(np.float32).astype(np.float64)
        b = np.asarray(theirs, dtype=np.float64)
        if a.shape != b.shape:
            try:
                a = np.broadcast_to(a, b.shape)
            except ValueError:
                return False
        return bool(np.allclose(a, b, rtol=1e-4, atol=1e-6, equal_nan=True))


def _value(array: Any) -> Value:
    data = np.asarray(array, dtype=np.float64)
    return finite(data.tolist() if data.ndim else float(data))


# --- one node ------------------------------------------------------------------


@dataclass
class NodeFacts:
    """What the recorder knows about one node when it has run."""

    name: str
    owner: Expr | None  # the tree node whose op made it
    inputs: Sequence[Operand | None]  # per next_functions entry: the operand, None where constant
    constants: Sequence[Operand]  # the owner's operands that are not in the graph, in order
    arrived: np.ndarray | None
    sent: Sequence[np.ndarray | None]
    torch_local: Sequence[np.ndarray | None]  # the node called on ones, per input
    saved: dict[str, np.ndarray] = field(default_factory=dict)
    texts: tuple[str, str] = ("A", "B")  # the owner's operands as typed, for @


def rules(facts: NodeFacts) -> tuple[Rule | None, ...]:
    """One rule per input of the node (None where nothing is sent)."""
    out: list[Rule | None] = []
    for index, sent in enumerate(facts.sent):
        if sent is None or index >= len(facts.inputs) or facts.inputs[index] is None:
            out.append(None)
        elif facts.name in FORMS:
            out.append(_local_rule(facts, index))
        else:
            out.append(_tensor_rule(facts, index))
    return tuple(out)


def _constant_slots(facts: NodeFacts) -> dict[str, Operand]:
    """Which placeholder each constant operand fills: the inputs without a node, then k."""
    slots: dict[str, Operand] = {}
    free = list(facts.constants)
    for i in range(2):
        if i < len(facts.inputs) and facts.inputs[i] is None and free:
            slots[f"p{i}"] = free.pop(0)
    for held in _held_constants(facts.name):
        if free:
            slots[held] = free.pop(0)
    return slots


@functools.lru_cache(maxsize=None)
def _held_constants(name: str) -> tuple[str, ...]:
    """The constants the op holds that are not inputs (k: 2**x's base, x**3's exponent;
    k and k1: clamp's bounds), in order."""
    symbols = FORMS[name]().free_symbols
    return tuple(c.name for c in (K, K1) if c in symbols)


@functools.lru_cache(maxsize=4096)
def _placeholders(expr: sympy.Expr) -> tuple[tuple[str, sympy.Symbol], ...]:
    """The placeholders a derived formula uses, by name."""
    return tuple(sorted((s.name, s) for s in expr.free_symbols))


def _local_rule(facts: NodeFacts, index: int) -> Rule:
    slots = _constant_slots(facts)
    numeric: list[tuple[str, Any]] = []
    operands: dict[str, Operand] = {}
    for i, operand in enumerate(facts.inputs[:2]):
        if operand is not None:
            operands[f"p{i}"] = operand
    for name, operand in slots.items():
        if operand.exact is not None:
            numeric.append((name, operand.exact))
        else:
            operands[name] = operand
    expr = derived(facts.name, index, tuple(numeric))
    used = _placeholders(expr)
    texts = tuple((n, operands[n].text, operands[n].precedence) for n, _ in used if n in operands)
    formula = printed(expr, texts)
    where = {operands[n].defined[0]: operands[n].defined[1]
             for n, _ in used if n in operands and operands[n].defined}
    values = {symbol: operands[n].value for n, symbol in used if n in operands}
    torch_local = facts.torch_local[index] if index < len(facts.torch_local) else None
    if any(v is None for v in values.values()) or torch_local is None:
        return Rule("local", formula, None, None, None, where, _notes(facts, index))
    try:
        ours = evaluate(expr, values)
    except (TypeError, KeyError):  # pragma: no cover - every derived class has a numeric form
        return Rule("local", formula, None, _value(torch_local), None, where, _notes(facts, index))
    shape = np.shape(torch_local)
    ours = np.broadcast_to(ours, shape) if np.shape(ours) != shape else ours
    return Rule(
        "local", formula, _value(ours), _value(torch_local), close(ours, torch_local), where,
        _notes(facts, index),
    )


# The ops whose input value a note depends on: (test on the input, note).
_INPUT_NOTES: dict[str, tuple[tuple[Callable[[Any], Any], str], ...]] = {
    "ReluBackward0": ((lambda v: v == 0, "relu-at-zero"),),
    "AbsBackward0": ((lambda v: v == 0, "abs-at-zero"),),
    "SqrtBackward0": ((lambda v: v == 0, "sqrt-at-zero"), (lambda v: v < 0, "outside-domain")),
    "LogBackward0": ((lambda v: v < 0, "outside-domain"), (lambda v: v == 0, "log-at-zero")),
    "ReciprocalBackward0": ((lambda v: v == 0, "division-by-zero"),),
}

# The ops whose note depends on two values: (the two placeholders, test, note).
_PAIR_NOTES: dict[str, tuple[tuple[str, str, Callable[[Any, Any], Any], str], ...]] = {
    "MaximumBackward0": (("p0", "p1", lambda a, b: a == b, "tie-split"),),
    "MinimumBackward0": (("p0", "p1", lambda a, b: a == b, "tie-split"),),
    "ClampBackward1": (("p0", "k", lambda v, low: v == low, "clamp-at-bound"),
                       ("p0", "k1", lambda v, high: v == high, "clamp-at-bound")),
}


def _anywhere(test: Any) -> bool:
    """True where a test holds for a number, or for any element of an array."""
    return bool(test) if np.ndim(test) == 0 else bool(test.any())


def _notes(facts: NodeFacts, index: int) -> tuple[str, ...]:
    """What a student should know here: non-differentiable points, domains, inf or nan."""
    notes: list[str] = []
    name = facts.name
    tests = _INPUT_NOTES.get(name)
    operand = facts.inputs[0] if facts.inputs else None
    if tests and operand is not None and operand.value is not None:
        notes += [note for test, note in tests if _anywhere(test(operand.value))]
    pairs = _PAIR_NOTES.get(name)
    if pairs:
        values = _slot_values(facts)
        for a, b, test, note in pairs:
            if values.get(a) is not None and values.get(b) is not None and note not in notes:
                if _anywhere(np.asarray(test(values[a], values[b]))):
                    notes.append(note)
    if name in ("MaxBackward1", "MinBackward1"):
        data = facts.saved.get("self")
        if data is not None and int(np.sum(np.asarray(data) == facts.saved.get("result"))) > 1:
            notes.append("tie-split")
    if name == "DivBackward0" and len(facts.inputs) > 1:
        other = facts.inputs[1] or next(iter(_constant_slots(facts).values()), None)
        if other is not None and other.value is not None and np.any(np.asarray(other.value) == 0):
            notes.append("division-by-zero")
    arrived = facts.arrived
    if arrived is not None:
        if _anywhere(np.isnan(arrived)):
            notes.append("nan-arrived")
        elif _anywhere(np.isinf(arrived)):
            notes.append("inf-arrived")
    sent = facts.sent[index]
    if name in FORMS and sent is not None and arrived is not None and np.shape(sent) != np.shape(arrived):
        notes.append("broadcast")
    return tuple(notes)


def _slot_values(facts: NodeFacts) -> dict[str, Any]:
    """The value of each placeholder of the op's form: its inputs, then its constants."""
    values = {f"p{i}": o.value for i, o in enumerate(facts.inputs[:2]) if o is not None}
    values.update({n: o.value for n, o in _constant_slots(facts).items()})
    return values


def _tensor_rule(facts: NodeFacts, index: int) -> Rule:
    name = facts.name
    sent = facts.sent[index]
    g = facts.arrived
    where: dict[str, Value] = {}
    if name in RESHAPES:
        kind, formula = "reshape", "G"
        ours = None if g is None else np.reshape(g, np.shape(sent))
    else:
        kind, formulas = TENSOR_RULES.get(name, ("unknown", ()))
        a, b = (_operand_text(t) for t in facts.texts)
        formula = formulas[index].format(A=a, B=b) if index < len(formulas) else "?"
        ours = _apply(kind, index, g, facts.saved, np.shape(sent))
        if kind in ("mean", "mse"):
            n = int(np.prod(np.shape(sent))) if sent is not None else 0
            where["n"] = float(n)
        elif kind == "nll" and "target" in facts.saved:
            where["k"] = float(np.asarray(facts.saved["target"]).reshape(-1)[0])
    notes = _notes(facts, index)
    if ours is None or sent is None:
        return Rule(kind, formula, None, _value(sent) if sent is not None else None, None, where, notes)
    return Rule(kind, formula, _value(ours), _value(sent), close(ours, sent), where, notes)


def _operand_text(text: str) -> str:
    return text if text.replace("_", "").isalnum() else f"({text})"


def _apply(kind: str, index: int, g: Any, saved: dict[str, np.ndarray], shape: tuple) -> Any:
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


# --- operands from the tree ------------------------------------------------------


def precedence(node: Expr) -> int:
    """How tightly a tree node's text binds, as printed: names, calls and lists are atoms."""
    if isinstance(node, BinOp):
        return PRECEDENCE[node.op]
    if isinstance(node, Unary):
        return PRECEDENCE["unary"]
    if isinstance(node, Num) and node.value < 0:
        return PRECEDENCE["unary"]
    return ATOM


def constant_operand(node: Expr, text: str, value: Any, names_variable: bool) -> Operand:
    """A tree operand that is not in the graph: its value where it is only numbers,
    its own text (with the value defined) where it names a variable (``names_variable``:
    a variable appears anywhere below ``node``)."""
    if names_variable:
        return Operand(text, precedence(node), value, defined=(text, _value(value)))
    data = np.asarray(value, dtype=np.float64)
    if data.ndim or isinstance(node, ListConst):
        return Operand(text, ATOM if isinstance(node, ListConst) else precedence(node), value)
    v = float(data)
    if not isinstance(node, Num) and not v.is_integer():
        # sqrt(2): shown as its value, computed from the exact one.
        shown = format_value(v).replace("-", "−")
        return Operand(shown, PRECEDENCE["unary"] if v < 0 else ATOM, value)
    exact = _exact_number(node, v)
    shown = show_number(exact)
    # A zero stays a placeholder, so that x/0 reads 1/0 rather than sympy's zoo.
    return Operand(shown, PRECEDENCE["unary"] if v < 0 else ATOM, value, exact=exact if v else None)


def _exact_number(node: Expr, v: float) -> sympy.Expr:
    """The number as sympy puts it in a formula: an integer exactly, a decimal as written."""
    if isinstance(node, Num):
        v = node.value
    if isinstance(v, int) or (math.isfinite(v) and v.is_integer() and abs(v) < 1e15):
        return sympy.Integer(int(v))
    return sympy.Float(v)
