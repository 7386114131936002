"""The one place where the server's own SVG and MathML become markup for a page.

The core hands them over sanitized, as text (``core/draw/sanitize.py``).

A formula's MathML is checked once per text and kept (:class:`CheckedMathML`):
a kept result shown on many pages (every step, language and theme of one
function) is not parsed again for each. The cache is bounded in bytes.
"""

from __future__ import annotations

import hashlib
import threading

from cachetools import LRUCache
from markupsafe import Markup

from ..core.draw.sanitize import svg_for_page
from ..core.teach.mathml import checked_mathml


def inline_svg(
    svg: str, classes: dict[str, str] | None = None, id_prefix: str = "", sanitized: bool = False
) -> Markup:
    """The picture, sanitized, with extra classes on some nodes' groups (see svg_for_page).

    ``sanitized``: the SVG is the one this server's worker sanitized (engine.made_here),
    not one read back from a shared cache; it is not parsed again."""
    return Markup(svg_for_page(svg, classes, id_prefix, sanitized))


class CheckedMathML:
    """checked_mathml remembered by a digest of the text, at most ``max_bytes`` of it.

    Not functools.lru_cache: one formula's MathML can be half a megabyte, so the
    bound is in bytes. A lock, since pages may be rendered on threads.
    """

    def __init__(self, max_bytes: int = 16 * 2**20):
        self._kept: LRUCache[bytes, str] = LRUCache(max_bytes, getsizeof=len)
        self._lock = threading.Lock()

    def __call__(self, text: str) -> str:
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        with self._lock:
            found = self._kept.get(digest)
        if found is not None:
            return found
        checked = checked_mathml(text)
        if len(checked) <= self._kept.maxsize:
            with self._lock:
                self._kept[digest] = checked
        return checked


# Server-made markup only, keyed by its own text: no request's state is kept here.
checked_formula = CheckedMathML()


def inline_mathml(text: str) -> Markup:
    """A formula's MathML, checked again (once per text); anything unknown is shown as
    nothing."""
    return Markup(checked_formula(text))
