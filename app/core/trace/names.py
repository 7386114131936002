"""Names in a tensor's trace: the leaves a notebook did not name, and their ids in SVG.

Loads no torch: the drawing stage (autograd_playground.core.draw.dot) asks
:func:`var_id` too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# What an id of the picture may hold as it is (draw.sanitize keeps ids of this form).
_PLAIN = re.compile(r"^[A-Za-z0-9_]+$")


def element_id(prefix: str, name: str) -> str:
    """The id of a named element of the picture: ``var-x`` for the leaf ``x``.

    A name that is not letters, digits and ``_`` (``0.weight``, a parameter of an
    ``nn.Sequential``; ``layer1.conv``, a module) has every other character written
    as ``-<hex>-``: ``var-0-2e-weight``. Two names never share an id, since ``-``
    appears only there.
    """
    if _PLAIN.match(name):
        return f"{prefix}-{name}"
    return f"{prefix}-" + "".join(
        c if c.isalnum() and c.isascii() or c == "_" else f"-{ord(c):x}-" for c in name)


def var_id(name: str) -> str:
    """The id of a leaf's box in the picture: ``var-x``, ``var-0-2e-weight``."""
    return element_id("var", name)


def leaf_names(given: Iterable[str | None]) -> list[str]:
    """Each leaf's name in walk order: its given name, else ``t0``, ``t1``, ... in that
    order, skipping any name that was given."""
    given = list(given)
    taken = {g for g in given if g is not None}
    counter = 0
    out = []
    for name in given:
        if name is None:
            while f"t{counter}" in taken:
                counter += 1
            name = f"t{counter}"
            taken.add(name)
        out.append(name)
    return out
