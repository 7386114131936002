"""The checked tree: frozen records of a function, walked with an explicit stack, and printed.

Built by expr.parse from a student's text, read by graph.trace (torch) and
code.torch_code (the program). Printing has one precedence rule, print_tree,
shared by the normalized text and the generated program.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache, cached

from .rules import output_name

Number = int | float


# --- the checked tree -------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: Number
    start: int
    end: int
    name: str | None = None  # pi or e, as written


@dataclass(frozen=True)
class Var:
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class ListConst:
    """A list literal of numbers, nested to any rectangular shape."""

    value: tuple
    start: int
    end: int


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Expr
    start: int
    end: int


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Expr
    right: Expr
    start: int
    end: int


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple
    start: int
    end: int


Expr = Num | Var | ListConst | Unary | BinOp | Call
# The nodes without operands, which print_tree hands to its ``leaf``.
Leaf = Num | Var | ListConst


@dataclass(frozen=True)
class Line:
    """One line of a program, ``name = expression``; ``start``/``end`` span the line."""

    name: str
    tree: Expr
    start: int
    end: int


@dataclass(frozen=True)
class LineValue:
    """A program line ``name = number`` (or a list of numbers): it sets the variable's
    value, it is not a step. ``text`` is the value as a value field writes it
    (``[1, 2, 3]`` for ``w = 1, 2, 3``); ``start``/``end`` span the line."""

    name: str
    value: Any  # a number or a nested list of numbers, as an input value
    text: str
    line: int  # from 1
    start: int
    end: int
    # A cell's torch.tensor(2.0, requires_grad=True) says it; a plain value (x = 2) does not.
    requires_grad: bool | None = None


@dataclass(frozen=True)
class Parsed:
    """A checked expression: its tree, its variables and its normalized text.

    A program (several lines ``name = expression``) is one tree too: where a line
    uses an earlier name, the tree holds that line's tree itself, the very same
    object, so the tree is a graph in which a named value is computed once, as
    in Python. ``lines`` lists the named values in order; the last is the output.
    ``values`` are the program's value lines (``x = 2``): their names are variables,
    and the value a line gives wins over the one an input gives (:meth:`with_values`),
    as does a notebook cell's requires_grad (:meth:`with_grads`).
    """

    tree: Expr
    text: str
    variables: tuple[str, ...]
    lines: tuple[Line, ...] = ()
    values: tuple[LineValue, ...] = ()

    def with_values(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """``inputs`` with each value line's value in place of the one given for its name."""
        if not self.values:
            return inputs
        return {**inputs, **{v.name: v.value for v in self.values}}

    def with_grads(self, requires_grad: dict[str, bool] | None) -> dict[str, bool] | None:
        """``requires_grad`` with each value line's own (a cell's ``torch.tensor(...,
        requires_grad=False)``) in place of the one given for its name."""
        said = {v.name: v.requires_grad for v in self.values if v.requires_grad is not None}
        return {**(requires_grad or {}), **said} if said else requires_grad

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (a job sent to a worker) without :attr:`names`, whose keys are ids of
        this process's objects; the worker works them out again for its own."""
        state = dict(self.__dict__)
        state.pop("names", None)
        return state

    @functools.cached_property
    def output_name(self) -> str:
        """What the output is called: a program's last name, else y (or out, if y is taken)."""
        return self.lines[-1].name if self.lines else output_name(self.variables)

    @functools.cached_property
    def names(self) -> dict[int, str]:
        """The name of each named value, by ``id`` of its tree: the first line that made it
        (``b = a`` gives a's value a second name; it stays a's)."""
        names: dict[int, str] = {}
        for line in self.lines:
            names.setdefault(id(line.tree), line.name)
        return names

    def line_texts(self, printer: Callable[[Expr, dict[int, str]], str]) -> list[str]:
        """Each line as ``name = expression``, the expression printed by ``printer`` with the
        names of earlier lines; an alias (``b = a``) as the name it repeats."""
        names = self.names
        out = []
        for line in self.lines:
            first = names[id(line.tree)]
            if first != line.name:
                out.append(f"{line.name} = {first}")
            else:
                out.append(f"{line.name} = "
                           + printer(line.tree, {k: v for k, v in names.items() if k != id(line.tree)}))
        return out

    @functools.cached_property
    def normalized(self) -> str:
        if not self.lines:
            return unparse(self.tree)
        return "\n".join(self.line_texts(unparse))


# --- printing ---------------------------------------------------------------

PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "unary": 3, "**": 4}
ATOM = 9


