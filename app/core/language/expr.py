"""The function language: student text -> checked expression tree.

The text is parsed by Python's own parser (``ast``, ``eval`` mode) and the
resulting tree is walked against a whitelist (check.py). A program is read
here too, one line's expression after another, between the checks program.py
makes on its lines. Nothing here ever evaluates the text: no ``eval``,
``exec``, ``compile`` or ``sympify``. Every refusal is an :class:`ExprError`
that names the problem and points at it (a column and the offending text), so
a student can fix it.

This module imports neither torch nor anything from the web layer.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping

from .check import Checker
from .forms import may_have_forms, torch_forms
from .program import Program, is_program, line_breaks, moved
from .rules import ExprError, Limits, TooLong
from .text import caret_to_power, check_characters, decimal_comma, syntax_error
from .tree import Parsed

# --- parsing ----------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def checked(expression: str, limits: Limits) -> Parsed:
    """``parse``, remembered: a class sends the same few texts again and again.

    Both the web process (checking a job before it is queued) and each worker
    (computing it) read the same text, so both keep it. The checked tree is
    frozen, so sharing it is safe; a refusal is not kept and is raised again
    each time. Its normalized text is printed where it is first read (the worker's
    trace), and kept with it; the web process, which only checks, never prints it.
    """
    return parse(expression, limits)


def parse(text: str, limits: Limits = Limits()) -> Parsed:
    """Parse and check ``text``, a function or a program; raise ExprError on anything
    outside the language."""
    if not isinstance(text, str):
        raise ExprError("The function must be text.")
    text = line_breaks(text)
    # Before anything else reads it: a program's lines are bounded by the whole.
    if len(text) > limits.max_length:
        raise TooLong(
            "The function is {length} characters long; the limit is {limit}.",
            {"length": len(text), "limit": limits.max_length},
            limits.max_length,
            len(text),
        )
    if is_program(text):
        try:
            return _parse_program(text, limits)
        except ExprError as error:
            raise error.locate(text) from None
    return parse_expression(text, limits)


def parse_expression(
    text: str, limits: Limits = Limits(), modules: Mapping[str, str] | None = None
) -> Parsed:
    """Parse and check one expression on one line, already within the length limit.

    Torch's spellings of the language's functions (``torch.sin(x)``, ``x.sum()``) are read
    as the language's own calls (forms.py); ``modules`` are the names a cell imported a
    module as (``F``)."""
    if not text.strip():
        raise ExprError("Type a function, for example 5*x**3 + 2*x**2 + 4*x + 8.")
    check_characters(text)
    source, origin = caret_to_power(text)
    try:
        module = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise syntax_error(exc, text, origin) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError(
            "The function is nested too deeply; the limit is {limit} levels.",
            {"limit": limits.max_depth},
        ) from None
    checker = Checker(text, origin, limits)
    body = module.body
    try:
        if may_have_forms(source):  # most texts have none: the walk is saved
            body = torch_forms(body, checker.refuse, modules)
        tree = checker.check(body)
    except ExprError as refused:
        # "2,5*x" is a tuple to Python, and almost always a decimal comma.
        hint = decimal_comma(text) if refused.params.get("what") == "a tuple" else None
        raise (hint or refused) from None
    return Parsed(tree=tree, text=text, variables=tuple(checker.variables))


def _parse_program(text: str, limits: Limits) -> Parsed:
    """Read each line's expression in turn, and let the program check and join them.

    A line that writes only a value (``x = 2``, ``w = [1, 2, 3]``) sets that variable's
    value instead (Program.statement reads which lines do, with values.literal).
    """
    program = Program(text, limits)
    for row in program.rows:
        if program.cell_line(row):  # import torch, print(x.grad), y.backward(): not run
            continue
        line = program.statement(row)
        if line.value is not None:  # x = 2: the variable's value, not a step
            program.set_value(line, line.value)
            continue
        try:
            parsed = parse_expression(line.text, limits, program.modules)
        except ExprError as error:
            raise moved(error, line.text_start).locate(text) from None
        program.add(line, parsed)
    return program.joined()
