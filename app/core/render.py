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

import ctypes
import ctypes.util
import functools
import re
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args
from xml.parsers import expat

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
    # The program lines drawn as one box each (box id ``box-<name>``), in line order.
    collapsed: tuple[str, ...] = ()


# Past this many nodes, Graphviz's crossing minimisation can take seconds (a sum
# of 100 x's: 11 s), so it is told to settle for a quicker layout.
QUICK_LAYOUT_NODES = 40


def render(
    trace: Trace, view: str = "torchviz", timeout: float = 5.0, collapse: tuple[str, ...] = ()
) -> Picture:
    """Only the view asked for is drawn; the program lines named in ``collapse`` as one box
    each (names that are not a line with nodes are left out)."""
    collapsed = collapsed_lines(trace, collapse)
    if view == "torchviz":
        source = remembered_torchviz_dot(trace, collapsed)
    else:
        source = annotated_dot(trace, collapsed)
    quick = len(trace.nodes) > QUICK_LAYOUT_NODES
    return Picture(view=view, dot=source, svg=drawn(source, timeout, quick), collapsed=collapsed)


@functools.lru_cache(maxsize=256)
def drawn(dot_source: str, timeout: float = 5.0, quick: bool = False) -> str:
    """Laid out and sanitized SVG for a DOT source, remembered for the next same graph.

    The torchviz view shows no values, so a class computing one function with
    its own values draws the same picture again and again: layout and
    sanitizing (half of a new computation) are paid once per process. About
    256 pictures of 10-40 KB. A failure is not remembered.
    """
    return sanitize_svg(layout(dot_source, timeout, quick))


# --- DOT --------------------------------------------------------------------

# The torchviz view shows no values, so the same function with new values has the
# same DOT: a class trying its own x pays make_dot once (a 20-term polynomial: 1.5 ms).
_DOT_MEMORY: OrderedDict[tuple, str] = OrderedDict()
_DOT_MEMORY_SIZE = 256
_DOT_LOCK = threading.Lock()  # the server's own threads share it when workers=0


def remembered_torchviz_dot(trace: Trace, collapse: tuple[str, ...] = ()) -> str:
    """:func:`torchviz_dot`, remembered per :func:`drawing_key` and the lines collapsed."""
    key = (*drawing_key(trace), collapse)
    with _DOT_LOCK:
        found = _DOT_MEMORY.get(key)
        if found is not None:
            _DOT_MEMORY.move_to_end(key)
            return found
    source = torchviz_dot(trace, collapse)
    with _DOT_LOCK:
        _DOT_MEMORY[key] = source
        while len(_DOT_MEMORY) > _DOT_MEMORY_SIZE:
            _DOT_MEMORY.popitem(last=False)
    return source


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
    a collapsed line is a box instead, and has no cluster."""
    out = []
    for name, text, ids in trace.groups:
        if not ids or name in collapsed:
            continue
        out.append(
            f'\tsubgraph "cluster_{name}" {{\n\t\tid="line-{name}" label={_quote(text)} '
            'style="rounded,dashed" color=gray50 fontname=monospace fontsize=10\n'
            + "".join(f'\t\t"{i}"\n' for i in ids)
            + "\t}\n"
        )
    return "".join(out)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def box_of(name: str) -> str:
    """The id of the box a collapsed program line is drawn as: ``box-h`` for ``h = ...``."""
    return f"box-{name}"


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
    arrived: dict[str, object] = {}
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
        a, b = boxes.edge(a, b)
        if a is not None:
            lines.append(f'\t"{a}" -> "{b}"\n')

    output = trace.output_label or trace.output_name
    node("out", f"{output} = {format_value(trace.output.value)}", fillcolor="darkolivegreen1")
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
            if n.name_of:
                head = f"{n.name_of} = {head}"
            node(n.id, f"{n.name}\n{head}{format_value(n.value)}\ngrad in {grad}")
        for target in n.inputs:
            if target is not None:
                edge(target, n.id)
    if trace.nodes:
        edge(trace.nodes[0].id, "out")
    lines.append(_clusters(trace, boxes.names))
    lines.append("}\n")
    return "".join(lines)


# --- layout -----------------------------------------------------------------

# Quick mode: cap the network-simplex passes. On the command line these were
# -Gnslimit=2 -Gnslimit1=2; in the library they are the same graph attributes.
_QUICK_ATTRIBUTES = (("nslimit", "2"), ("nslimit1", "2"))
# Graphviz names an anonymous graph "%<counter>", a counter that grows with every
# graph a process lays out; a fresh ``dot`` process always says %3. So that the
# same graph gives the same bytes in both paths, the name is always %3.
_ANONYMOUS_NAME = re.compile(r"(<!-- Title: |<title>)%\d+(?=[ <])")


def layout(dot_source: str, timeout: float = 5.0, quick: bool = False) -> str:
    """Lay out DOT as SVG. The one place the layout engine is called.

    In the process through libgvc when the library is there (about 0.5 ms for
    the lesson's graph), otherwise through a ``dot`` process (about 15 ms, most
    of it starting the process). In the worker pool, the worker's time limit
    bounds the in-process layout (the worker is killed and replaced); ``timeout``
    bounds only the ``dot`` process.

    ``quick`` caps the network-simplex passes (nslimit), which keeps big graphs
    to about a second at the cost of a slightly less tidy picture.
    """
    library = _library()
    if library is not None:
        svg = library.layout(dot_source, quick)
    else:
        svg = layout_with_dot(dot_source, timeout, quick)
    return _ANONYMOUS_NAME.sub(r"\g<1>%3", svg, count=2)


def layout_with_dot(dot_source: str, timeout: float = 5.0, quick: bool = False) -> str:
    """Lay out DOT as SVG with a ``dot`` process, stopped after ``timeout`` s."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError("Graphviz ('dot') is not installed on the server.")
    options = [f"-G{name}={value}" for name, value in _QUICK_ATTRIBUTES] if quick else []
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


