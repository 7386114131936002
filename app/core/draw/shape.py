"""One layout for every drawing of the same shape: its names swapped for placeholders.

A class given a new function, or a student renaming ``x`` to ``v``, draws a graph
whose DOT differs from one laid out before only in the letters and digits of its
names and labels. Graphviz places a label by its width alone, and in the
pictures' monospace font every letter and digit is as wide as every other
(:func:`uniform_advance` checks this once per process, and nothing is reused
where it does not hold). So the DOT is laid out once per *shape*:
:meth:`Renaming.of` writes each run of letters and digits inside a label, an
id or a node's name as a placeholder of the same length, and
:meth:`Renaming.back` writes the names back into the SVG laid out from that.
The SVG is then byte for byte the one laying out the named DOT would give
(tests compare both for several shapes and names, of other lengths too).

Graphviz orders a graph's subgraphs by the address of their interned names, so
that two clusters may be placed in another order when only their names change.
dot.py puts each cluster in an anonymous subgraph of its own, which keeps them in
the order written; a DOT with two clusters or more that are not so wrapped is
laid out as it is.

Placeholders are runs of capital letters that an SVG path never holds alone
(:data:`ALPHABET`: no path command), so a run of them in the picture is a
placeholder and nothing else. Anything outside the scheme (a DOT that does not
come back exactly from its placeholders, more names of one length than there
are placeholders, a run the renaming did not write) gives ``None``, and the
drawing is laid out as it is.
"""

from __future__ import annotations

import functools
import re
import string
import threading
from dataclasses import dataclass

from cachetools import LRUCache, cached

# Capital letters that are no SVG path command (M, C, L, Z, H, V, Q, T, S, A): a
# path's "M-3.5" holds a lone M, never a lone run of these.
ALPHABET = "BDEFGIJKNOPRUWXY"
_RUN_OF_ALPHABET = re.compile(rf"(?<![A-Za-z0-9])[{ALPHABET}]+(?![A-Za-z0-9])")
# A quoted DOT string; and, at the end of the text before it, the attribute it is the value
# of (none: a node's or subgraph's name). Two patterns, not one with the attribute optional
# in front: that one tried a run of letters at every letter of the DOT, four times the work.
_QUOTED = re.compile(r'"((?:[^"\\]++|\\.)*+)"')
_ATTRIBUTE = re.compile(r"(?<!\w)([A-Za-z]+)=\Z")
# Inside it: an escape (kept as written) or a run of letters and digits (renamed).
_PART = re.compile(r"(\\.|[A-Za-z0-9]+)")
# The attributes whose strings are shown or name something; style="rounded,dashed" is not.
_NAMING = frozenset({"label", "id"})
_CLUSTER = "cluster"  # Graphviz draws a subgraph as a box when its name starts with this
_WRAPPED = '\tsubgraph {\n\tsubgraph "cluster'  # a cluster in an anonymous subgraph (dot.py)


def placeholder(length: int, index: int) -> str | None:
    """The ``index``-th placeholder of ``length`` letters, or None past the last one."""
    base = len(ALPHABET)
    if index >= base**length:
        return None
    letters = []
    for _ in range(length):
        index, digit = divmod(index, base)
        letters.append(ALPHABET[digit])
    return "".join(reversed(letters))


