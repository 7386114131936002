"""Each step's rule: derived from the op's symbolic form, printed, checked against PyTorch.

For every node the backward pass runs, :func:`rules` says how PyTorch turns the
gradient that arrives into the gradient it sends to each input. An element-wise
op's local derivative is sympy's derivative of its form
(autograd_playground.core.trace.forms), printed in terms of the operands as the
student wrote them (autograd_playground.core.trace.printing); a tensor op's
rule is applied to what arrived (``G·Bᵀ``, ``g·1``, ``g/n``). Either way the
rule is computed with numpy at the request's own numbers (symbolic.evaluate,
never lambdify; numeric.apply) and compared with PyTorch's number from the same
request: its local derivative (the node called on ones) or what it really sent.
Each rule also carries notes: non-differentiable points, domains, inf or nan.
Derived forms are cached per node class and constants, not per text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from ..language.tree import Expr
from ..result import OWN_NUMBERS, Rule, Value
from . import numeric, remembered
from .forms import FORMS, RESHAPES, TENSOR_RULES, derived, held_constants
from .numeric import as_value, close, parting
from .printing import Operand, printed
from .remembered import fresh
from .symbolic import evaluate

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
    # What the node saved for its tensor rule: arrays, and dimensions as ints or int tuples.
    saved: dict[str, Any] = field(default_factory=dict)
    texts: tuple[str, str] = ("A", "B")  # the owner's operands as typed, for @
    # Whether each text reads right after a minus without parentheses (the tree knows:
    # not a sum, difference or negation); False: parentheses around any text not a name.
    bare: tuple[bool, bool] = (False, False)


def rules(facts: NodeFacts) -> tuple[Rule | None, ...]:
    """One rule per input of the node (None where nothing is sent)."""
    out: list[Rule | None] = []
    for index, sent in enumerate(facts.sent):
        if sent is None or index >= len(facts.inputs) or facts.inputs[index] is None:
            out.append(None)
        elif facts.name in FORMS:
            out.append(_local_rule(facts, index))
        else:
            out.append(_tensor_rule(facts, index, sent))
    return tuple(out)


def _constant_slots(facts: NodeFacts) -> dict[str, Operand]:
    """Which placeholder each constant operand fills: the inputs without a node, then k."""
    slots: dict[str, Operand] = {}
    free = list(facts.constants)
    for i in range(2):
        if i < len(facts.inputs) and facts.inputs[i] is None and free:
            slots[f"p{i}"] = free.pop(0)
    for held in held_constants(facts.name):
        if free:
            slots[held] = free.pop(0)
    return slots


@functools.lru_cache(maxsize=4096)
def _plan(
    name: str, index: int, layout: tuple[tuple[str, sympy.Expr | None], ...], form: Callable,
) -> tuple[sympy.Expr, tuple[tuple[str, sympy.Symbol], ...], frozenset[str]]:
    """What a rule's formula is for one shape of the node: the derived form, the
    placeholders it uses, and the constant slots that stay names in it.

    ``layout`` holds each constant slot and its exact number (None where it has none);
    the inputs in the graph are the other placeholders. The same op with the same
    constants has one plan, whatever the names and values of a request: a new value
    only evaluates it. ``form`` (FORMS[name]) is part of the key: a form replaced is
    derived anew.
    """
    numeric = [(slot, exact) for slot, exact in layout if exact is not None and exact != 0]
    zeros = [(slot, exact) for slot, exact in layout if exact is not None and exact == 0]
    named = {slot for slot, exact in layout if exact is None}
    expr = derived(name, index, (*numeric, *zeros))
    if zeros and expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        # x/0, 0**x: the zero stays a name, so the rule reads 1/0, not sympy's zoo
        expr = derived(name, index, tuple(numeric))
        named.update(slot for slot, _ in zeros)
    used = tuple(sorted((s.name, s) for s in expr.free_symbols))
    return expr, used, frozenset(named)


def forget() -> None:
    """Empty the caches of rules (for tests that compare a first computation)."""
    _plan.cache_clear()
    remembered.forget()
    derived.cache_clear()


def _local_rule(facts: NodeFacts, index: int) -> Rule:
    slots = _constant_slots(facts)
    layout = tuple((slot, o.exact) for slot, o in slots.items())
    expr, used, named = _plan(facts.name, index, layout, FORMS[facts.name])
    operands: dict[str, Operand] = {
        f"p{i}": operand for i, operand in enumerate(facts.inputs[:2]) if operand is not None}
    operands.update((slot, o) for slot, o in slots.items() if slot in named)
    present = [(n, symbol, operands[n]) for n, symbol in used if n in operands]
    torch_local = facts.torch_local[index] if index < len(facts.torch_local) else None
    if len(present) < len(used) or any(o.value is None for _, _, o in present):
        # An operand with no name and no value (a node of the gradient's own graph): no
        # formula to write, only what PyTorch computed.
        if torch_local is None:
            return Rule("local", OWN_NUMBERS, None, None, None, {}, _notes(facts, index))
        own = as_value(torch_local)
        return Rule("local", OWN_NUMBERS, own, own, None, {}, _chain_notes(facts, index, torch_local))
    formula = printed(expr, tuple((n, o.text, o.precedence) for n, _, o in present))
    where = {o.defined[0]: o.defined[1] for _, _, o in present if o.defined}
    if torch_local is None:
        return Rule("local", formula, None, None, None, where, _notes(facts, index))
    values = {symbol: o.value for _, symbol, o in present}
    key = remembered.key_of(
        facts.arrived, facts.sent[index], torch_local, len(facts.inputs),
        *[o and o.value for o in facts.inputs], *[o.value for o in facts.constants])
    slot = [] if key is None else remembered.slot((expr, facts.name, index, key))
    if not slot:  # two threads may both fill it: with the same numbers
        slot.append(_checked(facts, index, expr, values, torch_local))
    ours, theirs, agreed, notes = slot[0]
    return Rule("local", formula, fresh(ours), fresh(theirs), agreed, where, notes)


def _checked(
    facts: NodeFacts, index: int, expr: sympy.Expr, values: dict, torch_local: Any,
) -> tuple[Value | None, Value, bool | None, tuple[str, ...]]:
    """A rule's numbers: the formula evaluated here, PyTorch's, whether they agree, the notes."""
    notes = _chain_notes(facts, index, torch_local)
    try:
        ours = evaluate(expr, values)
    except (TypeError, KeyError):  # pragma: no cover - every derived class has a numeric form
        return None, as_value(torch_local), None, notes
    shape = np.shape(torch_local)
    ours = np.broadcast_to(ours, shape) if np.shape(ours) != shape else ours
    agreed = close(ours, torch_local)
    return (as_value(ours), as_value(torch_local), agreed,
            notes if agreed else _with_reason(notes, ours, torch_local))


def _chain_notes(facts: NodeFacts, index: int, torch_local: Any) -> tuple[str, ...]:
    """The rule's notes, and ``kernel-order`` or ``kernel-own`` where the chain rule's line,
    what arrived times PyTorch's float32 local derivative, is not exactly what PyTorch sent:
    its kernel computes that gradient another way (numeric.chain_parting)."""
    notes = _notes(facts, index)
    sent = facts.sent[index]
    if "broadcast" in notes or facts.arrived is None or sent is None:
        return notes  # the page shows no product to check
    reason = numeric.chain_parting(facts.arrived, torch_local, sent)
    if reason == "kernel-own":  # not multiplied: inf or nan arriving does not spread
        return (*(n for n in notes if n not in ("inf-arrived", "nan-arrived")), reason)
    return notes if reason is None else (*notes, reason)


# The notes that already say why a formula and PyTorch part ways at a point.
_EXPLAINING = {"relu-at-zero", "abs-at-zero", "sqrt-at-zero", "log-at-zero", "outside-domain",
               "division-by-zero", "tie-split", "clamp-at-bound", "nan-arrived", "inf-arrived",
               "power-at-zero", "zero-base"}


def _with_reason(notes: tuple[str, ...], ours: Any, theirs: Any) -> tuple[str, ...]:
    """``notes`` with the reason for a ✗ (numeric.parting), unless float32 is not the cause
    and a note already explains the point."""
    reason = parting(ours, theirs)
    if reason is None or reason in notes:
        return notes
    if reason in ("subgradient", "formula-undefined") and _EXPLAINING & set(notes):
        return notes
    return (*notes, reason)


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
    # x**0.5, x**-1 at 0: k·x^(k − 1) divides by zero; x**y, 0**x at a zero base: 0·ln(0).
    "PowBackward0": (("p0", "k", lambda v, k: (v == 0) & (k < 1) & (k != 0), "power-at-zero"),),
    "PowBackward1": (("p0", "p1", lambda v, _: v == 0, "zero-base"),),
    "PowBackward2": (("k", "p0", lambda k, _: k == 0, "zero-base"),),
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


def _tensor_rule(facts: NodeFacts, index: int, sent: np.ndarray) -> Rule:
    name = facts.name
    if name in RESHAPES:
        kind, formula = "reshape", "G"
    else:
        kind, formulas = TENSOR_RULES.get(name, ("unknown", ()))
        a, b = (_operand_text(t) for t in facts.texts)
        # In a difference, {a} (before the minus) needs no parentheses; {b} only where not bare.
        b_after_minus = facts.texts[1] if facts.bare[1] else b
        formula = (formulas[index].format(A=a, B=b, a=facts.texts[0], b=b_after_minus)
                   if index < len(formulas) else OWN_NUMBERS)
    key = remembered.key_of(facts.arrived, sent, facts.saved)
    # numeric.apply is part of the key, as the form is of a plan: one replaced computes anew.
    slot = [] if key is None else remembered.slot((name, index, numeric.apply, key))
    if not slot:  # two threads may both fill it: with the same numbers
        slot.append(_tensor_numbers(facts, index, sent, kind, formula == OWN_NUMBERS))
    ours, theirs, agreed, where, notes = slot[0]
    return Rule(kind, formula, fresh(ours), fresh(theirs), agreed, dict(where), notes)


def _tensor_numbers(
    facts: NodeFacts, index: int, sent: np.ndarray, kind: str, own_numbers: bool,
) -> tuple[Value | None, Value, bool | None, dict[str, Value], tuple[str, ...]]:
    """A tensor rule's numbers: its value here, PyTorch's, whether they agree, what its
    formula's letters stand for, the notes."""
    g = facts.arrived
    where: dict[str, Value] = {}
    if kind == "reshape":
        ours = None if g is None else np.reshape(g, np.shape(sent))
    else:
        ours = numeric.apply(kind, index, g, facts.saved, np.shape(sent))
        if kind in ("mean", "mse"):
            where["n"] = float(int(np.prod(np.shape(sent))))
        elif kind == "nll" and "target" in facts.saved:
            where["k"] = float(np.asarray(facts.saved["target"]).reshape(-1)[0])
    notes = _notes(facts, index)
    if ours is None:
        return as_value(sent) if own_numbers else None, as_value(sent), None, where, notes
    agreed = close(ours, sent)
    return (as_value(ours), as_value(sent), agreed, where,
            notes if agreed else _with_reason(notes, ours, sent))


def _operand_text(text: str) -> str:
    return text if text.replace("_", "").isalnum() else f"({text})"


