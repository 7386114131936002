"""dy/dx for each variable, on request: as a formula where one helps, else a finite difference.

:func:`derivatives` builds dy/dx as a sympy formula from the checked tree
(symbolic.to_sympy), simplified within a bound of size and time, written as
text and as checked MathML, evaluated at the inputs and set beside PyTorch's
``x.grad``. Where no formula helps (tensors, a tree too large) a central finite
difference in float64 takes its place. It is not in the default answer: it is
asked for (language.Extras) and computed in the worker under the request's
time limit, and sympy is imported only then. The plot, second order and
accumulation are their neighbours in this package (plot.py, second_order.py).
"""

from __future__ import annotations

import math
import pickle
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import torch
from cachetools import LRUCache

from ..language.rules import N_, TENSOR_ONLY, Limits
from ..language.tree import BinOp, Call, ListConst, Parsed, children, post_order
from ..language.values import scalar
from ..trace.graph import evaluate
from ..trace.model import Trace, to_value
from ..trace.numeric import close, parting
from .deadline import Late, deadline
from .mathml import formula_text, mathml

# A tree with more nodes than this gets no formula: sympy's work grows fast with size.
SYMBOLIC_MAX_NODES = 80
# A derivative with more operations than this is shown as diff() gives it.
SIMPLIFY_MAX_OPS = 60
# Seconds simplify() may take before the unsimplified form is shown instead.
SIMPLIFY_SECONDS = 0.4
# Bytes of formulas kept per process, by normalized function (see form_bytes): about
# a thousand entries the size of the lesson's, a few hundred of a long function's.
FORMS_MAX_BYTES = 2 * 1024 * 1024
# Central finite differences: the step, at most this many numbers per variable, and
# at most this many numbers over all variables (each costs two evaluations).
FD_STEP = 1e-6
FD_MAX_NUMBERS = 64
FD_MAX_TOTAL = 128

NO_FORMULA_TENSOR = N_(
    "This function works on tensors, so no single formula helps here; PyTorch's gradient "
    "is compared with a central finite difference instead."
)
NO_FORMULA_UNDEFINED = N_(
    "Part of this function is infinite or undefined for every input (such as log(0) or "
    "1/0), so no formula helps here; PyTorch's gradient is compared with a central finite "
    "difference instead."
)
NO_REAL_DERIVATIVE = N_(
    "A power here has a negative base, so for most exponents it has no real value and no "
    "real derivative; PyTorch takes the log of the negative base and gives nan."
)
NO_FORMULA_LARGE = N_(
    "This function is too large for a formula within the time limit; PyTorch's gradient is "
    "compared with a central finite difference instead."
)


def agrees(a: float, b: float) -> bool:
    """The one agreement rule (trace.numeric.close): a formula's float64 value ``a`` equals
    PyTorch's ``b`` within float32 tolerance, as the step rules are checked."""
    return close(a, b)


# Why a formula's value and x.grad differ, per numeric.parting's cause.
PARTING: dict[str, str] = {
    "float32-overflow": N_(
        "PyTorch computes in float32, whose largest number is about 3.4e38; past it the "
        "result overflows to inf, while the formula, computed in float64, stays finite."
    ),
    "float32-nan": N_(
        "PyTorch's float32 arithmetic met inf·0 or inf − inf on the way (a number overflowed "
        "past about 3.4e38 or underflowed to 0), which gives nan; the formula has a value."
    ),
    "formula-undefined": N_(
        "The formula has no finite value at this point (such as 0·inf or a division by "
        "zero), while PyTorch's backward pass returns the limit or a finite number there."
    ),
    "not-finite": N_(
        "Neither number is finite here (inf or nan): the function itself is infinite or "
        "undefined at these inputs, so there is no derivative to compare."
    ),
    "subgradient": N_(
        "The function has a corner, a tie or a bound at this point, where the calculus has "
        "no single derivative; PyTorch picks one subgradient, and the formula gives another."
    ),
}
AT_A_CORNER = N_(
    "The inputs sit on a corner, a tie or a bound, where the calculus has no single "
    "derivative; the formula takes PyTorch's choice there: 0 for relu and abs at 0, half "
    "each at a tie of maximum or minimum, 1 on a bound of clamp."
)
NO_AGREEMENT_FD = N_(
    "The finite difference and PyTorch's gradient differ: the function jumps, has a corner "
    "or overflows float32 (about 3.4e38) near these inputs."
)


