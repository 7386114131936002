"""Programs: a few lines ``name = expression``, the last one the output.

::

    z = w*x + b
    h = tanh(z)
    loss = (h - t)^2

expr.parse reads a program: it takes the lines split here and reads each line's
expression with the same parser and whitelist as a single function. This module
reads no expression; it adds only what lines need: a name per line, assigned
once and before it is used, bounds on lines and operations, and an input.
Positions stay offsets into the whole text, so a refusal on line 3 points at
line 3; the web layer says "line 3, column 5".

A later line's tree holds an earlier line's tree itself wherever it uses the
name, so a named value is computed once and the graph is the one PyTorch builds
for the program.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .cell import ASSIGNMENT, CellLine, line_value, read_line
from .rules import CONSTANTS, FUNCTIONS, ExprError, Limits
from .tree import Call, Expr, Line, LineValue, Parsed, Unary, Var, children, post_order
from .values import check_value, value_text


def line_breaks(text: str) -> str:
    """The text with each line break as exactly ``\\n``: a browser's form sends a text
    area's lines with ``\\r\\n``, old editors end them with ``\\r``. Nothing else counts
    as a line break (``\\x0b``, ``\\x85``, U+2028 stay characters, and are refused)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_program(text: str) -> bool:
    """A text with a line that assigns a name. Several lines without one are a function
    broken over lines by mistake, and are told to stay on one line."""
    return any(ASSIGNMENT.match(line) for line in text.split("\n"))


def line_names(text: str) -> tuple[str, ...]:
    """The names a program's steps assign, in order (read without parsing the lines);
    empty for a single function. A value line (``x = 2``) is no step."""
    if not is_program(text):
        return ()
    return tuple(
        m.group(1) for line in text.split("\n")
        if (m := ASSIGNMENT.match(line)) and line_value(line[m.end():]) is None
    )


def value_lines(text: str) -> tuple[LineValue, ...]:
    """The value lines of a program (``x = 2``, ``w = [1, 2, 3]``), in order, read without
    checking the rest: what a page puts in the value fields, and says, before the
    program is read. A name set twice keeps its first line (the reader refuses the
    second). Empty for a single function."""
    text = line_breaks(text)
    if not is_program(text):
        return ()
    found: dict[str, LineValue] = {}
    for row in split_lines(text):
        match = ASSIGNMENT.match(row.raw)
        read = None if match is None else line_value(row.raw[match.end():])
        if match is not None and read is not None and match.group(1) not in found:
            end = row.start + len(row.raw.rstrip())
            found[match.group(1)] = LineValue(
                match.group(1), read[0], value_text(read[0]), row.number, row.start, end, read[1]
            )
    return tuple(found.values())


def split_values(text: str) -> tuple[str, dict[str, str]]:
    """A program without its value lines, and their values as a value field writes them.

    Each value line is left as an empty line, so the other lines keep their numbers and
    columns: ``"x = 2\ny = x**2"`` gives ``("\ny = x**2", {"x": "2"})``.
    """
    text = line_breaks(text)
    found = value_lines(text)
    lines = text.split("\n")
    for value in found:
        lines[value.line - 1] = ""
    return "\n".join(lines), {v.name: v.text for v in found}


