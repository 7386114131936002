"""A notebook cell's lines that compute nothing: ``import torch``, ``print(...)``, ``y.backward()``.

The lesson's cell, pasted into the function field, is a program with three more kinds
of line::

    import torch
    x = torch.tensor(2.0, requires_grad=True)
    y = 5*x**3 + 2*x**2 + 4*x + 8
    y.backward()
    print(x.grad)

``read_line`` says which kind a line that assigns no name is, read by Python's parser
and checked against a short list; nothing is run. Imports are of torch only (and
torch.nn.functional under a name, ``F``); ``print`` may show names, their ``.grad`` and
text; ``backward()`` takes no arguments. Where each may stand (backward names the
output, and only print lines follow it) is the program's check (program.py).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from .forms import FUNCTIONAL, tensor_value
from .rules import ExprError
from .text import check_characters
from .values import literal, value_text

# A line that assigns: a name, then "=" that is not "==".
ASSIGNMENT = re.compile(r"^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(?!=)")


def line_value(text: str) -> tuple[Any, bool | None] | None:
    """What a line writes after its ``=`` if it is a value line: a value (``2``, ``[1, 2]``,
    values.literal) and None, or a cell's tensor (``torch.tensor(2.0, requires_grad=True)``)
    and whether it requires grad; None for an expression (a step)."""
    value = literal(text)
    return (value, None) if value is not None else tensor_value(text)


@dataclass(frozen=True)
class CellLine:
    """A line of a cell that is read, not computed; ``text`` as typed, without its indent."""

    kind: str  # "import", "print" or "backward"
    text: str
    name: str = ""  # backward: the tensor it is called on; import: the name a module is bound to
    module: str = ""  # import: the module that name stands for


def read_line(text: str) -> CellLine | None:
    """The cell line ``text`` is (without its indent), or None when it is none of the kinds:
    the program then says that a line must assign a name. Refused with a sentence where it
    is one of the kinds written in a way that is not read; columns count in ``text``."""
    check_characters(text)
    try:
        body = ast.parse(text, mode="exec").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(body) != 1:
        return None
    statement = body[0]
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return _imported(statement, text)
    if isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign):
        target = statement.targets[0] if isinstance(statement, ast.Assign) else statement.target
        if not isinstance(target, ast.Name):
            raise refuse(
                "Only names can be assigned; '{token}' at column {column} is not a name.",
                target,
                text,
            )
        return None
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return None
    call = statement.value
    if isinstance(call.func, ast.Name) and call.func.id == "print":
        shown: list[ast.expr | ast.keyword] = [a for a in call.args if not _printable(a)]
        shown = sorted([*shown, *call.keywords], key=lambda node: node.col_offset)
        if shown:
            raise refuse(
                "print(...) may show names, their .grad and text; '{token}' at column "
                "{column} is none of these.",
                shown[0],
                text,
            )
        return CellLine("print", text.rstrip())
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "backward" \
            and isinstance(func.value, ast.Name):
        if call.args or call.keywords:
            raise refuse(
                "backward() is read without arguments, as the lesson calls it ('{token}' at "
                "column {column}).",
                call,
                text,
            )
        return CellLine("backward", text.rstrip(), func.value.id)
    return None


def _imported(statement: ast.Import | ast.ImportFrom, text: str) -> CellLine:
    """``import torch``, ``import torch.nn.functional as F``, ``from torch.nn import functional
    as F``; any other import is refused."""
    if isinstance(statement, ast.ImportFrom):
        names = [(f"{statement.module}.{a.name}", a) for a in statement.names]
        allowed = statement.level == 0 and all(full == FUNCTIONAL for full, _ in names)
        bound = [(a.asname or a.name, full) for full, a in names]
    else:
        names = [(a.name, a) for a in statement.names]
        allowed = all(
            full == FUNCTIONAL or (full == "torch" and a.asname is None) for full, a in names
        )
        bound = [(a.asname, full) for full, a in names if a.asname]
    if not allowed:
        raise refuse(
            "Only import torch and import torch.nn.functional as F are read ('{token}' at "
            "column {column}).",
            statement,
            text,
        )
    name, module = bound[0] if bound else ("", "")
    return CellLine("import", text.rstrip(), name, module)


def _printable(node: ast.expr) -> bool:
    """A name, a name's ``.grad``, or text in quotes: what a cell's print may show."""
    if isinstance(node, ast.Attribute) and node.attr == "grad":
        node = node.value
    if isinstance(node, ast.Name):
        return not node.id.startswith("_")
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def refuse(template: str, node: ast.AST, text: str) -> ExprError:
    start = getattr(node, "col_offset", 0)
    end = getattr(node, "end_col_offset", None) or start + 1
    return ExprError(template, {"token": text[start:end]}, start, end)


@dataclass(frozen=True)
class Cell:
    """A program read as a notebook cell, as the page's note tells it."""

    values: tuple[tuple[str, str, bool | None], ...]  # name, value as a field writes it, grad
    steps: tuple[tuple[str, str], ...]  # each line that computes: its name, its expression
    output: str  # the name backward() is called on, or the last line's
    backward: bool  # whether the cell calls backward()
    skipped: tuple[str, ...]  # the import and print lines, as typed


def read_cell(text: str) -> Cell | None:
    """How ``text`` (its line breaks as ``\\n``) reads as a notebook cell, read without checking
    it: the page shows it once the program has been read. None for a program that is no
    cell: one without an import, print, backward or torch.tensor line."""
    values: list[tuple[str, str, bool | None]] = []
    steps: list[tuple[str, str]] = []
    skipped: list[str] = []
    output, cell = "", False
    for raw in text.split("\n"):
        match = ASSIGNMENT.match(raw)
        if match is not None:
            read = line_value(raw[match.end():])
            if read is None:
                steps.append((match.group(1), raw[match.end():].strip()))
            else:
                values.append((match.group(1), value_text(read[0]), read[1]))
                cell = cell or read[1] is not None
            continue
        try:
            found = read_line(raw.strip()) if raw.strip() else None
        except ExprError:
            found = None
        if found is not None:
            cell = True
            if found.kind == "backward":
                output = found.name
            else:
                skipped.append(found.text)
    if not cell:
        return None
    return Cell(tuple(values), tuple(steps), output or (steps[-1][0] if steps else ""),
                bool(output), tuple(skipped))