@dataclass(frozen=True)
class Printed:
    """A subtree as text, how tightly it binds, and whether it is a plain Python number."""

    text: str
    precedence: int = ATOM
    number: bool = False


def print_tree(
    tree: Expr,
    leaf: Callable[[Leaf], Printed],
    call: Callable[[Call, list[Printed]], Printed],
    names: dict[int, str] | None = None,
) -> str:
    """Print a tree with parentheses only where Python needs them.

    The one precedence printer: ``leaf`` prints numbers, names and lists, ``call``
    a function call from its printed arguments; operators are printed here.
    Spaces around ``+``, ``-`` and ``@``; none around ``*``, ``/`` and ``**``.
    A subtree whose ``id`` is in ``names`` (another line of a program) is printed
    as its name.
    """
    names = names or {}
    out: dict[int, Printed] = {}  # id(node) -> printed
    for node in post_order(tree):
        key = id(node)
        if key in names:
            out[key] = Printed(names[key])
        elif isinstance(node, BinOp):
            out[key] = binary(node.op, out[id(node.left)], out[id(node.right)])
        elif isinstance(node, Call):
            out[key] = call(node, [out[id(a)] for a in node.args])
        elif isinstance(node, Unary):
            out[key] = unary(node.op, out[id(node.operand)])
        else:
            out[key] = leaf(node)
    return out[id(tree)].text


def wrap(item: Printed, mine: int, strict: bool) -> str:
    """``item`` as an operand of an operator binding ``mine``, in parentheses if needed."""
    if item.precedence < mine or (strict and item.precedence == mine):
        return f"({item.text})"
    return item.text


def unary(op: str, operand: Printed) -> Printed:
    mine = PRECEDENCE["unary"]
    return Printed(f"{op}{wrap(operand, mine, False)}", mine, operand.number)


def binary(op: str, left: Printed, right: Printed) -> Printed:
    mine = PRECEDENCE[op]
    if op == "**":
        # Right-associative; a unary or another power on the left needs parentheses.
        text = f"{wrap(left, mine, True)}**{wrap(right, PRECEDENCE['unary'], False)}"
    else:
        sep = f" {op} " if op in "+-@" else op
        text = f"{wrap(left, mine, False)}{sep}{wrap(right, mine, True)}"
    return Printed(text, mine, left.number and right.number)


def unparse(tree: Expr, names: dict[int, str] | None = None) -> str:
    """Print a checked tree as text that parses back to the same tree,
    as in ``5*x**3 + 2*x**2 + 4*x + 8``."""
    return print_tree(tree, _leaf, lambda node, args: Printed(
        f"{node.func}({', '.join(a.text for a in args)})"
    ), names)


def _leaf(node: Leaf) -> Printed:
    if isinstance(node, Num):
        return Printed(node.name, number=True) if node.name else number(node.value)
    if isinstance(node, Var):
        return Printed(node.name)
    return Printed(_list_text(node.value))


def number(value: Number) -> Printed:
    """A number; a negative one binds like a unary minus."""
    text = _number(value)
    return Printed(text, PRECEDENCE["unary"] if text.startswith("-") else ATOM, True)


def children(node: Expr) -> tuple:
    """The operands of a node, left to right."""
    if isinstance(node, BinOp):
        return (node.left, node.right)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args
    return ()


# Trees walked lately: the parser's, the printers', the tracer's and the teacher's walks
# of one tree are one walk. Keyed by the tree's id, which is its own as long as the entry
# lives: the walk ends with the tree itself, so the entry keeps it alive.
WALKS_KEPT = 256


@cached(LRUCache(maxsize=WALKS_KEPT), key=id, lock=threading.Lock())
def post_order(tree: Expr) -> tuple[Expr, ...]:
    """Every node, each after its operands, left to right as Python evaluates them.

    An explicit stack rather than recursion, so a deep tree is no crash. A
    subtree that appears twice (a program's named value, used twice) comes once,
    the first time. The tree is frozen, so its walk is too, and is shared.
    """
    order: list[Expr] = []
    seen: set[int] = set()
    stack: list[tuple[Expr, bool]] = [(tree, False)]
    while stack:
        node, operands_done = stack.pop()
        if id(node) in seen:
            continue
        if not operands_done:
            kids = children(node)
            if kids:
                stack.append((node, True))
                stack.extend([(k, False) for k in reversed(kids) if id(k) not in seen])
                continue
        seen.add(id(node))
        order.append(node)
    return tuple(order)


def _number(value: Number) -> str:
    return repr(value)


def _list_text(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_list_text(v) for v in value) + "]"
    return _number(value)
