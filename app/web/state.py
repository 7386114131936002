"""The playground page's state: read from the URL, written back into links.

Sharing it as a frame on another site (the snippet, oEmbed) is in embedding.py.

Everything a page shows is in its query string, so every result is a link
that can be shared and reloaded, and any replica can serve it. One query
parameter per variable holds its value (``x=2``, ``v=[1,2,3]``); the names
in ``RESERVED`` are the page's own. Besides the function, its values and grad,
each parameter is one row of ``FIELDS``, which says how it is read, written and
shared: the URL reader, the link writer, the share panel and oEmbed all go by it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..core.draw.render import VIEWS
from ..core.language.cell import Cell, read_cell
from ..core.language.expr import checked
from ..core.language.program import is_program, line_breaks, line_names, value_lines
from ..core.language.rules import N_, ExprError, Extras, Limits, output_name
from .i18n import LANGUAGES
from .links import query_string

SEED = "5*x**3 + 2*x**2 + 4*x + 8"

# Query parameters with a meaning of their own; a variable may not use these names.
RESERVED = {
    "expr": "the function",
    "step": "the step shown (0 is the overview)",
    "view": "torchviz or annotated",
    "lang": "en or de",
    "theme": "auto, light or dark",
    "forward": "1 to step through the forward pass too",
    "grad": "a variable whose requires_grad is on (repeat it); with rg=1, the others are off",
    "rg": "1 when the grad parameters are the complete list",
    "readonly": "1 to show the function and values without letting them be edited",
    "hide": "parts to hide, comma-separated: " + "function, values, output, graph, steps, "
    "details, code, examples",
    "autoplay": "1 to start stepping through the steps at once",
    "exercise": "1 to predict each step's gradient before it is shown",
    "order": "2 to show the second derivatives and the graph of the gradient computation",
    "accumulate": "1 to call backward() a second time without zeroing the gradients; in "
    "training, to leave zero_grad() out",
    "retain": "1 to call retain_grad() on a program's named intermediates, so that their .grad "
    "is shown instead of None",
    "train": "parameters to train by gradient descent, comma-separated (train=w,b)",
    "lr": "the training's learning rate (0.1 when missing)",
    "steps": "how many training updates (20 when missing)",
    "present": "1 for a projector: large text, the graph and the step filling the screen",
    "collapse": "a program's lines drawn as one box each, comma-separated (collapse=z,h)",
}

# Parts of the view that hide= can take away (comma-separated).
HIDEABLE = (
    N_("function"), N_("values"), N_("output"), N_("graph"), N_("steps"), N_("details"),
    N_("code"), N_("examples"), N_("derivative"), N_("training"), N_("lines"),
)
THEMES = ("auto", "light", "dark")
DEFAULT_VALUE = "1"
DEFAULT_LR, DEFAULT_TRAIN_STEPS = "0.1", 20
MAX_PARAMS = 20  # names read from train=
MAX_LINES_READ = 100  # values and names read from collapse=


@dataclass(frozen=True)
class PageState:
    expr: str = SEED
    values: dict[str, str] = field(default_factory=lambda: {"x": "2"})
    grads: dict[str, bool] = field(default_factory=dict)  # missing means on
    step: int = 0
    view: str = "torchviz"
    lang: str | None = None
    theme: str = "auto"
    forward: bool = False
    readonly: bool = False
    hide: tuple[str, ...] = ()
    autoplay: bool = False
    exercise: bool = False
    order: int = 1
    accumulate: bool = False
    retain: bool = False  # retain_grad() on a program's named intermediates
    train: tuple[str, ...] = ()  # the parameters of the training view; empty: no training
    lr: str = DEFAULT_LR
    steps: int = DEFAULT_TRAIN_STEPS
    present: bool = False
    collapse: tuple[str, ...] = ()  # a program's lines drawn as one box each, in line order
    path: str = "/"  # the page these links lead to: / or /embed; not in the query
    # Variables that had no value in the address and start at DEFAULT_VALUE; not in the query.
    new_values: tuple[str, ...] = ()
    # A program's value lines (x = 2) as (line, name, value): each sets its variable's value
    # and field, over the address's (with_variables); read from expr, not in the query.
    set_by_lines: tuple[tuple[int, str, str], ...] = ()
    cell: Cell | None = None  # how a pasted notebook cell was read; from expr, not in the query

    @property
    def extras(self) -> Extras:
        """What the page's derivative panel asks the engine for."""
        return Extras(
            symbolic=True, order=self.order, accumulate=self.accumulate, retain_grad=self.retain
        )

    @property
    def is_program(self) -> bool:
        """Whether the function is a program (lines name = expression), shown in a text area."""
        return is_program(self.expr)

    def as_program(self) -> str:
        """The function as the first line of a program: ``y = ...`` (``out`` if y is taken)."""
        taken = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", self.expr))
        return f"{'y' if 'y' not in taken else 'out'} = {self.expr}"

    def grad_on(self, name: str) -> bool:
        return self.grads.get(name, True)

    def query(self, **changes: Any) -> str:
        """This state as a query string, with ``changes`` applied.

        A page writes about ten links of one state, each with a change or two after the
        values: the function and its values are encoded once (_head_query).
        """
        get = _getter(self, changes)
        head = query_string(_head_pairs(get)) if changes.keys() & HEAD else self._head_query
        fields = query_string(_field_pairs(get))
        return f"{head}&{fields}" if fields else head

    @functools.cached_property
    def _head_query(self) -> str:
        """The function, its values and grads as a query (no field: eq and repr ignore it)."""
        return query_string(_head_pairs(_getter(self, {})))

    def pairs(self, **changes: Any) -> list[tuple[str, str]]:
        """This state as query parameters, in order, with ``changes`` applied."""
        get = _getter(self, changes)
        return _head_pairs(get) + _field_pairs(get)

    def url(self, path: str | None = None, **changes: Any) -> str:
        return f"{path or self.path}?{self.query(**changes)}"

    def playground_url(self) -> str:
        """The same state full-size: the playground, without the embed's controls."""
        return self.url("/", readonly=False, hide=(), autoplay=False, present=False)

    def shows(self, part: str) -> bool:
        return part not in self.hide

    @property
    def lines(self) -> tuple[str, ...]:
        """The names of a program's lines, in order; empty for a single function."""
        return line_names(self.expr)

    def toggled(self, name: str) -> tuple[str, ...]:
        """``collapse`` with the line ``name`` collapsed if it is not, expanded if it is."""
        wanted = set(self.collapse) ^ {name}
        return tuple(n for n in self.lines if n in wanted)


