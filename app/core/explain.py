"""What each step of the walk through the graph means, in numbers.

Works on the typed records of a result (app.core.result), as the pages read them. Every number comes
from that result, that is from PyTorch; this module only adds the symbolic
form of each op's local derivative (one table, keyed by op) and names the
operands by the part of the function they stand for. The words around the
numbers live in the templates, so that they can be translated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.core.result import GraphResult, Node
from app.core.values import format_value

# The local derivative of each op with respect to each of its inputs, in the
# order of ``next_functions``. {a} and {b} stand for the first and second
# operand (in parentheses where needed), {A} for the first one bare, {n} for a
# saved exponent and {m} for that exponent minus one, written as a power.
LOCAL_RULES: dict[str, tuple[str, ...]] = {
    "AddBackward0": ("1", "1"),
    "SubBackward0": ("1", "−1"),
    "RsubBackward1": ("−1",),
    "MulBackward0": ("{b}", "{a}"),
    "DivBackward0": ("1/{b}", "−{a}/{b}²"),
    "PowBackward0": ("{n}·{a}{m}",),
    "PowBackward1": ("{b}·{a}^({b}−1)", "{a}^{b}·ln({A})"),
    "PowBackward2": ("{a}^{b}·ln({A})", "{a}^{b}·ln({A})"),
    "NegBackward0": ("−1",),
    "SinBackward0": ("cos({A})",),
    "CosBackward0": ("−sin({A})",),
    "TanBackward0": ("1 + tan²({A})",),
    "ExpBackward0": ("exp({A})",),
    "LogBackward0": ("1/{a}",),
    "SqrtBackward0": ("1/(2·√{a})",),
    "AbsBackward0": ("sign({A})",),
    "TanhBackward0": ("1 − tanh²({A})",),
    "SigmoidBackward0": ("σ({A})·(1 − σ({A}))",),
    "ReluBackward0": ("[{A} > 0]",),
    "SumBackward0": ("1",),
    "MeanBackward0": ("1/n",),
    "DotBackward0": ("{b}", "{a}"),
    "MvBackward0": ("{b}ᵀ", "{a}ᵀ"),
    "MmBackward0": ("·{b}ᵀ", "{a}ᵀ·"),
}

_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")


def _power(exponent: Any) -> str:
    """``m`` written as an exponent: superscript digits, or ^(m) otherwise."""
    if isinstance(exponent, float) and exponent.is_integer():
        if exponent == 1:
            return ""
        return format_value(exponent).translate(_SUPERSCRIPT)
    return f"^({format_value(exponent)})"


@dataclass(frozen=True)
class Sent:
    """What a step sends to one input."""

    target: str  # node id
    label: str  # the part of the function the input stands for
    value: str
    local: str | None  # local derivative, from PyTorch (sent / arrived)
    formula: str | None  # its symbolic form


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


@dataclass(frozen=True)
class ForwardView:
    index: int
    node: str | None
    name: str | None
    source: str
    value: str
    built: tuple[str, ...]


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


def label_of(node: Node) -> str:
    if node.kind == "leaf":
        return node.variable or "?"
    return node.source or node.name


def _operands(node: Node, nodes: dict[str, Node]) -> list[str]:
    """Texts for the operands {a}, {b}: an input's part of the function, or a saved constant."""
    saved = node.saved
    names = ("self", "other")
    texts = []
    for i, target in enumerate(node.inputs):
        if target is not None:
            texts.append(label_of(nodes[target]))
        elif i < 2 and names[i] in saved:
            texts.append(format_value(saved[names[i]]))
        else:
            texts.append("c")
    return texts


def _is_atom(text: str) -> bool:
    if text.replace("_", "").isalnum():
        return True
    try:
        return float(text) >= 0
    except ValueError:
        return False


def formula(node: Node, index: int, nodes: dict[str, Node]) -> str | None:
    rules = LOCAL_RULES.get(node.name)
    if rules is None or index >= len(rules):
        return None
    operands = _operands(node, nodes) + ["c", "c"]
    exponent = node.saved.get("exponent")
    wrap = [o if _is_atom(o) else f"({o})" for o in operands]
    m = ""
    if isinstance(exponent, float):
        m = _power(exponent - 1)
    return rules[index].format(
        a=wrap[0], A=operands[0], b=wrap[1], n=format_value(exponent) if exponent is not None else "n", m=m
    )


def steps(result: GraphResult) -> list[StepView]:
    nodes = {n.id: n for n in result.nodes}
    out = []
    for step in result.steps:
        node = nodes[step.node]
        arrived = step.grad_outputs[0] if step.grad_outputs else None
        sent = tuple(
            Sent(
                target=target,
                label=label_of(nodes[target]),
                value=format_value(value),
                local=format_value(local) if local is not None else None,
                formula=formula(node, i, nodes),
            )
            for i, (target, value, local) in enumerate(
                zip(step.targets, step.grad_inputs, step.local_derivatives)
            )
            if target is not None and value is not None
        )
        parts = tuple(
            Part(c.node, label_of(nodes[c.node]), format_value(c.value))
            for c in sorted(
                step.contributions, key=lambda c: (nodes[c.node].start or 0, c.node)
            )
        )
        out.append(
            StepView(
                index=step.index,
                node=node.id,
                name=node.name,
                label=label_of(node),
                kind=node.kind,
                arrived=format_value(arrived),
                sent=sent,
                variable=node.variable,
                parts=parts,
                accumulated=format_value(step.accumulated)
                if step.accumulated is not None
                else None,
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
                source=op.source,
                value=format_value(op.value),
                built=tuple(built + (["out"] if last else [])),
            )
        )
    return out


def node_views(result: GraphResult, step_views: list[StepView]) -> list[NodeView]:
    """Everything the details panel shows for each node; ``step_views`` is steps(result)."""
    by_node = {s.node: s for s in step_views}
    views = []
    for node in result.nodes:
        step = by_node.get(node.id)
        views.append(
            NodeView(
                id=node.id,
                name=node.name,
                kind=node.kind,
                label=label_of(node),
                value=format_value(node.value),
                shape=tuple(node.shape),
                saved={k: format_value(v) for k, v in node.saved.items()},
                arrived=step.arrived if step else None,
                sent=step.sent if step else (),
            )
        )
    return views
