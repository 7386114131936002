"""DOT for a trace: torchviz's own picture with our stable ids, and the annotated view."""

from __future__ import annotations

import contextlib
import re
import threading
from typing import TYPE_CHECKING

from cachetools import LRUCache, cached

from ..language.values import format_value
from ..result import Value
from ..trace.names import element_id, var_id
from .named import Names, placeholders_only

if TYPE_CHECKING:  # the web process inlines SVG without loading torch
    from ..trace.graph import Trace


# torchviz's look, shared by the annotated view so both read alike.
_GRAPH_HEADER = (
    "digraph {\n"
    '\tgraph [size="12,12"]\n'
    "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 "
    "shape=box style=filled]\n"
)


# The torchviz view shows no values, so the same function with new values has the
# same DOT: a class trying its own x pays make_dot once (a 20-term polynomial: 1.5 ms).
DOT_BYTES = 4 * 2**20  # bounds the DOT sources remembered, by their bytes
_DOT_MEMORY: LRUCache[tuple, str] = LRUCache(maxsize=DOT_BYTES, getsizeof=len)
_DOT_LOCK = threading.Lock()  # the server's own threads share it when workers=0
# The DOT of each trace drawn last, with its names, and the key of the DOT it was
# written from: a class trying new values of one function asks for it again and again.
# It is used while that DOT is remembered, so that forgetting those forgets these.
NAMED_DOT_BYTES = 2**20  # a lesson's DOT is 0.7 KB, a 20-term polynomial's 3.7 KB
_NAMED_DOTS: LRUCache[tuple, tuple[tuple, str]] = LRUCache(
    maxsize=NAMED_DOT_BYTES, getsizeof=lambda entry: len(entry[1]))


def remembered_torchviz_dot(trace: Trace, collapse: tuple[str, ...] = ()) -> str:
    """:func:`torchviz_dot`, remembered per :func:`drawing_key` and the lines collapsed."""
    return named_torchviz_dot(trace, collapse)[0]


def named_torchviz_dot(
    trace: Trace, collapse: tuple[str, ...] = (),
) -> tuple[str, tuple[str, dict[str, str]] | None]:
    """:func:`torchviz_dot`, remembered; and, when it was written from the DOT of the
    trace with placeholders for its names, that DOT and the names (placeholder -> name).

    A trace not drawn before is drawn once per shape: the trace with placeholders for
    its names (named.Names) is drawn and remembered, and this trace's names are
    written back into that DOT; a trace whose names cannot be is drawn as it is."""
    key = _memory_key(trace, collapse)
    with _DOT_LOCK:
        known = _NAMED_DOTS.get(key)
        if known is not None and _DOT_MEMORY.get(known[0]) is not None:
            return known[1], None
    names = Names.of(trace, collapse)
    if names is not None:
        drawn_key = _memory_key(names.trace, names.collapse)
        hidden = _placeholders_dot(names.trace, names.collapse)
        if placeholders_only(hidden, names.names):
            source = names.back(hidden)
            _keep(key, drawn_key, source)
            return source, (hidden, names.names)
    source = _own_dot(trace, collapse)
    _keep(key, ("own", *key), source)
    return source, None


def _keep(key: tuple, drawn_key: tuple, source: str) -> None:
    with _DOT_LOCK, contextlib.suppress(ValueError):  # a DOT larger than the memory
        _NAMED_DOTS[key] = (drawn_key, source)


def _memory_key(trace: Trace, collapse: tuple[str, ...] = ()) -> tuple:
    return (*drawing_key(trace), collapse)


@cached(_DOT_MEMORY, key=_memory_key, lock=_DOT_LOCK)
def _placeholders_dot(trace: Trace, collapse: tuple[str, ...] = ()) -> str:
    """The DOT of a trace whose names are placeholders, remembered per its drawing_key."""
    return torchviz_dot(trace, collapse)


@cached(_DOT_MEMORY, key=lambda trace, collapse=(): ("own", *_memory_key(trace, collapse)),
        lock=_DOT_LOCK)
def _own_dot(trace: Trace, collapse: tuple[str, ...] = ()) -> str:
    """The DOT of a trace whose names cannot be placeholders, remembered as it is."""
    return torchviz_dot(trace, collapse)