def layout_available() -> bool:
    """Whether this process can lay out graphs at all: the library or ``dot``."""
    return _library() is not None or shutil.which("dot") is not None


class Libgvc:
    """Graphviz's own C library (libgvc, libcgraph) called through ctypes.

    The same code as the ``dot`` program, without starting a process per
    picture. Graphviz keeps global state and is not thread-safe, so every call
    holds one lock per process (it matters only when the server computes in its
    own threads, workers=0; a pool worker runs one task at a time).
    """

    def __init__(self, gvc: ctypes.CDLL, cgraph: ctypes.CDLL):
        gvc.gvContext.restype = ctypes.c_void_p
        gvc.gvContext.argtypes = []
        gvc.gvLayout.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p]
        gvc.gvRenderData.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_uint),
        ]
        gvc.gvFreeRenderData.argtypes = [ctypes.c_void_p]
        gvc.gvFreeLayout.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        cgraph.agmemread.restype = ctypes.c_void_p
        cgraph.agmemread.argtypes = [ctypes.c_char_p]
        cgraph.agclose.argtypes = [ctypes.c_void_p]
        cgraph.agsafeset.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                     ctypes.c_char_p]
        cgraph.agseterrf.argtypes = [_ERROR_FUNCTION]
        self._gvc, self._cgraph = gvc, cgraph
        self._messages: list[str] = []
        # Graphviz prints its errors to stderr unless given a function; this one
        # keeps them for the RenderError. The reference must live as long as we do.
        self._on_error = _ERROR_FUNCTION(self._keep_message)
        cgraph.agseterrf(self._on_error)
        self._context = gvc.gvContext()
        if not self._context:
            raise OSError("gvContext() failed")
        self.lock = threading.Lock()

    def _keep_message(self, text: bytes | None) -> int:
        if text and sum(map(len, self._messages)) < 1000:
            self._messages.append(text.decode(errors="replace"))
        return 0

    def layout(self, dot_source: str, quick: bool = False) -> str:
        gvc, cgraph = self._gvc, self._cgraph
        with self.lock:
            self._messages.clear()
            graph = cgraph.agmemread(dot_source.encode())
            if not graph:
                raise RenderError("Graphviz could not draw the graph: " + self._error()[:200])
            try:
                if quick:
                    for name, value in _QUICK_ATTRIBUTES:
                        cgraph.agsafeset(graph, name.encode(), value.encode(), b"")
                if gvc.gvLayout(self._context, graph, b"dot") != 0:
                    raise RenderError("Graphviz could not draw the graph: " + self._error()[:200])
                try:
                    data, length = ctypes.c_void_p(), ctypes.c_uint()
                    if gvc.gvRenderData(self._context, graph, b"svg", ctypes.byref(data),
                                        ctypes.byref(length)) != 0 or not data:
                        raise RenderError(
                            "Graphviz could not draw the graph: " + self._error()[:200]
                        )
                    try:
                        return ctypes.string_at(data, length.value).decode()
                    finally:
                        gvc.gvFreeRenderData(data)
                finally:
                    gvc.gvFreeLayout(self._context, graph)
            finally:
                cgraph.agclose(graph)

    def _error(self) -> str:
        return "".join(self._messages).strip() or "unknown error"


