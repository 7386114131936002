"""The one place where the server's own SVG and MathML become markup for a page.

The core hands them over sanitized, as text (``core/draw/sanitize.py``).
"""

from __future__ import annotations

from markupsafe import Markup

from ..core.draw.sanitize import svg_for_page
from ..core.teach.mathml import checked_mathml


def inline_svg(svg: str, classes: dict[str, str] | None = None, id_prefix: str = "") -> Markup:
    """The picture, sanitized, with extra classes on some nodes' groups (see svg_for_page)."""
    return Markup(svg_for_page(svg, classes, id_prefix))


def inline_mathml(text: str) -> Markup:
    """A formula's MathML, checked again; anything unknown is shown as nothing."""
    return Markup(checked_mathml(text))
