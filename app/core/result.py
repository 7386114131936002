"""The result of one computation as typed, torch-free records.

graph.trace builds these records from real tensors, pipeline.compute adds the
picture and the program, and everything after that (the cache, the API's
schema, the pages and their explanations) reads the same records without
loading torch. :func:`from_json` rebuilds them from the JSON the API sends.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal, get_args, get_origin, get_type_hints

# typing.TypedDict before Python 3.12 cannot describe itself to the API schema.
from typing_extensions import TypedDict


class Summary(TypedDict):
    """A value with too many numbers to send: its shape, first numbers, min, max, mean."""

    shape: list[int]
    first: list[float | str]
    min: float | str
    max: float | str
    mean: float | str


# A number, "nan", "inf" or "-inf" (strict JSON has no non-finite numbers), a
# nested list of those, or a Summary of a big one.
Value = float | str | list[Any] | Summary


# The shape of an answer, in every cache key: a replica of another version sharing
# one Redis never hands out an answer with other fields. Raise it when fields change.
RESULT_VERSION = 4


@dataclass(frozen=True)
class Variable:
    name: str
    value: Value
    shape: tuple[int, ...]
    requires_grad: bool
    grad: Value | None


@dataclass(frozen=True)
class Node:
    """One node of the backward graph (one ``grad_fn``)."""

    id: str
    name: str  # the torch class name: MulBackward0, AccumulateGrad, ...
    kind: str  # "output", "op" or "leaf"
    inputs: tuple[str | None, ...]  # one id per next_functions entry
    value: Value | None  # forward value of the tensor this node belongs to
    shape: tuple[int, ...]
    variable: str | None = None  # for leaves
    saved: dict[str, Value] = field(default_factory=dict)
    source: str | None = None  # the part of the function that made it
    start: int | None = None
    end: int | None = None
    name_of: str | None = None  # the program's name for the value it computes (h, loss)


@dataclass(frozen=True)
class Contribution:
    """A gradient a leaf received along one path: ``node`` sent ``value``."""

    node: str
    value: Value


def N_(text: str) -> str:
    """Mark a phrase for the message catalogue; it is translated where it is shown."""
    return text


# A rule's formula where it is words rather than symbols (trace.forms, trace.local):
# the API gives it as here, and a page in its own language.
# A rule with no symbolic form (a node of the gradient's own graph, a backward of a
# backward): the numbers are PyTorch's own.
OWN_NUMBERS = N_("PyTorch's own numbers")
SUM_OVER_COPIES = N_("sum of G over the copies")
AT_LARGEST = N_("g at the largest element")
AT_SMALLEST = N_("g at the smallest element")
AT_INDEX_K = N_("−g at index k")
WORDED_FORMULAS = frozenset({OWN_NUMBERS, SUM_OVER_COPIES, AT_LARGEST, AT_SMALLEST, AT_INDEX_K})


@dataclass(frozen=True)
class Rule:
    """How a step makes the gradient it sends to one input: derived, computed, checked.

    ``kind`` "local": an element-wise op; ``formula`` is its local derivative,
    derived by sympy and printed with the operands as typed (``2^x·ln(2)``);
    ``value`` is the formula at this request's numbers and ``torch`` PyTorch's own
    local derivative (the node called on ones), element by element. Any other kind
    names a tensor rule applied to what arrived (sum, mean, dot, mv, mm, bmm,
    expand, transpose, reshape): ``formula`` reads like ``G·vᵀ``, ``value`` is the
    rule computed from what arrived and ``torch`` what PyTorch really sent.
    ``agrees`` says whether the two match within float32 tolerance (None: not
    checked). ``where`` defines names in the formula that are not inputs (a
    variable with requires_grad off, mean's and mse's n, cross_entropy's k). ``notes`` flag
    what a student should know here: relu-at-zero, abs-at-zero, sqrt-at-zero, log-at-zero,
    outside-domain, division-by-zero, inf-arrived, nan-arrived, broadcast, tie-split
    (maximum, minimum, max, min: PyTorch splits evenly), clamp-at-bound (PyTorch passes 1).
    """

    kind: str
    formula: str
    value: Value | None
    torch: Value | None
    agrees: bool | None
    where: dict[str, Value] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One node run by the backward engine, in the order it ran."""

    index: int  # 1-based, as a student counts
    node: str
    name: str
    grad_outputs: tuple[Value | None, ...]  # what arrived
    grad_inputs: tuple[Value | None, ...]  # what was sent on, one per input
    targets: tuple[str | None, ...]  # where each grad_input went
    local_derivatives: tuple[Value | None, ...]  # PyTorch's own, element-wise, where defined
    accumulated: Value | None = None  # for a leaf: what went into .grad
    contributions: tuple[Contribution, ...] = ()  # for a leaf: from each path
    rules: tuple[Rule | None, ...] = ()  # one per input: how the gradient sent there is made


@dataclass(frozen=True)
class ForwardOp:
    """One operation of the forward pass, in the order Python evaluated it."""

    index: int
    source: str
    value: Value
    shape: tuple[int, ...]
    node: str | None  # the graph node it made, None for constant arithmetic
    start: int
    end: int
    tensor: bool = False  # a tensor (without requires_grad, if node is None), not a Python number


@dataclass(frozen=True)
class Output:
    value: Value
    repr: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Intermediate:
    """A program's named value that is not the output, and its ``.grad`` as PyTorch leaves it:
    None unless ``retain_grad()`` was called on it before backward() (retain_grad: true)."""

    name: str
    value: Value
    shape: tuple[int, ...]
    grad: Value | None


@dataclass(frozen=True)
class ProgramLine:
    """One line of a program and the nodes it made (its group in the picture).

    ``box`` is the id of the one box the line is drawn as when the request collapsed it
    (``box-h``), else None: then its nodes are drawn inside a cluster ``line-h``."""

    name: str
    text: str
    nodes: tuple[str, ...]
    box: str | None = None


@dataclass(frozen=True)
class GraphResult:
    """Everything the API answers for one function (POST /api/graph)."""

    expression: str
    output: Output
    gradients: dict[str, Value | None]
    variables: tuple[Variable, ...]
    nodes: tuple[Node, ...]
    steps: tuple[Step, ...]
    forward: tuple[ForwardOp, ...]
    view: Literal["torchviz", "annotated"]
    svg: str
    dot: str
    code: str
    # A program's named values other than the output, in line order; empty for a single function.
    intermediates: tuple[Intermediate, ...]
    # A program's lines, in order, with their nodes and box; empty for a single function.
    lines: tuple[ProgramLine, ...]
    # The values a program's value lines (x = 2) set, by name; empty when none does.
    line_values: dict[str, Value]
    # Present only when asked for ("symbolic": true, "order": 2, "accumulate": true).
    symbolic: dict[str, Any] | None = None  # dy/dx per variable beside x.grad
    plot: dict[str, Any] | None = None  # y(x) and its tangent, one scalar variable only
    second_order: dict[str, Any] | None = None  # d²y/dx² and the gradient's own graph
    accumulation: dict[str, Any] | None = None  # x.grad after one and two backward()

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


@dataclass(frozen=True)
class TrainStep:
    """One update: the parameters before it, the loss at them, the gradient it uses."""

    index: int  # 1-based, as a student counts
    loss: Value
    params: dict[str, Value]
    grads: dict[str, Value | None]  # None: the loss does not depend on that parameter


@dataclass(frozen=True)
class Training:
    expression: str
    params: tuple[str, ...]
    lr: float
    zero_grad: bool
    steps: tuple[TrainStep, ...]
    # Set when the run stopped early: the step at which the loss or a parameter
    # stopped being a finite number. The last entry shows it.
    diverged_at: int | None
    final: dict[str, Value]  # the parameters after the last update made
    code: str


def from_json(data: dict[str, Any]) -> GraphResult:
    """The records of a result, from its JSON form (as the API sends it)."""
    return _build(GraphResult, data)


def training_from_json(data: dict[str, Any]) -> Training:
    """A training run's records, from its JSON form (POST /api/train)."""
    return _build(Training, data)


# Per record type, each field's name and how its JSON becomes the field's value (None:
# as it is), worked out once from the type hints: asking typing again for every field of
# every record was a sixth of a page's time.
_BUILDERS: dict[type, tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}


def _build(kind: type, data: dict[str, Any]) -> Any:
    builders = _BUILDERS.get(kind)
    if builders is None:
        hints = get_type_hints(kind)
        builders = _BUILDERS[kind] = tuple((f.name, _converter(hints[f.name])) for f in fields(kind))
    return kind(**{
        name: data[name] if convert is None else convert(data[name])
        for name, convert in builders
        if name in data
    })


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    """Records become records, and their tuples tuples; values stay as they are (None)."""
    if get_origin(hint) is tuple:
        (item, *_rest) = get_args(hint)
        if isinstance(item, type) and item in _RECORD_TYPES:
            return lambda value: tuple(_build(item, v) for v in value)
        record = next((a for a in get_args(item) if a in _RECORD_TYPES), None)
        if record is not None:  # a tuple of optional records
            return lambda value: tuple(None if v is None else _build(record, v) for v in value)
        return tuple
    if isinstance(hint, type) and hint in _RECORD_TYPES:
        return lambda value: _build(hint, value)
    return None


def plain(record: Any) -> Any:
    """A record as dicts and lists, the inverse of :func:`from_json`; anything else as it is.

    Each field's value is kept as it is (values are already plain data), except a
    nested record, which becomes a dict, and a tuple of records (or of optional
    records, Step.rules), which becomes a list of dicts. Which fields those are is
    read once per record type from its type hints, as _build does.
    """
    kind = type(record)
    convert = _PLAIN.get(kind)
    if convert is None:
        if not is_dataclass(kind):
            return record
        convert = _PLAIN[kind] = _plain_of(kind)
    return convert(record)


_PLAIN: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _plain_of(kind: type) -> Callable[[Any], dict[str, Any]]:
    """How a record of ``kind`` becomes a dict: a copy of its fields, in order, with
    only the record fields turned into dicts.

    A dataclass's ``__init__`` sets every field, in order, so the instance's own
    ``__dict__`` is its fields, unless something else was kept there (a cached
    property): then the fields are read one by one.
    """
    hints = get_type_hints(kind)
    names = tuple(f.name for f in fields(kind))
    read = operator.attrgetter(*names) if len(names) > 1 else (lambda r: (getattr(r, names[0]),))
    nested = tuple((name, c) for name in names if (c := _to_plain(hints[name])) is not None)
    own = "__slots__" not in vars(kind)

    def convert(record: Any) -> dict[str, Any]:
        out = dict(record.__dict__) if own else {}
        if len(out) != len(names):
            out = dict(zip(names, read(record), strict=True))
        for name, to_plain in nested:
            out[name] = to_plain(out[name])
        return out

    return convert


def _to_plain(hint: Any) -> Callable[[Any], Any] | None:
    """How a field of this type becomes plain data; None: it already is."""
    args = get_args(hint)
    if get_origin(hint) is tuple and args:
        if _records_in(args[0]):  # a tuple of records, or of optional records
            return lambda value: [plain(v) for v in value]
        return None
    if _records_in(hint):
        return plain
    return None


def _records_in(hint: Any) -> bool:
    """Whether a value of this type may be a record (``Rule``, ``Rule | None``)."""
    options = get_args(hint) if get_origin(hint) is not tuple and get_args(hint) else (hint,)
    return any(isinstance(o, type) and is_dataclass(o) for o in options)


_RECORD_TYPES = {
    Variable, Node, Contribution, Rule, Step, ForwardOp, Output, TrainStep, Intermediate,
    ProgramLine,
}
