"""What each step of the walk through the graph means, in numbers.

Works on the typed records of a result (autograd_playground.core.result), as the pages read them. Every number comes
from that result: from PyTorch, or from the rule each step applied, which the
worker derived and checked against PyTorch (autograd_playground.core.trace.local). This module only
formats them and names the operands by the part of the function they stand
for. The words around the numbers live in the templates, so that they can be
translated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..language.values import format_value, leaves, list_shape
from ..result import WORDED_FORMULAS, GraphResult, Node, Rule


@dataclass(frozen=True)
class Sent:
    """What a step sends to one input, and the rule that made it (result.Rule, as text)."""

    target: str  # node id
    label: str  # the part of the function the input stands for
    value: str
    local: str | None  # element-wise ops: the derived local derivative at the inputs
    formula: str | None  # the derived local derivative, or the tensor rule (G·vᵀ)
    kind: str | None = None  # "local", or the tensor rule: sum, mean, dot, mv, mm, ...
    torch: str | None = None  # PyTorch's own number the formula was checked against
    agrees: bool | None = None  # the check; None where it could not be made
    where: tuple[tuple[str, str], ...] = ()  # names in the formula that are not inputs
    notes: tuple[str, ...] = ()  # see result.Rule
    of: str = ""  # the label as it reads after ∂: (x**2), or in a program a bare name: h
    chain: str | None = None  # element-wise ops: the float32 local derivative PyTorch multiplied by

    @property
    def worded(self) -> bool:
        """Whether the formula is words (result.WORDED_FORMULAS), which a page translates."""
        return self.formula in WORDED_FORMULAS


@dataclass(frozen=True)
class Part:
    """One path's share of a leaf's gradient."""

    node: str
    label: str
    value: str


@dataclass(frozen=True)
class StepView:
    index: int
    node: str
    name: str
    label: str  # the part of the function this node computes, or the variable
    kind: str  # output, op or leaf
    arrived: str
    sent: tuple[Sent, ...] = ()
    variable: str | None = None
    parts: tuple[Part, ...] = ()
    accumulated: str | None = None
    of: str = ""  # the label as it reads after ∂ (see Sent.of)
    heading: str = ""  # the label, or in a program the line it computes: h = tanh(z)


@dataclass(frozen=True)
class ForwardView:
    index: int
    node: str | None
    name: str | None
    source: str
    value: str
    built: tuple[str, ...]
    tensor: bool = False  # a tensor, not Python arithmetic on numbers


@dataclass(frozen=True)
class NodeView:
    id: str
    name: str
    kind: str
    label: str
    value: str
    shape: tuple
    saved: dict[str, str]
    arrived: str | None
    sent: tuple[Sent, ...] = field(default_factory=tuple)


# A step names its operands in a few words: a longer one is shortened in the step
# (``1*x**20 + … + 20*x``) and read in full in the node details.
MAX_OPERAND = 32
# A tensor in a step reads as its first entries and its shape when it is longer than this.
MAX_VALUE = 28
# How many entries a shortened tensor shows before its shape; a vector one longer shows whole.
SHOWN_ENTRIES = 3


def _top_level_terms(text: str) -> list[str]:
    """``text`` split at its top-level `` + `` and `` - `` (not inside parentheses)."""
    terms, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        depth += ch in "(["
        depth -= ch in ")]"
        if depth == 0 and text[i:i + 3] in (" + ", " - ") and i > start:
            terms.append(text[start:i])
            start = i + 3
            i += 3
            continue
        i += 1
    terms.append(text[start:])
    return terms


def shorten(text: str, limit: int = MAX_OPERAND) -> str:
    """An operand as a step names it: a long sum by its first and last terms, anything
    else long by its two ends."""
    if len(text) <= limit:
        return text
    terms = _top_level_terms(text)
    if len(terms) >= 3 and len(terms[0]) + len(terms[-1]) + 7 <= limit:
        return f"{terms[0]} + … + {terms[-1]}"
    half = (limit - 3) // 2
    return f"{text[:half].rstrip()} … {text[-half:].lstrip()}"


def _entry(x: Any) -> str:
    """An entry of a shortened tensor: a whole number as it is, else three significant digits."""
    if isinstance(x, str):  # "nan", "inf", "-inf"
        return x
    number = float(x)
    if number.is_integer() and abs(number) < 1e6:
        return str(int(number))
    return format(number, ".3g")


def brief(value: Any) -> str:
    """A value as a step shows it: in full when short; else a vector's entries to three
    significant digits, or a larger tensor's first entries and its shape: ``[[0.12, -0.5, 1, …]] (3×4)``."""
    text = format_value(value)
    if len(text) <= MAX_VALUE or not isinstance(value, (list, dict)):
        return text
    if isinstance(value, dict):  # a summary of a large tensor
        first, shape = list(value.get("first", [])), [int(n) for n in value.get("shape", [])]
    else:
        first, shape = leaves(value), list_shape(value)
    entries = [_entry(v) for v in first[:SHOWN_ENTRIES + 1]]
    if len(shape) == 1 and len(first) == shape[0] <= SHOWN_ENTRIES + 1:
        rounded = f"[{', '.join(entries)}]"
        if len(rounded) <= MAX_VALUE:
            return rounded
    depth = max(len(shape), 1)
    size = "×".join(str(n) for n in shape)
    return f"{'[' * depth}{', '.join(entries[:SHOWN_ENTRIES])}, …{']' * depth} ({size})"