def check_collapse(text: str, names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The program lines to draw as one box each, in line order; a name that is not a
    line of the program is refused with a sentence."""
    lines = line_names(text)
    for name in names:
        if name not in lines:
            if not lines:
                raise ExprError(
                    "collapse names '{name}', but only the lines of a program can be collapsed, "
                    "and this function is not a program.",
                    {"name": name[:40]},
                )
            raise ExprError(
                "collapse names '{name}', which is not a line of the program; its lines are "
                "{lines}.",
                {"name": name[:40], "lines": ", ".join(lines)},
            )
    return tuple(n for n in lines if n in names)


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of a program as typed, not blank; ``start`` is where it begins in the whole text."""

    number: int  # from 1
    start: int
    raw: str


@dataclasses.dataclass(frozen=True)
class Statement:
    """A line ``name = expression`` whose name is checked, before its expression is read.

    ``text`` is the expression as typed, and ``text_start`` where it begins in the whole
    text; ``where`` spans the name, and ``end`` the line without its trailing spaces.
    """

    number: int
    name: str
    where: tuple[int, int]
    start: int
    end: int
    text_start: int
    text: str
    value: Any = None  # what a value line (x = 2) writes, else None: a step
    requires_grad: bool | None = None  # what a cell's torch.tensor(...) line says


def split_lines(text: str) -> list[Row]:
    """A program's lines that are not blank, with their numbers and where each begins."""
    rows = []
    offset = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        if raw.strip():
            rows.append(Row(number, offset, raw))
        offset += len(raw) + 1
    return rows


class Program:
    """What a program checks beyond its lines' expressions, one line at a time.

    The reader (expr.parse) takes each row, asks :meth:`statement` for its name and
    expression text, reads the expression, and hands the tree to :meth:`add`;
    :meth:`joined` makes one tree of the lines. So a refusal names the first line
    at fault, whichever check finds it. ``text`` is already within the length limit.
    """

    def __init__(self, text: str, limits: Limits):
        self.text = text
        self.limits = limits
        self.rows = split_lines(text)
        if len(self.rows) > limits.max_lines:
            raise ExprError(
                "The program has {count} lines; the limit is {limit}.",
                {"count": len(self.rows), "limit": limits.max_lines},
            )
        self.lines: list[Line] = []
        self.assigned: dict[str, tuple[Expr, int]] = {}  # name -> its tree, and its line number
        self.values: dict[str, LineValue] = {}  # name -> the value line that sets it
        self.inputs: dict[str, int] = {}  # variable -> the first line that uses it
        self.operations = 0
        self.modules: dict[str, str] = {}  # a cell's import torch.nn.functional as F: F -> it
        self.backward: CellLine | None = None  # a cell's y.backward()
        self.backward_line = 0

    def cell_line(self, row: Row) -> bool:
        """Whether ``row`` is a notebook cell's line that is read, not computed (cell.py):
        ``import torch``, ``print(...)``, or ``y.backward()`` on the output, after which
        only print lines may follow."""
        lead = len(row.raw) - len(row.raw.lstrip())
        found = None
        if not ASSIGNMENT.match(row.raw):
            try:
                found = read_line(row.raw[lead:].rstrip())
            except ExprError as error:
                raise moved(error, row.start + lead) from None
        where = (row.start + lead, row.start + len(row.raw.rstrip()))
        if self.backward is not None and (found is None or found.kind != "print"):
            raise ExprError(
                "Only print lines may follow {name}.backward() on line {first} (column {column}).",
                {"name": self.backward.name, "first": self.backward_line},
                *where,
            )
        if found is None:
            return False
        if found.kind == "import" and found.name:
            self.modules[found.name] = found.module
        if found.kind == "backward":
            if not self.lines:
                raise ExprError(
                    "'{token}' at column {column} comes before any line that computes a value.",
                    {"token": found.text}, *where,
                )
            if found.name != self.lines[-1].name:
                raise ExprError(
                    "{name}.backward() must be called on the output of the lines above it, "
                    "{output} (column {column}).",
                    {"name": found.name, "output": self.lines[-1].name},
                    *where,
                )
            self.backward, self.backward_line = found, row.number
        return True

    def statement(self, row: Row) -> Statement:
        """The name ``row`` assigns, checked against the lines before it, and its expression."""
        number, start, raw = row.number, row.start, row.raw
        match = ASSIGNMENT.match(raw)
        if match is None:
            raise ExprError(
                "Line {line} must assign a name, as in z = w*x + b.",
                {"line": number},
                start + len(raw) - len(raw.lstrip()),
                start + len(raw.rstrip()),
            )
        name = match.group(1)
        where = (start + match.start(1), start + match.end(1))
        read = line_value(raw[match.end():])
        value, requires_grad = read if read is not None else (None, None)
        if value is not None and name in self.inputs:
            raise ExprError(
                "'{name}' is used on line {first} before line {line} sets its value; move "
                "line {line} above line {first}.",
                {"name": name, "first": self.inputs[name], "line": number},
                *where,
            )
        taken = {k: n for k, (_, n) in self.assigned.items()}
        taken.update((k, v.line) for k, v in self.values.items())
        _check_name(name, number, where, taken, self.inputs)
        text_start = start + match.end()
        return Statement(
            number,
            name,
            where,
            start,
            start + len(raw.rstrip()),
            text_start,
            self.text[text_start : start + len(raw)],
            value,
            requires_grad,
        )

    def set_value(self, line: Statement, value: Any) -> None:
        """Take ``line`` as a value line: its name is a variable, and ``value`` its value."""
        try:
            check_value(line.name, value, self.limits)
        except ExprError as error:
            error.start = line.text_start + len(line.text) - len(line.text.lstrip())
            error.end = line.end
            raise
        self.values[line.name] = LineValue(
            line.name, value, value_text(value), line.number, line.start, line.end,
            line.requires_grad,
        )

    def add(self, line: Statement, parsed: Parsed) -> None:
        """Take ``line``'s checked expression: its names, its operations, its tree."""
        if line.name in parsed.variables:
            raise ExprError(
                "'{name}' is used in its own line {line}; a name is assigned once, from "
                "values that exist already.",
                {"name": line.name, "line": line.number},
                *line.where,
            )
        for variable in parsed.variables:
            if variable not in self.assigned:
                self.inputs.setdefault(variable, line.number)
        self.operations += sum(1 for n in post_order(parsed.tree) if children(n))
        if self.operations > self.limits.max_operations:
            raise ExprError(
                "The program has more than {limit} operations (line {line}); make it smaller.",
                {"limit": self.limits.max_operations, "line": line.number},
                *line.where,
            )
        earlier = {k: tree for k, (tree, _) in self.assigned.items()}
        tree = _placed(parsed.tree, line.text_start, earlier)
        self.assigned[line.name] = (tree, line.number)
        self.lines.append(Line(line.name, tree, line.start, line.end))

    def joined(self) -> Parsed:
        """The program as one tree, its output the last line; refused without an input."""
        lines, text = self.lines, self.text
        variables = tuple(v for v in self.inputs if v not in self.assigned)
        only = [v.name for v in self.values.values()]
        if not lines and len(only) > 1:
            raise ExprError(
                "The program only sets values ({names}), so there is nothing to compute; add "
                "a line that uses them, such as y = {name}**2.",
                {"names": ", ".join(only), "name": only[0]},
            )
        if not variables and len(lines) + len(only) == 1:
            # Most likely a value typed into the function: say where values go.
            first = lines[0].start if lines else self.values[only[0]].start
            equals = text.index("=", first)
            raise ExprError(
                "'=' at column {column} gives {name} a value, but the function needs a variable: "
                "type the function (such as {name}**2) and enter {name}'s value in its field.",
                {"name": lines[0].name if lines else only[0], "token": "="},
                equals,
                equals + 1,
            )
        if not variables:
            raise ExprError(
                "The program has no input variable, so there is nothing to differentiate; use "
                "one, such as x."
            )
        return Parsed(tree=lines[-1].tree, text=text, variables=variables, lines=tuple(lines),
                      values=tuple(self.values.values()))


def _check_name(
    name: str,
    number: int,
    where: tuple[int, int],
    assigned: dict[str, int],
    inputs: dict[str, int],
) -> None:
    if name.startswith("_"):
        raise ExprError("Names may not start with '_' ('{token}' on line {line}).",
                        {"token": name, "line": number}, *where)
    if name in FUNCTIONS or name in CONSTANTS:
        raise ExprError(
            "'{name}' is a function or constant of the language; call the value something "
            "else (line {line}).",
            {"name": name, "line": number},
            *where,
        )
    if name in assigned:
        raise ExprError(
            "'{name}' is assigned on line {first} and again on line {line}; each name is "
            "assigned once.",
            {"name": name, "first": assigned[name], "line": number},
            *where,
        )
    if name in inputs:
        raise ExprError(
            "'{name}' is used on line {first} before it is assigned on line {line}.",
            {"name": name, "first": inputs[name], "line": number},
            *where,
        )


def moved(error: ExprError, offset: int) -> ExprError:
    """A line's refusal, pointing into the whole text."""
    if error.start is not None:
        error.start += offset
        error.end = (error.end if error.end is not None else error.start - offset + 1) + offset
    return error


def _placed(tree: Expr, offset: int, names: dict[str, Expr]) -> Expr:
    """``tree`` with positions moved by ``offset``, and each earlier name replaced by its tree."""
    built: dict[int, Expr] = {}
    for node in post_order(tree):
        if isinstance(node, Var) and node.name in names:
            built[id(node)] = names[node.name]
            continue
        changes: dict[str, Any] = {"start": node.start + offset, "end": node.end + offset}
        kids = children(node)
        if kids:
            moved = [built[id(k)] for k in kids]
            if isinstance(node, Call):
                changes["args"] = tuple(moved)
            elif isinstance(node, Unary):
                changes["operand"] = moved[0]
            else:
                changes["left"], changes["right"] = moved
        built[id(node)] = dataclasses.replace(node, **changes)
    return built[id(tree)]
