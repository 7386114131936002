"""Python's ``ast`` of one expression, walked against the whitelist into our checked tree.

The walk uses an explicit stack rather than recursion, so depth is a limit
enforced with a message, not a crash. Every refusal is an :class:`ExprError`
that points at the columns of the text the student typed.
"""

from __future__ import annotations

import ast
import math
from typing import Any, NoReturn

from .rules import (
    BINARY_OPERATORS,
    CONSTANTS,
    FUNCTIONS,
    N_,
    REFUSED_NODES,
    REFUSED_OPERATORS,
    UNARY_OPERATORS,
    ExprError,
    Limits,
)
from .tree import BinOp, Call, Expr, ListConst, Num, Number, Unary, Var


class Checker:
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

    def span(self, node: ast.expr | ast.keyword) -> tuple[int, int]:
        start = self.origin[min(node.col_offset, len(self.origin) - 1)]
        end_col = getattr(node, "end_col_offset", None) or node.col_offset + 1
        end = self.origin[min(end_col, len(self.origin) - 1)]
        return start, max(end, start + 1)

    def refuse(self, template: str, node: ast.expr | ast.keyword, **params: Any) -> ExprError:
        start, end = self.span(node)
        params.setdefault("token", self.text[start:end])
        return ExprError(template, params, start, end)

    def check(self, root: ast.expr) -> Expr:
        # Two passes over an explicit stack: first visit (check, push
        # children), then build once every child is built.
        built: dict[int, Expr] = {}
        stack: list[tuple[ast.expr, int, bool]] = [(root, 1, False)]
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

    def children(self, node: ast.expr) -> list[ast.expr]:
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

    def refuse_operator(self, node: ast.expr, op: ast.operator | ast.unaryop) -> NoReturn:
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

    def count(self, node: ast.expr) -> None:
        self.operations += 1
        if self.operations > self.limits.max_operations:
            raise self.refuse(
                "The function has more than {limit} operations (column {column}); make it "
                "smaller.",
                node,
                limit=self.limits.max_operations,
            )

    def check_number(self, node: ast.Constant) -> Number:
        """The constant's value, once it is a number within the limits."""
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
        return value

    def check_magnitude(self, value: Number, node: ast.expr) -> None:
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
        if name in CONSTANTS:
            return
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

    def build(self, node: ast.expr, built: dict[int, Expr]) -> Expr:
        start, end = self.span(node)
        if isinstance(node, ast.BinOp):
            return BinOp(
                BINARY_OPERATORS[type(node.op)], built[id(node.left)], built[id(node.right)], start, end
            )
        if isinstance(node, ast.UnaryOp):
            return Unary(UNARY_OPERATORS[type(node.op)], built[id(node.operand)], start, end)
        # children() has checked these: a call of a listed name, a constant that is a number.
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return Call(node.func.id, tuple(built[id(a)] for a in node.args), start, end)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return Num(node.value, start, end)
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return Num(CONSTANTS[node.id], start, end, node.id)
            return Var(node.id, start, end)
        if isinstance(node, ast.List):
            return ListConst(self.list_value(node), start, end)
        raise AssertionError(f"unchecked node {type(node).__name__}")  # pragma: no cover

    def list_value(self, root: ast.List) -> tuple:
        """A rectangular nested list of number literals, as nested tuples."""
        values: dict[int, Number | tuple[Any, ...]] = {}
        shapes: dict[int, tuple[int, ...]] = {}
        stack: list[tuple[ast.expr, int, bool]] = [(root, 1, False)]
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
        value = values[id(root)]
        if not isinstance(value, tuple):  # pragma: no cover - the root is a list, built as one
            raise AssertionError("a list literal built a number")
        return value

    def list_number(self, node: ast.expr) -> Number:
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
        return sign * self.check_number(inner)