STATE_FIELDS = frozenset(f.name for f in fields(PageState))
# The parameters written before the fields: the function, its values and grads.
HEAD = frozenset({"expr", "values", "grads"})


def _getter(state: PageState, changes: dict[str, Any]) -> Callable[[str], Any]:
    """An attribute of ``state`` with ``changes`` applied, as dataclasses.replace reads them
    (without making the new state)."""
    if not changes.keys() <= STATE_FIELDS:
        raise TypeError(f"PageState has no field {sorted(changes.keys() - STATE_FIELDS)}")
    return lambda name: changes[name] if name in changes else getattr(state, name)


def _head_pairs(get: Callable[[str], Any]) -> list[tuple[str, str]]:
    grads = get("grads")
    pairs: list[tuple[str, str]] = [("expr", get("expr")), *get("values").items()]
    if any(not on for on in grads.values()):
        pairs.append(("rg", "1"))
        pairs += [("grad", name) for name, on in grads.items() if on]
    return pairs


def _field_pairs(get: Callable[[str], Any]) -> list[tuple[str, str]]:
    pairs = []
    for f in FIELDS:
        if f.after and not get(f.after):
            continue
        text = f.write(get(f.name))
        if text is not None:
            pairs.append((f.key, text))
    return pairs


def first_value(params: Any, name: str) -> str | None:
    values = params.getlist(name) if hasattr(params, "getlist") else params.get(name)
    if isinstance(values, list):
        return values[0] if values else None
    return values


