"""The function language: student text -> checked expression tree.

The text is parsed by Python's own parser (``ast``, ``eval`` mode) and the
resulting tree is walked against a whitelist. Nothing here ever evaluates the
text: no ``eval``, ``exec``, ``compile`` or ``sympify``. Every refusal is an
:class:`ExprError` that names the problem and points at it (a column and the
offending text), so a student can fix it.

This module imports neither torch nor anything from the web layer.
"""

from __future__ import annotations

import ast
import functools
import math
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterator, Union

def N_(text: str) -> str:
    """Mark a phrase for the message catalogue; it is translated where it is shown."""
    return text


# The functions a student may call, with their number of arguments. What each
# one does in torch lives in graph.py; this table only decides what is allowed.
FUNCTIONS: dict[str, int] = {
    "sin": 1,
    "cos": 1,
    "tan": 1,
    "exp": 1,
    "log": 1,
    "sqrt": 1,
    "abs": 1,
    "tanh": 1,
    "sigmoid": 1,
    "relu": 1,
    "pow": 2,
    "sum": 1,
    "mean": 1,
}

BINARY_OPERATORS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
}

UNARY_OPERATORS: dict[type, str] = {ast.USub: "-", ast.UAdd: "+"}

# Python operators we refuse, by the symbol a student typed.
REFUSED_OPERATORS: dict[type, str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.Not: "not",
}

# What a student may have meant by a construct we refuse: the English name used
# in messages.
REFUSED_NODES: dict[type, str] = {
    ast.Attribute: N_("attribute access"),
    ast.Subscript: N_("indexing"),
    ast.Slice: N_("slicing"),
    ast.ListComp: N_("a list comprehension"),
    ast.SetComp: N_("a set comprehension"),
    ast.DictComp: N_("a dict comprehension"),
    ast.GeneratorExp: N_("a generator expression"),
    ast.Lambda: N_("a lambda"),
    ast.IfExp: N_("a conditional expression"),
    ast.NamedExpr: N_("an assignment (:=)"),
    ast.Starred: N_("starred arguments"),
    ast.Compare: N_("a comparison"),
    ast.BoolOp: N_("and/or"),
    ast.Dict: N_("a dict"),
    ast.Set: N_("a set"),
    ast.Tuple: N_("a tuple"),
    ast.JoinedStr: N_("an f-string"),
    ast.FormattedValue: N_("an f-string"),
    ast.Await: N_("await"),
    ast.Yield: N_("yield"),
    ast.YieldFrom: N_("yield"),
}

# Python's own words for the most common syntax errors, in shorter form.
SYNTAX_REASONS: dict[str, str] = {
    "invalid syntax": N_("invalid syntax"),
    "'(' was never closed": N_("unclosed '('"),
    "'[' was never closed": N_("unclosed '['"),
    "unmatched ')'": N_("unmatched ')'"),
    "unmatched ']'": N_("unmatched ']'"),
    "invalid decimal literal": N_("invalid number"),
    "invalid syntax. Perhaps you forgot a comma?": N_("an operator or comma seems to be missing"),
    "unexpected EOF while parsing": N_("it ends too early"),
}

Number = Union[int, float]


@dataclass(frozen=True)
class Limits:
    """Bounds on what one expression may ask for. See settings.py for defaults."""

    max_length: int = 500
    max_depth: int = 100
    max_operations: int = 150
    max_exponent: float = 100.0
    max_constant: float = 1e15
    max_elements: int = 10_000
    max_dims: int = 4
    max_graph_nodes: int = 200
    max_variables: int = 20
    # A result value with more numbers than this is sent as a summary (values.summarize).
    max_shown_elements: int = 1000
    # The largest result a worker sends back, as compact JSON, in bytes.
    max_result_bytes: int = 4_194_304