_ERROR_FUNCTION = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p)
_LIBRARY: list[Libgvc | None] = []  # loaded once per process, on first use
_LIBRARY_LOCK = threading.Lock()


def _library() -> Libgvc | None:
    """This process's libgvc, or None where Graphviz's library is not installed."""
    if not _LIBRARY:
        with _LIBRARY_LOCK:
            if not _LIBRARY:
                _LIBRARY.append(load_libgvc())
    return _LIBRARY[0]


def load_libgvc() -> Libgvc | None:
    try:
        return Libgvc(_open("gvc", "libgvc.so.6"), _open("cgraph", "libcgraph.so.6"))
    except (OSError, AttributeError):  # missing, or a build without these functions
        return None


def _open(name: str, soname: str) -> ctypes.CDLL:
    """Debian's soname first (no search); then wherever the system says it is."""
    try:
        return ctypes.CDLL(soname)
    except OSError:
        found = ctypes.util.find_library(name)
        if found is None:
            raise
        return ctypes.CDLL(found)


def inline_svg(
    svg: str, classes: dict[str, str] | None = None, id_prefix: str = ""
) -> Markup:
    """Sanitized SVG, ready to inline, with extra classes on some nodes' groups.

    The one place SVG becomes markup. ``classes`` maps node ids to classes
    such as "current" or "done"; ids and classes are checked to be plain words.
    """
    svg = _sanitized(svg)
    if id_prefix and _SAFE_ID.match(id_prefix):  # a second graph on the page: ids stay unique
        svg = re.sub(r' id="([A-Za-z][A-Za-z0-9_-]*)"', rf' id="{id_prefix}\1"', svg)
    for node_id, extra in sorted((classes or {}).items()):
        if _SAFE_ID.match(node_id) and all(_SAFE_ID.match(c) for c in extra.split()):
            svg = svg.replace(f'<g id="{node_id}" class="node">',
                              f'<g id="{node_id}" class="node {extra}">', 1)
    return Markup(svg)


@functools.lru_cache(maxsize=64)
def _sanitized(svg: str) -> str:
    """:func:`sanitize_svg`, remembered: a class trying its own values of one function
    inlines the same picture again and again (the torchviz view shows no values).
    At most 64 pictures of 7-45 KB."""
    return sanitize_svg(svg)


# MathML elements a formula may use (see calculus.mathml, which writes them).
_MATHML_ELEMENTS = {"math", "mrow", "mi", "mn", "mo", "msup", "msub", "mfrac", "msqrt",
                    "mroot", "msubsup", "mtext", "mspace", "mstyle"}
_MATHML_ATTRIBUTES = {"xmlns", "mathvariant", "stretchy"}
MATHML_NS = "http://www.w3.org/1998/Math/MathML"


def inline_mathml(text: str) -> Markup:
    """A formula's MathML, checked again where it becomes markup: only presentation
    elements and a few attributes; anything else is refused (shown as nothing)."""
    try:
        root = defused.fromstring(text)
    except (ET.ParseError, DefusedXmlException):
        return Markup("")
    for element in root.iter():
        tag = element.tag.split("}")[-1]
        if tag not in _MATHML_ELEMENTS or set(element.attrib) - _MATHML_ATTRIBUTES:
            return Markup("")
        element.tag = tag
    root.set("display", "inline")
    text = ET.tostring(root, encoding="unicode")
    return Markup(text.replace("<math ", f'<math xmlns="{MATHML_NS}" ', 1))


