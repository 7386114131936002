"""show(y) in a notebook: the walk-through of any tensor's backward pass, as self-contained HTML.

``show(y, params=...)`` traces ``y``'s graph with the core (the same trace, picture
and explanations as the page), and returns a :class:`Shown` whose ``_repr_html_``
is the output and whose ``result`` is the typed record ``POST /api/graph`` returns.
``capture`` records which module made each node, for groups by module.
"""

from __future__ import annotations

from .show import Shown, capture, show

__all__ = ["Shown", "capture", "show"]