def all_values(params: Any, name: str) -> list[str]:
    """Every value of a repeated parameter, from QueryParams or a dict (of lists or strings)."""
    values = params.getlist(name) if hasattr(params, "getlist") else params.get(name, [])
    return [values] if isinstance(values, str) else list(values)


def from_query(params: Any, limit: int = 10_000, path: str = "/") -> PageState:
    """Read a page state from query parameters (a Starlette QueryParams or a dict)."""
    expr = first_value(params, "expr")
    if expr is None:
        expr = SEED
        values = {"x": first_value(params, "x") or "2"}
    else:
        expr = line_breaks(expr[:limit])
        values = {}
        for key in params.keys():
            if key not in RESERVED and key not in values:
                values[key] = (first_value(params, key) or "")[:limit]
    grads: dict[str, bool] = {}
    listed = params.getlist("grad") if hasattr(params, "getlist") else params.get("grad", [])
    if first_value(params, "rg") == "1" or listed:
        grads = {name: name in listed for name in values}
    read = {f.name: f.read(all_values(params, f.key)) for f in FIELDS}
    lines = line_names(expr)
    read["collapse"] = tuple(n for n in lines if n in read["collapse"])  # in line order
    return PageState(expr=expr, values=values, grads=grads, path=path, **read)


def read_params(texts: list[str]) -> tuple[str, ...]:
    """The training view's parameters: names, comma-separated or repeated (as a form sends
    checkboxes); what is not a name is dropped.

    A name that is not a variable of the function is kept, so that the training
    says so in a sentence.
    """
    names = [n.strip() for text in texts[:MAX_PARAMS] for n in text.split(",")][:MAX_PARAMS]
    return tuple(dict.fromkeys(n for n in names if n.isidentifier() and n.isascii()))


def read_lines(texts: list[str]) -> tuple[str, ...]:
    """The lines to collapse, comma-separated or repeated, each once; from_query keeps
    the lines of the program, in its order."""
    wanted = [n.strip() for text in texts[:MAX_LINES_READ] for n in text.split(",", MAX_LINES_READ)]
    return tuple(dict.fromkeys(wanted))


def read_step(text: str | None) -> int:
    """A step number from the URL: up to five ASCII digits, else 0 (the overview).

    Not str.isdigit(), which also takes '²' and other digits that int() refuses.
    """
    if text and len(text) < 6 and text.isascii() and text.isdigit():
        return int(text)
    return 0


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def _flag(values: list[str]) -> bool:
    return _first(values) == "1"


def _one_of(options: Sequence[str | None], default: str | None) -> Callable[[list[str]], Any]:
    return lambda values: value if (value := _first(values)) in options else default


def _unless(default: Any) -> Callable[[Any], str | None]:
    """A writer that leaves a parameter out at its default value."""
    return lambda value: None if value == default else str(value)


def _joined(names: tuple[str, ...]) -> str | None:
    return ",".join(names) or None


def _hidden(values: list[str]) -> tuple[str, ...]:
    hidden = {part for text in values for part in text.split(",")}
    return tuple(part for part in HIDEABLE if part in hidden)


@dataclass(frozen=True)
class Field:
    """One query parameter of the page state besides the function, its values and grads.

    ``read`` takes every value the query gives (none when it is missing, so
    ``read([])`` is the default); ``write`` gives the parameter's text, or None
    to leave it out. ``share``: how a frame shared from the state gets it:
    "option" is chosen in the share panel (EmbedOptions), "kept" is the state's
    own, "reset" starts from the default. A field with ``after`` is written only
    when that field is set.
    """

    name: str  # PageState's attribute, and the query parameter
    read: Callable[[list[str]], Any]
    write: Callable[[Any], str | None]
    share: str
    after: str = ""

    @property
    def key(self) -> str:
        return self.name