# --- sanitizing -------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"

_ALLOWED_ELEMENTS = {"svg", "g", "title", "polygon", "polyline", "ellipse", "path", "text",
                     "rect", "circle", "line"}
_ALLOWED_ATTRIBUTES = {
    "id", "class", "width", "height", "viewBox", "transform", "points", "d", "x", "y",
    "cx", "cy", "rx", "ry", "r", "x1", "y1", "x2", "y2", "fill", "stroke", "stroke-width",
    "stroke-dasharray", "fill-opacity", "stroke-opacity", "text-anchor", "font-family",
    "font-size", "font-weight", "font-style",
}
_SAFE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
# Names arrive from expat as "namespace}local"; a name with no namespace has no "}".
_SEPARATOR = "}"
_SVG_PREFIX = SVG_NS + _SEPARATOR


def sanitize_svg(svg: str) -> str:
    """Keep only plain drawing elements and attributes: no script, events or links.

    One streaming pass of expat that writes what it keeps as it reads: building
    a tree and serializing it again cost a quarter of a new computation. The SVG
    may come back from a shared cache (Redis), so a document type, and with it
    any entity, is refused.
    """
    start = svg.find("<svg")
    if start < 0:
        raise RenderError("Graphviz returned no SVG.")
    writer = _Writer()
    parser = expat.ParserCreate(namespace_separator=_SEPARATOR)
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.StartElementHandler = writer.start
    parser.EndElementHandler = writer.end
    parser.CharacterDataHandler = writer.text
    try:
        parser.Parse(svg[start:], True)
    except (expat.ExpatError, _Refused) as exc:
        raise RenderError(f"Graphviz returned broken SVG: {exc}") from None
    if not writer.is_svg:
        raise RenderError("Graphviz returned something other than SVG.")
    return "".join(writer.out)


class _Refused(Exception):
    pass


def _refuse_doctype(*_: object) -> None:
    raise _Refused("a document type or entity")


class _Writer:
    """expat's events in, the kept elements and attributes out, escaped."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.open: list[str] = []  # the kept elements' names, innermost last
        self.skipping = 0  # depth inside an element that is dropped with all it holds
        self.pending = False  # a start tag not yet closed by ">" (it may end as "/>")
        self.is_svg = False

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if self.skipping:
            self.skipping += 1
            return
        if not self.open:
            self.is_svg = name == _SVG_PREFIX + "svg"
        local = name[len(_SVG_PREFIX):] if name.startswith(_SVG_PREFIX) else ""
        if local not in _ALLOWED_ELEMENTS or not self.is_svg:
            self.skipping = 1
            return
        self._close_pending()
        parts = ["<", local]
        if not self.open:
            parts.append(f' xmlns="{SVG_NS}"')
        for key, value in attributes.items():
            if (
                key in _ALLOWED_ATTRIBUTES  # a namespaced name has "}" and is never allowed
                and "url(" not in value.lower()
                and (key != "id" or _SAFE_ID.match(value))
            ):
                parts += (" ", key, '="', _escape_attribute(value), '"')
        self.out.append("".join(parts))
        self.open.append(local)
        self.pending = True

    def end(self, name: str) -> None:
        if self.skipping:
            self.skipping -= 1
            return
        local = self.open.pop()
        if self.pending:
            self.out.append(" />")
            self.pending = False
        else:
            self.out.append(f"</{local}>")

    def text(self, data: str) -> None:
        if self.skipping or not self.open:
            return
        self._close_pending()
        self.out.append(_escape_text(data))

    def _close_pending(self) -> None:
        if self.pending:
            self.out.append(">")
            self.pending = False


_SPECIAL = re.compile(r'[&<>"\n\r\t]')


def _escape_text(text: str) -> str:
    if not _SPECIAL.search(text):  # almost every value: numbers, ids, colours
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(value: str) -> str:
    if not _SPECIAL.search(value):
        return value
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#09;")
    )