def drawing_key(trace: Trace) -> tuple:
    """Everything torchviz draws a trace from, and nothing it does not: the nodes with
    their ids, op names and edges, each leaf's variable and shape, the output's name and
    shape, a program's named values and lines. No values, no gradients."""
    return (
        trace.output_label or trace.output_name,
        tuple(trace.tensor.shape),
        tuple(
            (n.id, n.name, n.inputs, n.variable, n.name_of,
             tuple(n.shape) if n.kind == "leaf" else None)
            for n in trace.nodes
        ),
        tuple((name, tuple(t.shape)) for name, t in trace.params.items()),
        trace.groups,
    )

_EDGE = re.compile(r"^\t(\d+) -> (\d+)(.*)$", re.DOTALL)
_NODE = re.compile(r"^\t(\d+) \[(.*)$", re.DOTALL)
_LABEL = re.compile(r'label="(?:[^"\\]|\\.)*"|label=[^\s\]]+')


def torchviz_dot(trace: Trace, collapse: tuple[str, ...] = ()) -> str:
    """torchviz's DOT for the traced output, with our stable ids on every node.

    Each line named in ``collapse`` is drawn as one box (see :func:`box_of`)."""
    import torchviz

    dot = torchviz.make_dot(trace.tensor, params=trace.params)
    output = trace.output_label or trace.output_name
    ids = dict(trace.torch_ids)
    extra = iter(f"t{i}" for i in range(10**9))

    def stable(raw: str) -> str:
        key = int(raw)
        if key not in ids:  # a tensor torchviz draws that we did not name
            ids[key] = next(extra)
        return ids[key]

    named = {n.id: f"{n.name}\n{n.name_of}" for n in trace.nodes if n.name_of}
    boxes = _Boxes(trace, collapse, with_value=False)
    body = []
    for line in dot.body:
        if m := _EDGE.match(line):
            a, b = boxes.edge(stable(m.group(1)), stable(m.group(2)))
            if a is not None:
                body.append(f'\t"{a}" -> "{b}"{m.group(3)}')
        elif m := _NODE.match(line):
            sid = stable(m.group(1))
            if sid in boxes.of:
                body.extend(boxes.node(sid))
                continue
            attrs = m.group(2)
            if sid == "out":  # torchviz labels the output by its shape, "()"
                attrs = _LABEL.sub(f"label={_quote(output)}", attrs, count=1)
            elif sid in named:  # a program's named value: its name under the op
                attrs = _LABEL.sub(f"label={_quote(named[sid])}", attrs, count=1)
            body.append(f'\t"{sid}" [id="{sid}" {attrs}')
        else:
            body.append(line)
    dot.body = body + [_clusters(trace, boxes.names)]
    return dot.source


def _clusters(trace: Trace, collapsed: tuple[str, ...] = ()) -> str:
    """Each line of a program as one labelled group (a Graphviz cluster, id ``line-h``);
    a collapsed line is a box instead, and has no cluster.

    Each cluster sits in an anonymous subgraph of its own. Graphviz keeps a graph's
    subgraphs ordered by their ids, which for a named one is the address of its interned
    name: two clusters side by side came out in any order, and the same program laid out
    five times gave three pictures. Anonymous subgraphs are numbered as they are read,
    so the clusters are taken in line order, every time."""
    out = []
    for name, text, ids in trace.groups:
        if not ids or name in collapsed:
            continue
        out.append(
            f'\tsubgraph {{\n\tsubgraph {_quote("cluster_" + name)} {{\n'
            f'\t\tid="{element_id("line", name)}" label={_quote(text)} '
            'style="rounded,dashed" color=gray50 fontname=monospace fontsize=10\n'
            + "".join(f'\t\t"{i}"\n' for i in ids)
            + "\t}\n\t}\n"
        )
    return "".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def box_of(name: str) -> str:
    """The id of the box a collapsed program line is drawn as: ``box-h`` for ``h = ...``
    (``box-layer1-2e-conv`` for a module, names.element_id)."""
    return element_id("box", name)


def collapsed_lines(trace: Trace, collapse: tuple[str, ...]) -> tuple[str, ...]:
    """The lines of ``collapse`` that can be drawn as a box (they made nodes), in line order."""
    wanted = set(collapse)
    return tuple(name for name, _, ids in trace.groups if ids and name in wanted)


