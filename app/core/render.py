"""The picture: a Trace drawn by torchviz and laid out by Graphviz as SVG.

Two views of the same graph, with the same stable node ids:

- ``torchviz``: exactly torchviz's ``make_dot(y, params=...)``, the picture the
  lesson shows, with its random ``id()`` names replaced by our ids;
- ``annotated``: the same nodes and edges, each labelled with its forward
  value and the gradient that reached it, as micrograd's ``draw_dot`` does.

All layout goes through :func:`layout`, so the engine can be swapped in one
place. The SVG is sanitized here, and this is the one module whose output may
be inlined into a page as markup.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

import defusedxml.ElementTree as defused
from defusedxml import DefusedXmlException
from markupsafe import Markup

from app.core.values import format_value

if TYPE_CHECKING:  # the web process inlines SVG without loading torch
    from app.core.graph import Trace

# The pictures of a trace; the API, the page and the cache key all take their names from here.
View = Literal["torchviz", "annotated"]
VIEWS: tuple[str, ...] = get_args(View)

# torchviz's look, shared by the annotated view so both read alike.
_GRAPH_HEADER = (
    "digraph {\n"
    '\tgraph [size="12,12"]\n'
    "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 "
    "shape=box style=filled]\n"
)


class RenderError(Exception):
    """The graph could not be laid out (Graphviz missing, failing or too slow)."""


@dataclass(frozen=True)
class Picture:
    view: str
    dot: str
    svg: str


# Past this many nodes, Graphviz's crossing minimisation can take seconds (a sum
# of 100 x's: 11 s), so it is told to settle for a quicker layout.
QUICK_LAYOUT_NODES = 40


def render(trace: Trace, view: str = "torchviz", timeout: float = 5.0) -> Picture:
    source = torchviz_dot(trace) if view == "torchviz" else annotated_dot(trace)
    quick = len(trace.nodes) > QUICK_LAYOUT_NODES
    return Picture(view=view, dot=source, svg=sanitize_svg(layout(source, timeout, quick)))


# --- DOT --------------------------------------------------------------------

_EDGE = re.compile(r"^\t(\d+) -> (\d+)(.*)$", re.DOTALL)
_NODE = re.compile(r"^\t(\d+) \[(.*)$", re.DOTALL)


def torchviz_dot(trace: Trace) -> str:
    """torchviz's DOT for the traced output, with our stable ids on every node."""
    import torchviz

    dot = torchviz.make_dot(trace.tensor, params=trace.params)
    ids = dict(trace.torch_ids)
    extra = iter(f"t{i}" for i in range(10**9))

    def stable(raw: str) -> str:
        key = int(raw)
        if key not in ids:  # a tensor torchviz draws that we did not name
            ids[key] = next(extra)
        return ids[key]

    body = []
    for line in dot.body:
        if m := _EDGE.match(line):
            a, b = stable(m.group(1)), stable(m.group(2))
            body.append(f'\t"{a}" -> "{b}"{m.group(3)}')
        elif m := _NODE.match(line):
            sid = stable(m.group(1))
            body.append(f'\t"{sid}" [id="{sid}" {m.group(2)}')
        else:
            body.append(line)
    dot.body = body
    return dot.source


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def annotated_dot(trace: Trace) -> str:
    """The same graph, each node labelled with its forward value and gradient."""
    arrived: dict[str, object] = {}
    for step in trace.steps:
        if len(step.grad_outputs) == 1:
            arrived[step.node] = step.grad_outputs[0]
    variables = {v.name: v for v in trace.variables}
    lines = [_GRAPH_HEADER]

    def node(sid: str, label: str, **attrs: str) -> None:
        extra = "".join(f" {k}={v}" for k, v in attrs.items())
        lines.append(f'\t"{sid}" [id="{sid}" label={_quote(label)}{extra}]\n')

    def edge(a: str, b: str) -> None:
        lines.append(f'\t"{a}" -> "{b}"\n')

    node("out", f"y = {format_value(trace.output.value)}", fillcolor="darkolivegreen1")
    for n in trace.nodes:
        grad = format_value(arrived.get(n.id))
        if n.kind == "leaf":
            var = variables.get(n.variable or "")
            node(
                f"var-{n.variable}",
                f"{n.variable} = {format_value(n.value)}\n"
                f"grad {format_value(var.grad) if var else '?'}",
                fillcolor="lightblue",
            )
            edge(f"var-{n.variable}", n.id)
            node(n.id, f"{n.name}\ngrad in {grad}")
        else:
            head = f"{n.source} = " if n.source else "value "
            node(n.id, f"{n.name}\n{head}{format_value(n.value)}\ngrad in {grad}")
        for target in n.inputs:
            if target is not None:
                edge(target, n.id)
    if trace.nodes:
        edge(trace.nodes[0].id, "out")
    lines.append("}\n")
    return "".join(lines)


