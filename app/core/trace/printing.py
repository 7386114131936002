"""How a formula reads: the operands of an op, and sympy forms printed in the lesson's notation.

An :class:`Operand` is an input of an op as the student wrote it (a name, a
constant's value, a subexpression's text) with its value at the request's
numbers. :func:`printed` writes a derived local derivative with each
placeholder replaced by its operand's text: products ``a·b``, quotients
``a/b``, superscript powers, ``ln``, ``√``, ``σ``, ``|x|`` and PyTorch's step
``[x > 0]``, with parentheses only where precedence needs them. It walks the
sympy tree with an explicit stack. :func:`constant_operand` and
:func:`precedence` make operands from the checked tree.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy.printing.precedence import PRECEDENCE as SYMPY_PRECEDENCE

from ..language.tree import ATOM, PRECEDENCE, BinOp, Expr, ListConst, Num, Unary
from ..language.values import format_value
from ..result import Value
from .numeric import as_value
from .symbolic import Sigmoid


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
    """A sympy number as a student writes it: ``3``, ``0.5``, ``1/3``, ``−2``, ``e``, ``π``;
    any other float by the page's one number writer (values.format_value)."""
    if value is sympy.E or value is sympy.pi:
        return "e" if value is sympy.E else "π"
    if value.is_Integer:
        text = str(int(value))
    elif value.is_Rational:
        text = f"{value.p}/{value.q}"
    else:
        f = float(value)
        text = repr(int(f)) if f.is_integer() and abs(f) < 1e15 else format_value(f)
    return text.replace("-", "−")


def printed(expr: sympy.Expr, texts: tuple[tuple[str, str, int], ...]) -> str:
    """``expr`` in the lesson's notation, each placeholder as its operand's text.

    ``texts`` holds (placeholder, text, precedence). Products read ``a·b``,
    quotients ``a/b``, powers with superscript digits (``x²``) or ``^(…)``,
    ``ln``, ``√``, ``σ``, ``|x|``, and PyTorch's step ``[x > 0]``.

    The walk over sympy's tree is done once per formula and operands' *traits*
    (:func:`_template`), so that a new text of a known shape (other names, other
    subexpressions) only puts its operands' texts in.
    """
    if any(_STAND_IN in t for _, t, _ in texts):  # pragma: no cover - the language refuses NUL
        return _print_into(expr, {}, {n: (t, p) for n, t, p in texts})[0]
    template = _template(expr, tuple((n, p, _traits(t)) for n, t, p in texts))
    if _STAND_IN not in template:
        return template
    operands = [t for _, t, _ in texts]
    return _STANDING.sub(lambda m: operands[int(m.group(1))], template)


# An operand's text stands in the template as NUL, its index, the marks of its traits, NUL.
_STAND_IN = "\x00"
# Its lead, where the text starts with a minus, is ASCII "-": the printer writes only "−".
_STANDING = re.compile("-?\x00(\\d+)[/@]*\x00")


def _traits(text: str) -> str:
    """All the printer reads of an operand's text besides its precedence (_factor): whether
    it starts with a minus, holds a quotient or a matrix product."""
    return ("−" if text.startswith(("−", "-")) else "") + "".join(c for c in "/@" if c in text)


@functools.lru_cache(maxsize=4096)
def _template(expr: sympy.Expr, slots: tuple[tuple[str, int, str], ...]) -> str:
    """``expr`` printed with each operand as a stand-in of the same traits (_STANDING)."""
    names = {}
    for index, (name, precedence, traits) in enumerate(slots):
        lead, marks = ("-", traits[1:]) if traits.startswith("−") else ("", traits)
        names[name] = (f"{lead}{_STAND_IN}{index}{marks}{_STAND_IN}", precedence)
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
    if node.is_Number or node is sympy.E or node is sympy.pi:
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
    if isinstance(node, sympy.exp):  # e^x, as 2^x reads
        return f"e^{_wrap(out[node.args[0]], ATOM)}", power
    if isinstance(node, sympy.Heaviside):
        return _print_step(node, out, names)
    if isinstance(node, sympy.Abs):
        return f"|{out[node.args[0]][0]}|", ATOM
    if isinstance(node, sympy.Function):
        name = _FUNCTION_NAMES.get(type(node), type(node).__name__)
        return f"{name}({', '.join(out[a][0] for a in node.args)})", ATOM
    return str(node), ATOM  # pragma: no cover - no other class is derived