@dataclass(frozen=True)
class Renaming:
    """A DOT source with its names as placeholders (``source``), and the way back."""

    source: str
    names: dict[str, str]  # placeholder -> the run it stands for

    @classmethod
    def of(cls, dot_source: str) -> Renaming | None:
        """The placeholders' DOT for ``dot_source``; None where it cannot be had exactly."""
        clusters = dot_source.count('subgraph "cluster')
        if clusters > 1 and dot_source.count(_WRAPPED) != clusters or not uniform_advance():
            return None  # ordered by their names' addresses in Graphviz, where not wrapped
        given: dict[str, str] = {}  # run -> placeholder, in the order met
        counts: dict[int, int] = {}
        renamed = 0
        # A string met again (a node's id is written three times or more) has its runs
        # given already: its renamed text and count of runs are those of the first time.
        seen: dict[str, tuple[str, int]] = {}
        # split, not sub with a function: a match object per run cost most of the time.
        pieces = _QUOTED.split(dot_source)  # outside, text, outside, text, ...
        for i in range(1, len(pieces), 2):
            text, before = pieces[i], pieces[i - 1]
            named = _ATTRIBUTE.search(before) if before.endswith("=") else None
            attribute = named.group(1) if named else None
            if attribute is not None and attribute not in _NAMING:
                pieces[i] = f'"{text}"'
                continue
            keep = _CLUSTER if attribute is None and text.startswith(_CLUSTER) else ""
            known = seen.get(keep + "\0" + text)
            if known is not None:
                pieces[i], count = known
                renamed += count
                continue
            parts = _PART.split(text[len(keep):])  # between, run or escape, between, ...
            count = 0
            for k in range(1, len(parts), 2):
                run = parts[k]
                if run[0] == "\\":
                    continue
                found = given.get(run)
                if found is None:
                    found = placeholder(len(run), counts.get(len(run), 0))
                    if found is None:
                        return None  # more runs of this length than placeholders
                    counts[len(run)] = counts.get(len(run), 0) + 1
                    given[run] = found
                parts[k] = found
                count += 1
            renamed += count
            pieces[i] = f'"{keep}{"".join(parts)}"'
            seen[keep + "\0" + text] = (pieces[i], count)
        source = "".join(pieces)
        # Every run of placeholder letters is one this wrote: then the names come back
        # exactly (none was in the DOT already, none is glued to an escape's letter).
        names = {p: run for run, p in given.items()}
        runs = _RUN_OF_ALPHABET.findall(source)
        if len(runs) != renamed or not all(run in names for run in runs):
            return None
        return cls(source, names)

    @classmethod
    def named(cls, hidden: str, names: dict[str, str]) -> Renaming | None:
        """What :meth:`of` gives the DOT that ``hidden`` is with its placeholders replaced
        by ``names`` (named.Names: each as long as its name), from :meth:`of` of
        ``hidden``, which is made once per shape. None where the two could differ: a
        name that is also another run of the DOT would share that run's placeholder, and
        a name with ``_`` is two runs of the DOT, one run of ``hidden``."""
        if not all(run.isalnum() and run.isascii() for run in names.values()):
            return None
        base = _renaming_of(hidden)
        if base is None:
            return None
        given = set(names.values())
        if any(run in names for run in given) or any(
                run not in names and run in given for run in base.names.values()):
            return None
        return cls(base.source, {p: names.get(run, run) for p, run in base.names.items()})

    def back(self, text: str) -> str | None:
        """``text`` (the placeholders' DOT or SVG) with the names written back; None where
        it holds a run of placeholder letters that is no placeholder of this renaming."""
        parts = list(_pieces(text))
        names = self.names
        for i in range(1, len(parts), 2):  # odd places: the runs of placeholder letters
            found = names.get(parts[i])
            if found is None:
                return None
            parts[i] = found
        return "".join(parts)


# The renamings of the DOTs drawn with placeholders for their names, in characters.
RENAMINGS_CHARS = 2**20  # one per shape, as long as its DOT


@cached(LRUCache(maxsize=RENAMINGS_CHARS, getsizeof=lambda r: len(r.source) if r else 1),
        lock=threading.Lock())
def _renaming_of(hidden: str) -> Renaming | None:
    return Renaming.of(hidden)


# The laid-out SVGs split at their placeholders, in characters (a drawing's split is
# asked for again by every drawing of its shape).
PIECES_CHARS = 8 * 2**20
_SPLIT = re.compile(rf"(?<![A-Za-z0-9])([{ALPHABET}]+)(?![A-Za-z0-9])")


@cached(LRUCache(maxsize=PIECES_CHARS, getsizeof=lambda parts: sum(map(len, parts))),
        lock=threading.Lock())
def _pieces(text: str) -> tuple[str, ...]:
    """``text`` split around its runs of placeholder letters, which are at odd places."""
    return tuple(_SPLIT.split(text))


@functools.cache
def uniform_advance() -> bool:
    """Whether every letter and digit is laid out as wide as every other in the pictures'
    font here: a node per character, its label that character nine times, all as wide."""
    from .layout import RenderError, layout

    characters = string.ascii_letters + string.digits
    source = (
        "digraph {\n\tnode [fontname=monospace fontsize=10 height=0.2 shape=box]\n"
        + "".join(f'\t"c{i}" [label="{c * 9}"]\n' for i, c in enumerate(characters))
        + "}\n"
    )
    try:
        svg = layout(source)
    except RenderError:
        return False
    widths = re.findall(r'class="node">\s*<title>[^<]*</title>\s*<polygon[^>]*points="([-\d.]+),'
                        r'[-\d.]+ ([-\d.]+),', svg)
    return len(widths) == len(characters) and len({float(a) - float(b) for a, b in widths}) == 1
