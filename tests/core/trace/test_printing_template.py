"""trace.printing: a formula printed from its template reads exactly as printed directly."""

from __future__ import annotations

import itertools

import sympy

from autograd_playground.core.language.tree import ATOM, PRECEDENCE
from autograd_playground.core.trace import printing
from autograd_playground.core.trace.forms import FORMS, derived, held_constants

TEXTS = ["x", "v12", "-x", "−2", "a/b", "W @ x", "x + 1", "2*x", "x**2", "-a/b @ c", "sin(y)", "0.5"]
PRECEDENCES = [ATOM, PRECEDENCE["+"], PRECEDENCE["*"], PRECEDENCE["unary"], PRECEDENCE["**"]]


def directly(expr: sympy.Expr, texts: tuple[tuple[str, str, int], ...]) -> str:
    return printing._print_into(expr, {}, {n: (t, p) for n, t, p in texts})[0]


def formulas() -> list[sympy.Expr]:
    out = []
    for name in FORMS:
        for index in range(2):
            held = held_constants(name)
            for constants in ((), tuple((k, sympy.Integer(3)) for k in held),
                              tuple((k, sympy.Rational(-1, 2)) for k in held)):
                try:
                    out.append(derived(name, index, constants))
                except (IndexError, ValueError):
                    continue
    return out


def test_every_derived_formula_reads_the_same_from_its_template() -> None:
    checked = 0
    for expr in formulas():
        names = sorted(s.name for s in expr.free_symbols)
        for chosen in itertools.islice(itertools.product(TEXTS, PRECEDENCES), 0, None, 7):
            texts = tuple((n, chosen[0] if i == 0 else TEXTS[(i * 5) % len(TEXTS)],
                           chosen[1] if i == 0 else PRECEDENCES[i % len(PRECEDENCES)])
                          for i, n in enumerate(names))
            assert printing.printed(expr, texts) == directly(expr, texts), (expr, texts)
            checked += 1
    assert checked > 200


def test_a_composite_operand_is_bracketed_as_its_own_text_asks() -> None:
    p0, p1 = sympy.Symbol("p0", real=True), sympy.Symbol("p1", real=True)
    for expr in (p0 * p1, 2 * p0 / p1, -p0 * p1**2, p1 * sympy.sin(p0), p0 + p1, p0 - 3 * p1):
        for a, b in itertools.product(TEXTS, repeat=2):
            for pa, pb in itertools.product(PRECEDENCES, repeat=2):
                texts = (("p0", a, pa), ("p1", b, pb))
                assert printing.printed(expr, texts) == directly(expr, texts), (expr, texts)
