"""The picture: a Trace drawn by torchviz and laid out by Graphviz as SVG.

Two views of the same graph, with the same stable node ids:

- ``torchviz``: exactly torchviz's ``make_dot(y, params=...)``, the picture the
  lesson shows, with its random ``id()`` names replaced by our ids;
- ``annotated``: the same nodes and edges, each labelled with its forward
  value and the gradient that reached it, as micrograd's ``draw_dot`` does.

The stage reads as its modules: :mod:`.dot` writes the DOT, :mod:`.layout` lays
it out, :mod:`.sanitize` keeps only the SVG we know.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from cachetools import LRUCache, cached
from cachetools.keys import hashkey

from .dot import annotated_dot, collapsed_lines, named_torchviz_dot
from .layout import layout
from .sanitize import sanitize_svg
from .shape import Renaming

if TYPE_CHECKING:  # the web process inlines SVG without loading torch
    from ..trace.graph import Trace

# The pictures of a trace; the API, the page and the cache key all take their names from here.
View = Literal["torchviz", "annotated"]
VIEWS: tuple[str, ...] = get_args(View)

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
        source, hidden = named_torchviz_dot(trace, collapsed)
    else:
        source, hidden = annotated_dot(trace, collapsed), None
    quick = len(trace.nodes) > QUICK_LAYOUT_NODES
    return Picture(view=view, dot=source, svg=drawn_by_shape(source, timeout, quick, hidden),
                   collapsed=collapsed)


def drawn_by_shape(
    dot_source: str, timeout: float = 5.0, quick: bool = False,
    hidden: tuple[str, dict[str, str]] | None = None,
) -> str:
    """:func:`drawn`, laid out once for every drawing of the same shape (shape.Renaming):
    a new name, a new function with the same graph, or (in the annotated view) new values
    written with as many digits cost no layout and no sanitizing.

    ``hidden``: the DOT ``dot_source`` was written from, with placeholders for its names,
    and those names (dot.named_torchviz_dot); its renaming is then made once per shape."""
    known = _known_drawing(dot_source, timeout, quick)
    if known is not None:
        return known
    renaming = Renaming.named(*hidden) if hidden is not None else None
    if renaming is None:
        renaming = Renaming.of(dot_source)
    if renaming is not None:
        svg = renaming.back(drawn(renaming.source, timeout, quick))
        # Names are letters and digits, so they cannot make markup; but the sanitizer
        # also drops an attribute that says url(, which a name could spell: never reused.
        if svg is not None and "url(" not in svg.lower():
            with _NAMED_LOCK:
                _NAMED[(dot_source, quick)] = (renaming.source, svg)
            return svg
    return drawn(dot_source, timeout, quick)


# The renamed pictures of the DOT sources drawn last (a class trying new values of one
# function sends one source again and again), with their placeholders' source: bounded
# by their characters, and used only while that source's layout is remembered in
# :func:`drawn`, so that forgetting the layouts forgets them too.
NAMED_CHARS = 2 * 2**20  # a lesson's picture is 6 KB, a 20-term polynomial's 40 KB
_NAMED: LRUCache[tuple[str, bool], tuple[str, str]] = LRUCache(
    maxsize=NAMED_CHARS, getsizeof=lambda entry: len(entry[0]) + len(entry[1]))
_NAMED_LOCK = threading.Lock()


def _known_drawing(dot_source: str, timeout: float, quick: bool) -> str | None:
    """The picture :func:`drawn_by_shape` gave ``dot_source`` before, if its layout is
    still remembered: the same renaming of the same layout, without doing it again."""
    with _NAMED_LOCK:
        entry = _NAMED.get((dot_source, quick))
    if entry is None:
        return None
    with _DRAWN_LOCK:  # the key drawn() stores its layout under
        laid_out = _DRAWN.get(hashkey(entry[0], timeout, quick))
    return entry[1] if laid_out is not None else None


# The pictures one process remembers, bounded by their bytes of SVG (10-40 KB each).
DRAWN_BYTES = 8 * 2**20


_DRAWN: LRUCache[tuple, str] = LRUCache(maxsize=DRAWN_BYTES, getsizeof=len)
_DRAWN_LOCK = threading.Lock()


@cached(_DRAWN, key=hashkey, lock=_DRAWN_LOCK)
def drawn(dot_source: str, timeout: float = 5.0, quick: bool = False) -> str:
    """Laid out and sanitized SVG for a DOT source, remembered for the next same graph.

    The torchviz view shows no values, so a class computing one function with
    its own values draws the same picture again and again: layout and
    sanitizing (half of a new computation) are paid once per process, within
    DRAWN_BYTES. A failure is not remembered.
    """
    return sanitize_svg(layout(dot_source, timeout, quick))