# --- dy/dx as a formula -------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """dy/dx for one variable: its text, its MathML, and whether it was simplified."""

    variable: str
    text: str
    mathml: str
    simplified: bool
    expr: Any  # diff()'s own expression, for evaluating at the inputs


# What the formula cache holds per (normalized function, names): the function, then its forms.
Kept = tuple[str, tuple[Form, ...]]


def form_bytes(kept: Kept) -> int:
    """An estimate of an entry's size: its strings as Python holds them (the function, and
    each form's variable, text and MathML), with diff()'s expression counted as its text."""
    function, made = kept
    return sys.getsizeof(function) + sum(
        sys.getsizeof(f.variable) + 2 * sys.getsizeof(f.text) + sys.getsizeof(f.mathml) for f in made
    )


def new_forms_cache(max_bytes: int) -> LRUCache[tuple[str, tuple[str, ...]], Kept]:
    """An LRU cache of formulas bounded to ``max_bytes`` as form_bytes counts them."""
    return LRUCache(max_bytes, getsizeof=form_bytes)


# Shared by the threads that run requests in the web process (workers=0), hence the lock.
_FORMS = new_forms_cache(FORMS_MAX_BYTES)
_FORMS_LOCK = threading.Lock()
# The keys of formulas derived here since derived() was last asked (a task derives few).
_DERIVED: deque[tuple[str, tuple[str, ...]]] = deque(maxlen=8)


def _fits(entry: Kept) -> bool:
    """Whether the formula cache can keep ``entry``: LRUCache refuses one past its bound."""
    return form_bytes(entry) <= _FORMS.maxsize


def derived() -> bytes | None:
    """The formulas this process derived since the last call, pickled for adopt(), or None.

    A worker hands them to the engine, which lends them to the jobs of the same
    function (serve.formulas): each function's formula is worked out once per
    server, not once per worker and again by each worker started after it.
    """
    with _FORMS_LOCK:
        entries = [(key, kept) for key in _DERIVED if (kept := _FORMS.get(key)) is not None]
        _DERIVED.clear()
    return pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL) if entries else None


def adopt(data: bytes) -> None:
    """Keep the formulas another worker derived (derived()); those known here stay as they are."""
    for key, kept in pickle.loads(data):
        with _FORMS_LOCK:
            if key not in _FORMS and _fits(kept):
                _FORMS[key] = kept


def simplest(derivative: Any) -> tuple[Any, bool]:
    """``derivative`` simplified within SIMPLIFY_SECONDS, or as it is; and whether it was."""
    import sympy

    if sympy.count_ops(derivative) > SIMPLIFY_MAX_OPS:
        return derivative, False
    try:
        with deadline(SIMPLIFY_SECONDS):
            if derivative.is_polynomial():
                candidate = sympy.expand(derivative)
            else:
                candidate = sympy.simplify(derivative)
    except Late:
        return derivative, False
    # A form with functions the student never wrote (cosh for a sigmoid) teaches less.
    new_functions = {type(f) for f in candidate.atoms(sympy.Function)} - {
        type(f) for f in derivative.atoms(sympy.Function)
    }
    if not new_functions and sympy.count_ops(candidate) <= sympy.count_ops(derivative):
        return candidate, True
    return derivative, True