# --- layout -----------------------------------------------------------------


def layout(dot_source: str, timeout: float = 5.0, quick: bool = False) -> str:
    """Lay out DOT as SVG. The one place the layout engine is called.

    ``quick`` caps the network-simplex passes (nslimit), which keeps big graphs
    to about a second at the cost of a slightly less tidy picture.
    """
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError("Graphviz ('dot') is not installed on the server.")
    options = ["-Gnslimit=2", "-Gnslimit1=2"] if quick else []
    try:
        done = subprocess.run(
            [exe, "-Tsvg", *options],
            input=dot_source.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(f"Graphviz took longer than {timeout:g} s to draw the graph.") from None
    if done.returncode != 0:
        raise RenderError("Graphviz could not draw the graph: " + done.stderr.decode()[:200])
    return done.stdout.decode()


def inline_svg(svg: str, classes: dict[str, str] | None = None) -> Markup:
    """Sanitized SVG, ready to inline, with extra classes on some nodes' groups.

    The one place SVG becomes markup. ``classes`` maps node ids to classes
    such as "current" or "done"; ids and classes are checked to be plain words.
    """
    svg = sanitize_svg(svg)
    for node_id, extra in sorted((classes or {}).items()):
        if _SAFE_ID.match(node_id) and all(_SAFE_ID.match(c) for c in extra.split()):
            svg = svg.replace(f'<g id="{node_id}" class="node">',
                              f'<g id="{node_id}" class="node {extra}">', 1)
    return Markup(svg)


# --- sanitizing -------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG_NS)

_ALLOWED_ELEMENTS = {"svg", "g", "title", "polygon", "polyline", "ellipse", "path", "text",
                     "rect", "circle", "line"}
_ALLOWED_ATTRIBUTES = {
    "id", "class", "width", "height", "viewBox", "transform", "points", "d", "x", "y",
    "cx", "cy", "rx", "ry", "r", "x1", "y1", "x2", "y2", "fill", "stroke", "stroke-width",
    "stroke-dasharray", "fill-opacity", "stroke-opacity", "text-anchor", "font-family",
    "font-size", "font-weight", "font-style",
}
_SAFE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def sanitize_svg(svg: str) -> str:
    """Keep only plain drawing elements and attributes: no script, events or links."""
    start = svg.find("<svg")
    if start < 0:
        raise RenderError("Graphviz returned no SVG.")
    try:
        # The SVG may come back from a shared cache (Redis): no entities, no DTD tricks.
        root = defused.fromstring(svg[start:], forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise RenderError(f"Graphviz returned broken SVG: {exc}") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise RenderError("Graphviz returned something other than SVG.")
    _clean(root)
    return ET.tostring(root, encoding="unicode")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _clean(root: ET.Element) -> None:
    stack = [root]
    while stack:
        element = stack.pop()
        for child in list(element):
            if _local(child.tag) not in _ALLOWED_ELEMENTS:
                element.remove(child)
            else:
                stack.append(child)
        for name in list(element.attrib):
            value = element.attrib[name]
            if (
                "}" in name
                or name not in _ALLOWED_ATTRIBUTES
                or "url(" in value.lower()
                or (name == "id" and not _SAFE_ID.match(value))
            ):
                del element.attrib[name]