def full_label(node: Node) -> str:
    """What a node stands for, in full: its variable, the program's name, or its text."""
    if node.kind == "leaf":
        return node.variable or "?"
    return node.name_of or node.source or node.name


def label_of(node: Node) -> str:
    """What a node stands for, as a step names it (shortened past MAX_OPERAND)."""
    return shorten(full_label(node))


def heading_of(node: Node, label: str | None = None) -> str:
    """A node's label, and in a program the line of a named value: ``h = tanh(z)``.
    ``label``: label_of(node), where the caller has it."""
    if node.name_of and node.source:
        return f"{node.name_of} = {shorten(node.source, 2 * MAX_OPERAND)}"
    return label_of(node) if label is None else label


def of(node: Node, program: bool, label: str | None = None) -> str:
    """The label after ∂: ``∂y/∂(x**2)``. In a program names and variables stand bare, as
    the lesson writes ``∂loss/∂h``; a single function keeps its parentheses. ``label``:
    label_of(node), where the caller has it."""
    label = label_of(node) if label is None else label
    if program and (node.name_of or node.kind == "leaf"):
        return label
    return f"({label})"


def _sent(target: str, label: str, value: Any, rule: Rule | None, of: str = "") -> Sent:
    if rule is None:
        return Sent(target, label, brief(value), None, None, of=of)
    return Sent(
        target=target,
        label=label,
        value=brief(value),
        local=brief(rule.value) if rule.kind == "local" and rule.value is not None else None,
        formula=rule.formula,
        kind=rule.kind,
        torch=format_value(rule.torch) if rule.torch is not None else None,
        agrees=rule.agrees,
        where=tuple((k, format_value(v)) for k, v in rule.where.items()),
        notes=rule.notes,
        of=of,
        chain=brief(rule.torch) if rule.kind == "local" and rule.torch is not None else None,
    )


def steps(result: GraphResult) -> list[StepView]:
    nodes = {n.id: n for n in result.nodes}
    program = any(n.name_of for n in result.nodes)
    # Each node's names, once: a step names its node and each operand, and shortening a
    # long sum splits its text into terms character by character.
    labels = {id_: label_of(node) for id_, node in nodes.items()}
    ofs = {id_: of(node, program, labels[id_]) for id_, node in nodes.items()}
    out = []
    for step in result.steps:
        node = nodes[step.node]
        arrived = step.grad_outputs[0] if step.grad_outputs else None
        rules = step.rules or (None,) * len(step.targets)
        sent = tuple(
            _sent(target, labels[target], value, rule, ofs[target])
            for target, value, rule in zip(step.targets, step.grad_inputs, rules, strict=False)
            if target is not None and value is not None
        )
        parts = tuple(
            Part(c.node, labels[c.node], brief(c.value))
            for c in sorted(
                step.contributions, key=lambda c: (nodes[c.node].start or 0, c.node)
            )
        )
        out.append(
            StepView(
                index=step.index,
                node=node.id,
                name=node.name,
                label=labels[node.id],
                kind=node.kind,
                arrived=brief(arrived),
                sent=sent,
                variable=node.variable,
                parts=parts,
                accumulated=brief(step.accumulated)
                if step.accumulated is not None
                else None,
                of=ofs[node.id],
                heading=heading_of(node, labels[node.id]),
            )
        )
    return out


def forward(result: GraphResult) -> list[ForwardView]:
    """The forward pass op by op, with the nodes that exist after each op."""
    nodes = {n.id: n for n in result.nodes}
    built = [n.id for n in result.nodes if n.kind == "leaf"]
    built += [f"var-{n.variable}" for n in result.nodes if n.kind == "leaf"]
    out = []
    ops = result.forward
    for op in ops:
        if op.node:
            built.append(op.node)
        last = op is ops[-1]
        out.append(
            ForwardView(
                index=op.index,
                node=op.node,
                name=nodes[op.node].name if op.node else None,
                source=heading_of(nodes[op.node]) if op.node else op.source,
                value=format_value(op.value),
                built=tuple(built + (["out"] if last else [])),
                tensor=op.tensor,
            )
        )
    return out


def _full(value: Any, shown: str) -> str:
    """``value`` in full, where a step showed it as ``shown`` (brief): the same text, unless
    brief shortened a tensor."""
    shortened = isinstance(value, (list, dict))  # the only values brief shortens
    return format_value(value) if shortened else shown


def node_views(result: GraphResult, step_views: list[StepView]) -> list[NodeView]:
    """Everything the details panel shows for each node; ``step_views`` is steps(result)."""
    by_node = {s.node: s for s in step_views}
    records = {s.node: s for s in result.steps}
    views = []
    for node in result.nodes:
        step = by_node.get(node.id)
        record = records.get(node.id)
        arrived, sent = (step.arrived, step.sent) if step else (None, ())
        if step and record:  # the details read the values in full, where the step is brief
            arrived = _full(record.grad_outputs[0], step.arrived) if record.grad_outputs else arrived
            full = [v for t, v in zip(record.targets, record.grad_inputs, strict=False)
                    if t is not None and v is not None]
            if len(full) == len(sent):
                sent = tuple(o if (text := _full(v, o.value)) == o.value
                             else dataclasses.replace(o, value=text)
                             for o, v in zip(sent, full, strict=True))
        views.append(
            NodeView(
                id=node.id,
                name=node.name,
                kind=node.kind,
                label=full_label(node),
                value=format_value(node.value),
                shape=tuple(node.shape),
                saved={k: format_value(v) for k, v in node.saved.items()},
                arrived=arrived,
                sent=sent,
            )
        )
    return views