def forms(parsed: Parsed, names: tuple[str, ...]) -> tuple[Form, ...]:
    """dy/dx for each of ``names``, remembered per normalized function within FORMS_MAX_BYTES."""
    key = (parsed.normalized, names)
    with _FORMS_LOCK:
        kept = _FORMS.get(key)
    if kept is not None:
        return kept[1]
    import sympy

    from ..trace.symbolic import plain_corners, symbol, to_sympy

    # relu and clamp differentiate to PyTorch's subgradients at their corners (0 at
    # relu's, 1 on a bound of clamp); maximum and minimum split a tie as PyTorch does.
    function = to_sympy(parsed.tree, corners=True)
    made = []
    for name in names:
        raw = plain_corners(sympy.diff(function, symbol(name)))
        shown, simplified = simplest(raw)
        gathered = sympy.powsimp(shown)  # y*x**(y - 1), not x**y*y/x: a value at x = 0
        if gathered != shown and sympy.count_ops(gathered) <= sympy.count_ops(shown):
            shown = gathered
        made.append(Form(name, formula_text(shown), mathml(shown), simplified, raw))
    entry = (parsed.normalized, tuple(made))
    with _FORMS_LOCK:
        if _fits(entry):
            _FORMS[key] = entry
            _DERIVED.append(key)
    return entry[1]


def _size(parsed: Parsed) -> int:
    """The tree's nodes as sympy sees them: a program's value used twice counts twice
    (``b = a*a`` after ``a = x*x`` is 7 nodes, not 5), so a chain of such lines grows
    as sympy's work does, not as the text does."""
    sizes: dict[int, int] = {}
    for node in post_order(parsed.tree):
        sizes[id(node)] = 1 + sum(sizes[id(kid)] for kid in children(node))
    return sizes[id(parsed.tree)]


def scalar_only(parsed: Parsed, shapes: dict[str, tuple[int, ...]]) -> bool:
    """Whether the function works on single numbers only: no list, no @, no tensor op, no tensor variable."""
    for node in post_order(parsed.tree):
        if isinstance(node, ListConst) or (isinstance(node, BinOp) and node.op == "@"):
            return False
        if isinstance(node, Call) and node.func in TENSOR_ONLY:
            return False
    return not any(shapes.values())


def known(parsed: Parsed, names: tuple[str, ...]) -> bool:
    """Whether this process has derived the formulas of ``names`` already (forms)."""
    with _FORMS_LOCK:
        return (parsed.normalized, names) in _FORMS


def derivatives(
    parsed: Parsed, trace: Trace, inputs: dict[str, Any], limits: Limits, known_only: bool = False,
) -> dict[str, Any] | None:
    """dy/dx for each variable with requires_grad, beside PyTorch's ``x.grad``.

    ``known_only``: None instead, if the formulas would need sympy's work here now.

    ``{"kind": "formula" | "finite_difference", "reason": None | sentence,
    "derivatives": [{"variable", "text", "mathml", "simplified", "value", "grad", "agrees",
    "note"}]}`` where ``note`` says why a derivative disagrees, or what PyTorch picks at a corner.
    ``text`` and ``mathml`` are None for finite differences.
    """
    shapes = {v.name: tuple(v.shape) for v in trace.variables}
    # A leaf the output does not reach keeps grad None in PyTorch: there is nothing to compare.
    grads = {v.name: grad for v in trace.variables if v.requires_grad and (grad := v.grad) is not None}
    wanted = tuple(grads)
    reason = None
    if not scalar_only(parsed, shapes):
        reason = NO_FORMULA_TENSOR
    elif _size(parsed) > SYMBOLIC_MAX_NODES:
        reason = NO_FORMULA_LARGE
    if reason is None and known_only and not known(parsed, wanted):
        return None
    if reason is None:
        try:
            made = forms(parsed, wanted)
        except (ValueError, TypeError):  # sympy refuses Max(zoo, x): zoo has no order
            reason = NO_FORMULA_UNDEFINED
        else:
            if any(_undefined(form.expr) for form in made):  # x/0, 0**x: zoo or nan in it
                reason = NO_FORMULA_UNDEFINED
    if reason is None:
        values = {v.name: scalar(v.value) for v in trace.variables}
        out = [_compared(form, values, scalar(grads[form.variable])) for form in made]
        return {"kind": "formula", "reason": None, "derivatives": out}
    differences = finite_differences(parsed, inputs, wanted, limits)
    out = []
    for name in wanted:
        estimate = differences[name]
        flat_grad = torch.tensor(_numbers(grads[name]), dtype=torch.float64).reshape(-1)
        n = estimate.numel()
        pairs = zip(estimate.tolist(), flat_grad[:n].tolist(), strict=False)
        wrong = [(a, b) for a, b in pairs if not agrees_loosely(a, b)]
        ok = not wrong
        note = None if ok else PARTING.get(parting(*wrong[0]) or "", NO_AGREEMENT_FD)
        out.append({
            "variable": name, "text": None, "mathml": None, "simplified": False,
            "value": to_value(estimate) if shapes[name] else to_value(estimate[0]),
            "grad": grads[name], "agrees": ok, "compared": n,
            "note": note,
        })
    return {"kind": "finite_difference", "reason": reason, "derivatives": out}