@dataclass(eq=False)
class ExprError(Exception):
    """A refusal a student can act on.

    ``template`` is an English sentence with ``{placeholders}``; it doubles as
    the message id for translations. ``start``/``end`` are 0-based columns into
    the text the student typed (``end`` exclusive), or None when the problem is
    not at one place.
    """

    template: str
    params: dict = field(default_factory=dict)
    start: int | None = None
    end: int | None = None

    def __reduce__(self):
        # Crosses from a worker process to the server: pickle the fields, not args.
        return (type(self), (self.template, self.params, self.start, self.end))

    @property
    def column(self) -> int | None:
        return None if self.start is None else self.start + 1

    @property
    def message(self) -> str:
        return self.template.format(column=self.column, **self.params)

    def __str__(self) -> str:
        return self.message


class TooLong(ExprError):
    """The text itself is over the length limit: refused before it is read."""


# --- the checked tree -------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: Number
    start: int
    end: int


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
    operand: "Expr"
    start: int
    end: int


@dataclass(frozen=True)
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"
    start: int
    end: int


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple
    start: int
    end: int


Expr = Union[Num, Var, ListConst, Unary, BinOp, Call]


@dataclass(frozen=True)
class Parsed:
    """A checked expression: its tree, its variables and its normalized text."""

    tree: Expr
    text: str
    variables: tuple[str, ...]

    @functools.cached_property
    def normalized(self) -> str:
        return unparse(self.tree)


# --- parsing ----------------------------------------------------------------


def parse(text: str, limits: Limits = Limits()) -> Parsed:
    """Parse and check ``text``; raise ExprError on anything outside the language."""
    if not isinstance(text, str):
        raise ExprError("The function must be text.")
    if len(text) > limits.max_length:
        raise TooLong(
            "The function is {length} characters long; the limit is {limit}.",
            {"length": len(text), "limit": limits.max_length},
            limits.max_length,
            len(text),
        )
    if not text.strip():
        raise ExprError("Type a function, for example 5*x**3 + 2*x**2 + 4*x + 8.")
    _check_characters(text)
    source, origin = _caret_to_power(text)
    try:
        module = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(exc, text, origin) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError(
            "The function is nested too deeply; the limit is {limit} levels.",
            {"limit": limits.max_depth},
        ) from None
    checker = _Checker(text, origin, limits)
    tree = checker.check(module.body)
    return Parsed(tree=tree, text=text, variables=tuple(checker.variables))


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        if ch in "\n\r":
            raise ExprError(
                "Write the function on one line (line break at column {column}).", {}, i, i + 1
            )
        if ch == "#":
            raise ExprError(
                "Comments ('#' at column {column}) are not allowed.", {"token": "#"}, i, i + 1
            )
        if ord(ch) < 32 or ord(ch) == 127:
            raise ExprError(
                "Control character {code} at column {column} is not allowed.",
                {"code": f"U+{ord(ch):04X}"},
                i,
                i + 1,
            )
        if ord(ch) > 127 and unicodedata.category(ch)[0] in "CZ":
            # Invisible or direction-changing (U+202E would turn the message
            # itself around): name it by its code point, never show it.
            raise ExprError(
                "The invisible character {code} at column {column} is not allowed.",
                {"code": f"U+{ord(ch):04X}"},
                i,
                i + 1,
            )
        if ord(ch) > 127:
            # Python folds many Unicode letters into ASCII ones (NFKC), so a
            # name that looks harmless could become another one: refuse them all.
            raise ExprError(
                "The character '{char}' at column {column} is not allowed; use plain ASCII "
                "letters, digits and operators.",
                {"char": ch},
                i,
                i + 1,
            )


def _caret_to_power(text: str) -> tuple[str, list[int]]:
    """Turn every ``^`` into ``**`` and map each column of the result back.

    Python's ``^`` binds more loosely than ``+``; replacing the token before
    parsing gives it the binding students mean (``x^2 + 1`` is ``x**2 + 1``).
    The language has no strings, so every ``^`` is an operator.
    """
    out: list[str] = []
    origin: list[int] = []
    # Python reads leading spaces as an indent: leave them out, keep the columns.
    lead = len(text) - len(text.lstrip(" \t"))
    for i, ch in enumerate(text):
        if i < lead:
            continue
        if ch == "^":
            out.append("**")
            origin.extend((i, i))
        else:
            out.append(ch)
            origin.append(i)
    origin.append(len(text))
    return "".join(out), origin