def step_parts(arg: sympy.Expr, at_zero: sympy.Expr) -> tuple[sympy.Expr, str, sympy.Expr, bool]:
    """sympy's ``Heaviside(arg, at_zero)`` as the comparison a student reads, the one rule
    for both panels: (left, relation, right, tie). The negative terms of ``arg`` go right,
    a number stays on the right (``[x ≤ 1]``, not ``[1 ≥ x]``); the relation is ``≥`` or
    ``≤`` where the step is 1 at the corner (clamp's bounds), else ``>`` or ``<``; ``tie``
    where it is ½ there (maximum, minimum), which reads ``[x > y] + ½·[x = y]``."""
    terms = sympy.Add.make_args(arg)
    left = sympy.Add(*(t for t in terms if not t.could_extract_minus_sign()))
    right = -sympy.Add(*(t for t in terms if t.could_extract_minus_sign()))
    flipped = left.is_Number and not right.is_Number
    if flipped:
        left, right = right, left
    strict = at_zero != 1
    relation = ("<" if strict else "≤") if flipped else (">" if strict else "≥")
    return left, relation, right, at_zero == sympy.S.Half


class Bracket(sympy.Function):
    """sympy's Heaviside, to be written as step_parts reads it (the derivative panel's
    printers, autograd_playground.core.teach.mathml): its arguments are Heaviside's. A tie
    reads as a sum, ``[x > y] + ½·[x = y]``, so it binds as a sum does in a product."""

    @property
    def precedence(self) -> int:
        tie = len(self.args) < 2 or self.args[1] == sympy.S.Half
        return SYMPY_PRECEDENCE["Add" if tie else "Atom"]


def as_brackets(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with every Heaviside as a :class:`Bracket`, for printing only."""
    return expr.replace(sympy.Heaviside, Bracket)


def _print_step(node: sympy.Heaviside, out: dict, names: dict) -> tuple[str, int]:
    """PyTorch's step as a comparison (step_parts): ``[x > 0]``, ``[x ≤ 1]``,
    ``[x > y] + ½·[x = y]``."""
    at_zero = node.args[1] if len(node.args) > 1 else sympy.S.Half
    left, relation, right, tie = step_parts(node.args[0], at_zero)
    a, b = (_print_into(side, out, names)[0] for side in (left, right))
    if tie:
        return f"[{a} {relation} {b}] + ½·[{a} = {b}]", PRECEDENCE["+"]
    return f"[{a} {relation} {b}]", ATOM


def _factor_order(factor: sympy.Basic) -> int:
    if factor.is_Number:
        return 0
    if isinstance(factor, sympy.Symbol):
        return 1
    return 3 if isinstance(factor, sympy.Add) else 2


def _factor(item: tuple[str, int], after: bool) -> str:
    """A factor of a product: in parentheses where it is a sum, a quotient or a matrix
    product (``(1/y)·x``, ``2·(x @ y)``), or a negative after another factor (``2·(−x)``)."""
    text, precedence = item
    mul = PRECEDENCE["*"]
    if precedence < mul or (precedence == mul and ("/" in text or "@" in text)):
        return f"({text})"
    if after and text.startswith(("−", "-")):
        return f"({text})"
    return text


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
    numerator = "·".join(_factor(t, i > 0) for i, t in enumerate(top)) or "1"
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
        return Operand(text, precedence(node), value, defined=(text, as_value(value)))
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
    # A zero is put in only where the derivative stays finite (trace.local): x**0 reads 0,
    # but x/0 reads 1/0 rather than sympy's zoo.
    return Operand(shown, PRECEDENCE["unary"] if v < 0 else ATOM, value, exact=exact)


def _exact_number(node: Expr, v: float) -> sympy.Expr:
    """The number as sympy puts it in a formula: an integer exactly, a decimal as written."""
    if isinstance(node, Num):
        if node.name in ("e", "pi"):  # the constants themselves, printed e and π
            return sympy.E if node.name == "e" else sympy.pi
        v = node.value
    if isinstance(v, int) or (math.isfinite(v) and v.is_integer() and abs(v) < 1e15):
        return sympy.Integer(int(v))
    return sympy.Float(v)
