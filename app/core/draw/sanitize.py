"""Only the SVG we know: what may be inlined into a page, as plain text.

The web turns the result into markup (``web/markup.py``); this module imports no
markup library, so the core renders no HTML.
"""

from __future__ import annotations

import re
import threading
from xml.parsers import expat

from cachetools import LRUCache, cached

from .layout import RenderError


def svg_for_page(
    svg: str, classes: dict[str, str] | None = None, id_prefix: str = "", sanitized: bool = False
) -> str:
    """Sanitized SVG, ready to inline, with extra classes on some nodes' groups.

    ``classes`` maps node ids to classes such as "current" or "done"; ids and
    classes are checked to be plain words. ``sanitized``: ``svg`` is render.drawn's
    own output, made in this deployment's worker, so it is not sanitized again.
    """
    if not sanitized:
        svg = _sanitized(svg)
    if id_prefix and _SAFE_ID.match(id_prefix):  # a second graph on the page: ids stay unique
        svg = re.sub(r' id="([A-Za-z][A-Za-z0-9_-]*)"', rf' id="{id_prefix}\1"', svg)
    for node_id, extra in sorted((classes or {}).items()):
        if _SAFE_ID.match(node_id) and all(_SAFE_ID.match(c) for c in extra.split()):
            svg = svg.replace(f'<g id="{node_id}" class="node">',
                              f'<g id="{node_id}" class="node {extra}">', 1)
    return svg


# The pictures the web process remembers sanitized for inlining, in bytes of SVG.
SANITIZED_BYTES = 4 * 2**20


@cached(LRUCache(maxsize=SANITIZED_BYTES, getsizeof=len), lock=threading.Lock())
def _sanitized(svg: str) -> str:
    """:func:`sanitize_svg`, remembered: a class trying its own values of one function
    inlines the same picture again and again (the torchviz view shows no values)."""
    return sanitize_svg(svg)


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