def _syntax_error(exc: SyntaxError, text: str, origin: list[int]) -> ExprError:
    stripped = text.rstrip()
    if stripped and stripped[-1] in "+-*/^@(,":
        start = len(stripped) - (2 if stripped.endswith("**") else 1)
        return ExprError(
            "The function ends too early, after '{token}' at column {column}.",
            {"token": stripped[start:]},
            start,
            len(stripped),
        )
    offset = (exc.offset or 1) - 1
    if exc.lineno and exc.lineno > 1:
        offset = len(origin) - 1
    offset = max(0, min(offset, len(origin) - 1))
    start = origin[offset]
    token = text[start : start + 1] if start < len(text) else ""
    reason = SYNTAX_REASONS.get(exc.msg, exc.msg or N_("invalid syntax"))
    if start >= len(text):
        return ExprError(
            "The function ends too early ({reason}).", {"reason": reason}, len(text), len(text)
        )
    return ExprError(
        "The function cannot be read at column {column} near '{token}' ({reason}).",
        {"token": token, "reason": reason},
        start,
        start + 1,
    )


class _Checker:
    """Walks a Python ``ast`` against the whitelist, building our tree.

    Uses an explicit stack rather than recursion, so depth is a limit we
    enforce with a message, not a crash.
    """

    def __init__(self, text: str, origin: list[int], limits: Limits):
        self.text = text
        self.origin = origin
        self.limits = limits
        self.variables: list[str] = []
        self.operations = 0

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.origin[min(node.col_offset, len(self.origin) - 1)]
        end_col = getattr(node, "end_col_offset", None) or node.col_offset + 1
        end = self.origin[min(end_col, len(self.origin) - 1)]
        return start, max(end, start + 1)

    def refuse(self, template: str, node: ast.AST, **params) -> ExprError:
        start, end = self.span(node)
        params.setdefault("token", self.text[start:end])
        return ExprError(template, params, start, end)

    def check(self, root: ast.AST) -> Expr:
        # Two passes over an explicit stack: first visit (check, push
        # children), then build once every child is built.
        built: dict[int, Expr] = {}
        stack: list[tuple[ast.AST, int, bool]] = [(root, 1, False)]
        while stack:
            node, depth, children_done = stack.pop()
            if depth > self.limits.max_depth:
                raise self.refuse(
                    "The function is nested too deeply at column {column}; the limit is "
                    "{limit} levels.",
                    node,
                    limit=self.limits.max_depth,
                )
            if children_done:
                built[id(node)] = self.build(node, built)
                continue
            children = self.children(node)
            stack.append((node, depth, True))
            for child in reversed(children):
                stack.append((child, depth + 1, False))
        return built[id(root)]

    def children(self, node: ast.AST) -> list[ast.AST]:
        """Check ``node`` itself and return the children to check next."""
        if isinstance(node, ast.BinOp):
            if type(node.op) not in BINARY_OPERATORS:
                return self.refuse_operator(node, node.op)
            self.count(node)
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if type(node.op) not in UNARY_OPERATORS:
                return self.refuse_operator(node, node.op)
            self.count(node)
            return [node.operand]
        if isinstance(node, ast.Call):
            self.check_call(node)
            self.count(node)
            return list(node.args)
        if isinstance(node, ast.Constant):
            self.check_number(node)
            return []
        if isinstance(node, ast.Name):
            self.check_name(node)
            return []
        if isinstance(node, ast.List):
            return []  # checked whole in build(), as a constant
        what = REFUSED_NODES.get(type(node))
        if isinstance(node, ast.Subscript):
            # Point at the brackets, not at the name before them.
            start, end = self.span(node.value)[1], self.span(node)[1]
            raise ExprError(
                "Indexing ('{token}') at column {column} is not allowed; the language has "
                "no subscripts.",
                {"token": self.text[start:end]},
                start,
                end,
            )
        if what is not None:
            raise self.refuse("Not allowed: {what} (column {column}, '{token}').", node, what=what)
        raise self.refuse("'{token}' at column {column} is not allowed here.", node)

    def refuse_operator(self, node: ast.AST, op: ast.AST) -> list:
        symbol = REFUSED_OPERATORS.get(type(op), type(op).__name__)
        start, end = self.span(node)
        if isinstance(node, ast.BinOp):
            # Point at the operator itself, between its two operands.
            found = self.text.find(symbol, self.span(node.left)[1], self.span(node.right)[0])
            if found >= 0:
                start, end = found, found + len(symbol)
        raise ExprError(
            "The operator '{symbol}' at column {column} is not allowed; use + - * / ** ^ @.",
            {"symbol": symbol, "token": symbol},
            start,
            end,
        )

    def count(self, node: ast.AST) -> None:
        self.operations += 1
        if self.operations > self.limits.max_operations:
            raise self.refuse(
                "The function has more than {limit} operations (column {column}); make it "
                "smaller.",
                node,
                limit=self.limits.max_operations,
            )

    def check_number(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str):
            raise self.refuse("Text in quotes is not allowed (column {column}, {token}).", node)
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.refuse("'{token}' at column {column} is not a number.", node)
        if isinstance(value, complex):
            raise self.refuse(
                "Complex numbers such as '{token}' (column {column}) are not supported.", node
            )
        if not isinstance(value, (int, float)):
            raise self.refuse("'{token}' at column {column} is not a number.", node)
        self.check_magnitude(value, node)

    def check_magnitude(self, value: Number, node: ast.AST) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise self.refuse("The number '{token}' at column {column} is too large.", node)
        if abs(value) > self.limits.max_constant:
            raise self.refuse(
                "The number '{token}' at column {column} is too large; constants may be at "
                "most {limit:g}.",
                node,
                limit=self.limits.max_constant,
            )

    def check_name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_"):
            raise self.refuse(
                "Names may not start with '_' ('{token}' at column {column}).", node
            )
        if name in FUNCTIONS:
            raise self.refuse(
                "'{token}' at column {column} is a function; call it with parentheses, "
                "like {token}(x).",
                node,
            )
        if not name.isascii() or not name.isidentifier():
            raise self.refuse("'{token}' at column {column} is not a valid name.", node)
        if name not in self.variables:
            self.variables.append(name)

    def check_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            what = REFUSED_NODES.get(type(node.func), N_("this kind of call"))
            start, end = self.span(node.func)
            raise ExprError(
                "Only the listed functions can be called; {what} at column {column} is not "
                "allowed ('{token}').",
                {"what": what, "token": self.text[start:end]},
                start,
                end,
            )
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.refuse(
                "Unknown function '{name}' at column {column}. Available functions: "
                "{available}.",
                node.func,
                name=name,
                available=", ".join(sorted(FUNCTIONS)),
            )
        if node.keywords:
            keyword = node.keywords[0]
            raise self.refuse(
                "Keyword arguments are not allowed ('{token}' at column {column}).", keyword
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.refuse("Starred arguments are not allowed (column {column}).", arg)
        expected = FUNCTIONS[name]
        if len(node.args) != expected:
            raise self.refuse(
                "{name}() takes {expected} argument(s) but got {got} (column {column}).",
                node,
                name=name,
                expected=expected,
                got=len(node.args),
            )

    def build(self, node: ast.AST, built: dict[int, Expr]) -> Expr:
        start, end = self.span(node)
        if isinstance(node, ast.BinOp):
            return BinOp(
                BINARY_OPERATORS[type(node.op)], built[id(node.left)], built[id(node.right)], start, end
            )
        if isinstance(node, ast.UnaryOp):
            return Unary(UNARY_OPERATORS[type(node.op)], built[id(node.operand)], start, end)
        if isinstance(node, ast.Call):
            return Call(node.func.id, tuple(built[id(a)] for a in node.args), start, end)
        if isinstance(node, ast.Constant):
            return Num(node.value, start, end)
        if isinstance(node, ast.Name):
            return Var(node.id, start, end)
        if isinstance(node, ast.List):
            return ListConst(self.list_value(node), start, end)
        raise AssertionError(f"unchecked node {type(node).__name__}")  # pragma: no cover

    def list_value(self, root: ast.List) -> tuple:
        """A rectangular nested list of number literals, as nested tuples."""
        values: dict[int, object] = {}
        shapes: dict[int, tuple[int, ...]] = {}
        stack: list[tuple[ast.AST, int, bool]] = [(root, 1, False)]
        while stack:
            node, depth, children_done = stack.pop()
            if isinstance(node, ast.List):
                if depth > self.limits.max_dims:
                    raise self.refuse(
                        "Lists may be nested at most {limit} deep (column {column}).",
                        node,
                        limit=self.limits.max_dims,
                    )
                if not node.elts:
                    raise self.refuse("An empty list at column {column} has no values.", node)
                if children_done:
                    inner = {shapes[id(e)] for e in node.elts}
                    if len(inner) != 1:
                        raise self.refuse(
                            "The list at column {column} is not rectangular: its rows differ "
                            "in length.",
                            node,
                        )
                    shape = (len(node.elts),) + inner.pop()
                    if math.prod(shape) > self.limits.max_elements:
                        raise self.refuse(
                            "The list at column {column} has more than {limit} numbers.",
                            node,
                            limit=self.limits.max_elements,
                        )
                    values[id(node)] = tuple(values[id(e)] for e in node.elts)
                    shapes[id(node)] = shape
                    continue
                if len(node.elts) > self.limits.max_elements:
                    raise self.refuse(
                        "The list at column {column} has more than {limit} numbers.",
                        node,
                        limit=self.limits.max_elements,
                    )
                stack.append((node, depth, True))
                stack.extend((e, depth + 1, False) for e in reversed(node.elts))
                continue
            values[id(node)] = self.list_number(node)
            shapes[id(node)] = ()
        return values[id(root)]

    def list_number(self, node: ast.AST) -> Number:
        sign = 1
        inner = node
        if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY_OPERATORS:
            sign = -1 if isinstance(node.op, ast.USub) else 1
            inner = node.operand
        if not isinstance(inner, ast.Constant):
            raise self.refuse(
                "Lists may only hold numbers; '{token}' at column {column} is not a number.",
                node,
            )
        self.check_number(inner)
        return sign * inner.value


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
    leaf: Callable[[Expr], Printed],
    call: Callable[[Call, list[Printed]], Printed],
) -> str:
    """Print a tree with parentheses only where Python needs them.

    The one precedence printer: ``leaf`` prints numbers, names and lists, ``call``
    a function call from its printed arguments; operators are printed here.
    Spaces around ``+``, ``-`` and ``@``; none around ``*``, ``/`` and ``**``.
    """
    out: dict[int, Printed] = {}  # id(node) -> printed
    for node in post_order(tree):
        if isinstance(node, Call):
            out[id(node)] = call(node, [out[id(a)] for a in node.args])
        elif isinstance(node, Unary):
            out[id(node)] = unary(node.op, out[id(node.operand)])
        elif isinstance(node, BinOp):
            out[id(node)] = binary(node.op, out[id(node.left)], out[id(node.right)])
        else:
            out[id(node)] = leaf(node)
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


def unparse(tree: Expr) -> str:
    """Print a checked tree as text that parses back to the same tree,
    as in ``5*x**3 + 2*x**2 + 4*x + 8``."""
    return print_tree(tree, _leaf, lambda node, args: Printed(
        f"{node.func}({', '.join(a.text for a in args)})"
    ))


def _leaf(node: Expr) -> Printed:
    if isinstance(node, Num):
        return number(node.value)
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


def post_order(tree: Expr) -> Iterator[Expr]:
    """Every node, each after its operands, left to right as Python evaluates them.

    An explicit stack rather than recursion, so a deep tree is no crash.
    """
    stack: list[tuple[Expr, bool]] = [(tree, False)]
    while stack:
        node, operands_done = stack.pop()
        kids = children(node)
        if kids and not operands_done:
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
            continue
        yield node


def _number(value: Number) -> str:
    return repr(value)


def _list_text(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_list_text(v) for v in value) + "]"
    return _number(value)