class _Boxes:
    """The collapsed lines of one drawing: which node is inside which box, and the edges
    between boxes and nodes (into or out of a box once, none inside it)."""

    def __init__(self, trace: Trace, collapse: tuple[str, ...], with_value: bool):
        self.names = collapsed_lines(trace, collapse)
        self.of: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        nodes = {n.id: n for n in trace.nodes}
        for name, text, ids in trace.groups:
            if name not in self.names:
                continue
            box = box_of(name)
            self.of.update((i, box) for i in ids)
            label = text.strip()
            named = next((nodes[i] for i in ids if i in nodes and nodes[i].name_of == name), None)
            if with_value and named is not None:
                label += f"\n= {format_value(named.value)}"
            self.labels[box] = label
        self._drawn: set[str] = set()
        self._edges: set[tuple[str, str]] = set()

    def node(self, node_id: str) -> list[str]:
        """The box's DOT line the first time one of its nodes is met; nothing after that."""
        box = self.of[node_id]
        if box in self._drawn:
            return []
        self._drawn.add(box)
        return [f'\t"{box}" [id="{box}" label={_quote(self.labels[box])} '
                f"shape=box3d fillcolor=lavender]\n"]

    def edge(self, a: str, b: str) -> tuple[str, str] | tuple[None, None]:
        """The edge a -> b as drawn, or (None, None) where it is inside a box or drawn already.

        Edges between nodes that are not in a box are left alone, duplicates included:
        x*x has two edges from x."""
        a, b = self.of.get(a, a), self.of.get(b, b)
        if a == b:
            return None, None
        if a in self.labels or b in self.labels:
            if (a, b) in self._edges:
                return None, None
            self._edges.add((a, b))
        return a, b


def annotated_dot(trace: Trace, collapse: tuple[str, ...] = ()) -> str:
    """The same graph, each node labelled with its forward value and gradient; each line
    named in ``collapse`` as one box with the line's value."""
    arrived: dict[str, Value | None] = {}
    for step in trace.steps:
        if len(step.grad_outputs) == 1:
            arrived[step.node] = step.grad_outputs[0]
    variables = {v.name: v for v in trace.variables}
    boxes = _Boxes(trace, collapse, with_value=True)
    lines = [_GRAPH_HEADER]

    def node(sid: str, label: str, **attrs: str) -> None:
        if sid in boxes.of:
            lines.extend(boxes.node(sid))
            return
        extra = "".join(f" {k}={v}" for k, v in attrs.items())
        lines.append(f'\t"{sid}" [id="{sid}" label={_quote(label)}{extra}]\n')

    def edge(a: str, b: str) -> None:
        start, end = boxes.edge(a, b)
        if start is not None:
            lines.append(f'\t"{start}" -> "{end}"\n')

    output = trace.output_label or trace.output_name
    node("out", f"{output} = {format_value(trace.output.value)}", fillcolor="darkolivegreen1")
    for n in trace.nodes:
        grad = format_value(arrived.get(n.id))
        if n.kind == "leaf":
            var = variables.get(n.variable or "")
            node(
                var_id(n.variable or ""),
                f"{n.variable} = {format_value(n.value)}\n"
                f"grad {format_value(var.grad) if var else '?'}",
                fillcolor="lightblue",
            )
            edge(var_id(n.variable or ""), n.id)
            node(n.id, f"{n.name}\ngrad in {grad}")
        else:
            head = f"{n.source} = " if n.source else "value "
            if n.name_of:
                head = f"{n.name_of} = {head}"
            shown = f"{head}{format_value(n.value)}\n"
            if n.value is None:  # a notebook's node whose value nothing kept (trace.tensor)
                shown = f"{head.removesuffix(' = ')}\n" if n.source or n.name_of else ""
            node(n.id, f"{n.name}\n{shown}grad in {grad}")
        for target in n.inputs:
            if target is not None:
                edge(target, n.id)
    if trace.nodes:
        edge(trace.nodes[0].id, "out")
    lines.append(_clusters(trace, boxes.names))
    lines.append("}\n")
    return "".join(lines)