# In the order they are written into a link.
FIELDS = (
    Field("step", lambda v: read_step(_first(v)), _unless(0), "option"),
    Field("view", _one_of(VIEWS, "torchviz"), _unless("torchviz"), "kept"),
    Field("forward", _flag, lambda on: "1" if on else None, "kept"),
    Field("lang", _one_of(LANGUAGES, None), _unless(None), "option"),
    Field("theme", _one_of(THEMES, "auto"), _unless("auto"), "reset"),
    Field("readonly", _flag, lambda on: "1" if on else None, "option"),
    Field("hide", _hidden, _joined, "option"),
    Field("autoplay", _flag, lambda on: "1" if on else None, "option"),
    Field("exercise", _flag, lambda on: "1" if on else None, "option"),
    Field("order", lambda v: 2 if _first(v) == "2" else 1, _unless(1), "option"),
    Field("accumulate", _flag, lambda on: "1" if on else None, "option"),
    Field("retain", _flag, lambda on: "1" if on else None, "kept"),
    Field("train", read_params, _joined, "kept"),
    Field("lr", lambda v: (_first(v) or DEFAULT_LR)[:32], _unless(DEFAULT_LR), "kept", "train"),
    Field("steps", lambda v: read_step(_first(v)) or DEFAULT_TRAIN_STEPS,
          _unless(DEFAULT_TRAIN_STEPS), "kept", "train"),
    Field("present", _flag, lambda on: "1" if on else None, "kept"),
    Field("collapse", read_lines, _joined, "kept"),
)


def with_variables(state: PageState, names: Iterable[str]) -> PageState:
    """The state of a function that could be read, with exactly one value per variable:
    a program's value line (x = 2) where it has one, which wins over the address, then
    the address's, then a default for a new one; a cell's requires_grad= wins too."""
    names = list(names)
    lines = value_lines(state.expr)
    set_by_lines = tuple((v.line, v.name, v.text) for v in lines)
    given = {**state.values, **{name: text for _, name, text in set_by_lines}}
    grads = {**state.grads, **{v.name: v.requires_grad for v in lines if v.requires_grad is not None}}
    return replace(
        state,
        values={name: given.get(name, DEFAULT_VALUE) for name in names},
        grads={name: on for name, on in grads.items() if name in names},
        new_values=tuple(name for name in names if name not in given),
        set_by_lines=set_by_lines,
        cell=read_cell(state.expr),
    )


def variables_of(expr: str, limits: Limits) -> tuple[list[str], ExprError | None]:
    """The variables the function uses, in order, or the reason it cannot be read."""
    try:
        return list(checked(expr, limits).variables), None
    except ExprError as error:
        return [], error


def check_names(names: Iterable[str]) -> None:
    for name in names:
        if name in RESERVED:
            raise ExprError(
                "'{name}' is a reserved name on this page; call the variable something else.",
                {"name": name},
            )


def exercise_answers(step: Any) -> list[float] | None:
    """The numbers a student predicts for a step in exercise mode, or None to skip it.

    A leaf's question is its ``.grad``; any other step's, the gradients it sends
    on, in the order the step view lists them. Only single finite numbers are
    asked for: a tensor's or an infinite gradient is shown as usual.
    """
    if step.accumulated is not None:
        values = [step.accumulated]
    else:
        values = [v for t, v in zip(step.targets, step.grad_inputs, strict=False) if t is not None and v is not None]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    return [float(v) for v in values]


# Characters that reorder the text around them (bidi embeddings, overrides, isolates
# and marks): shown as U+FFFD wherever a typed text is echoed, so that what a reader
# sees is what was typed.
BIDI_CONTROLS = dict.fromkeys(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)], "\ufffd"
)


def visible(text: str) -> str:
    """``text`` with every bidi control replaced by U+FFFD."""
    return text.translate(BIDI_CONTROLS)


def output_of(expr: str) -> str:
    """The name of the function's result (Parsed.output_name), y if it cannot be read."""
    try:
        return checked(expr, Limits()).output_name
    except ExprError:
        return output_name(())
