"""The function language's vocabulary: what may be written, its bounds, and its refusals.

The tables here decide what is allowed; check.py walks a student's expression against
them, and graph.py says what each allowed function does in torch. Every
refusal is an :class:`ExprError`, an English sentence with placeholders that
doubles as its message id; it carries no HTTP status (the web layer maps it).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field

# N_ marks a phrase for the catalogue; the messages of the core and the web import it from here.
from ..result import N_

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
    # A first neural-network lesson: over the last dimension of a vector or matrix.
    "softmax": 1,
    "log_softmax": 1,
    "logsumexp": 1,
    # max(t) and min(t) reduce a whole tensor; maximum and minimum compare element-wise.
    "max": 1,
    "min": 1,
    "maximum": 2,
    "minimum": 2,
    "clamp": 3,  # clamp(x, low, high), with numbers for the bounds
    "mse": 2,  # mse(pred, target): the mean squared error
    "cross_entropy": 2,  # cross_entropy(logits, k): k is a class index, a whole number
    "transpose": 1,  # W.T, written as a function: attribute access stays refused
}

# Functions that need a tensor (a vector of logits, a matrix): they have no scalar form.
TENSOR_ONLY = frozenset({"cross_entropy", "transpose"})

# Names that stand for numbers, not variables.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

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

def output_name(variables) -> str:
    """What the function's result is called everywhere (page, steps, graph, code, titles):
    ``y`` as in the lesson, or ``out`` when a variable is called y."""
    taken = set(variables)
    return next(n for n in ("y", "out", "result", "f_x") if n not in taken)


@dataclass(frozen=True)
class Limits:
    """Bounds on what one expression may ask for. These are the defaults; the server's
    settings (serve/settings.py) take theirs from here and may change each one."""

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
    # The most lines a program may have.
    max_lines: int = 12
    # The most updates one training run may make.
    max_train_steps: int = 100


@dataclass(frozen=True)
class Extras:
    """What a request asks for beyond the default answer (each costs time, so on request).

    ``symbolic``: dy/dx as a formula beside autograd, and the plot; ``order`` 2: the
    second derivatives and the graph of the gradient computation; ``accumulate``: a
    second backward() without zeroing the gradients. ``retain_grad``: ``retain_grad()`` on
    a program's named intermediates, so that their ``.grad`` is kept (cheap: not in ``wanted``).
    ``known_only``: with ``symbolic``, the formula only if this process has derived it
    before; otherwise the answer has no ``symbolic`` and no ``plot``, as if not asked
    (a result that carries its panel never waits for sympy; the page loads it apart).
    """

    symbolic: bool = False
    order: int = 1
    accumulate: bool = False
    retain_grad: bool = False
    known_only: bool = False

    @property
    def wanted(self) -> bool:
        return self.symbolic or self.order == 2 or self.accumulate


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
    line: int | None = None  # in a program of several lines: the line of ``start``, from 1
    line_start: int = 0  # where that line begins in the text; its columns count from there

    def __reduce__(self):
        # Crosses from a worker process to the server: pickle the fields, not args.
        return (
            type(self),
            (self.template, self.params, self.start, self.end, self.line, self.line_start),
        )

    @property
    def column(self) -> int | None:
        return None if self.start is None else self.start - self.line_start + 1

    def locate(self, text: str) -> ExprError:
        """In a text of several lines, count the column from the start of its line."""
        if self.start is not None and self.line is None and "\n" in text:
            self.line = text.count("\n", 0, self.start) + 1
            self.line_start = text.rfind("\n", 0, self.start) + 1
        return self

    @property
    def shown_line(self) -> int | None:
        """The line to name before the sentence, unless the sentence names it already."""
        return self.line if "line" not in self.params else None

    @property
    def message(self) -> str:
        text = self.template.format(column=self.column, **self.params)
        return f"Line {self.shown_line}: {text}" if self.shown_line else text

    def __str__(self) -> str:
        return self.message


class TooLong(ExprError):
    """The text itself is over the length limit: refused before it is read."""