def _undefined(expr: Any) -> bool:
    """Whether a derivative holds sympy's complex infinity or nan: undefined everywhere."""
    import sympy

    return bool(expr.has(sympy.zoo, sympy.nan))


def _compared(form: Form, values: dict[str, float], grad: float) -> dict[str, Any]:
    """One formula at the inputs beside PyTorch's ``grad``, with the note a ✗ needs."""
    import sympy

    from ..trace.symbolic import evaluate as evaluate_sympy
    from ..trace.symbolic import symbol

    shown = {"variable": form.variable, "text": form.text, "mathml": form.mathml,
             "simplified": form.simplified, "grad": to_value(grad)}
    if form.expr.has(sympy.I):  # a negative base: the formula is complex, PyTorch gives nan
        return {**shown, "text": None, "mathml": None, "value": to_value(math.nan),
                "agrees": False, "note": NO_REAL_DERIVATIVE}
    at = {symbol(n): v for n, v in values.items()}
    value = float(evaluate_sympy(form.expr, at))
    if not math.isfinite(value):  # x**y*y/x at x = 0: gathered, y·x^(y − 1) has a value
        value = float(evaluate_sympy(sympy.powsimp(form.expr, force=True), at))
    reason = parting(value, grad)
    if reason is not None:
        note: str | None = PARTING[reason]
    else:
        corners = [h.args[0] for h in form.expr.atoms(sympy.Heaviside, sympy.sign)]
        note = AT_A_CORNER if any(float(evaluate_sympy(c, at)) == 0 for c in corners) else None
    return {**shown, "value": to_value(value), "agrees": reason is None, "note": note}


def agrees_loosely(estimate: float, grad: float) -> bool:
    """A finite difference in float64 against float32 autograd: a wider tolerance."""
    if not (math.isfinite(estimate) and math.isfinite(grad)):
        return agrees(estimate, grad)
    return abs(estimate - grad) <= 1e-3 + 1e-3 * max(abs(estimate), abs(grad))


def _numbers(value: Any) -> Any:
    """A result value back as floats (its "nan"/"inf" strings too)."""
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return float(value)


def finite_differences(
    parsed: Parsed, inputs: dict[str, Any], names: tuple[str, ...], limits: Limits
) -> dict[str, torch.Tensor]:
    """Central differences (f(x+h) - f(x-h)) / 2h in float64 for the first numbers of each
    variable, flattened: up to FD_MAX_NUMBERS each and FD_MAX_TOTAL in all."""
    base = {name: torch.tensor(value, dtype=torch.float64) for name, value in inputs.items()}
    out: dict[str, torch.Tensor] = {}
    each = max(1, min(FD_MAX_NUMBERS, FD_MAX_TOTAL // max(1, len(names))))
    with torch.no_grad():
        for name in names:
            flat = base[name].reshape(-1)
            n = min(flat.numel(), each)
            estimate = torch.empty(n, dtype=torch.float64)
            for i in range(n):
                h = FD_STEP * max(1.0, abs(float(flat[i])))
                ends = []
                for sign in (1.0, -1.0):
                    moved = flat.clone()
                    moved[i] += sign * h
                    tensors = {**base, name: moved.reshape(base[name].shape)}
                    ends.append(float(torch.as_tensor(evaluate(parsed, tensors, limits)).sum()))
                estimate[i] = (ends[0] - ends[1]) / (2 * h)
            out[name] = estimate
    return out

