"""One torchviz DOT for every trace of the same shape: its names as placeholders.

A class given a new function, or the same function under other names, draws a
graph that torchviz writes with the same DOT but for the names in it: the
variables, the output, a program's lines and named values. torchviz's
``make_dot`` (dot.torchviz_dot) writes a name only inside a quoted string, as it
is: a leaf's label (``x`` and its size), its id (``var-x``), the output's label, a
named value's label, a line's cluster, id, label and box. So :meth:`Names.of`
gives each name of a trace a placeholder of capital letters
(shape.placeholder, as long as the name, so that the DOT is as long), in the
order the trace holds them,
and a copy of the trace with the placeholders for names; dot.py draws that
copy once per shape (the key is its drawing_key), and :meth:`Names.back`
writes this trace's names into it.

The names come back exactly when every run of placeholder letters in the
placeholders' DOT is one the renaming wrote: none is in an op's name, a shape,
the output's label or the rest of a line's text (function names, numbers), and
each is apart from any letter or digit. :meth:`Names.of` gives None where that
cannot be known (a name that is not letters, digits and ``_``, such as a
notebook module's ``layer1.conv``, which dot.py writes as ``-2e-``; more names of
one length than placeholders), and dot.py then draws the trace with its own names.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from .shape import ALPHABET, placeholder

if TYPE_CHECKING:  # the web process inlines SVG without loading torch
    from ..trace.graph import Trace

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
# A name in a line's text: an identifier with no letter, digit or _ next to it.
_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_])")
# A run of placeholder letters that stands apart, of any length.
_STANDING = re.compile(rf"(?<![A-Za-z0-9])[{ALPHABET}]+(?![A-Za-z0-9])")


@dataclasses.dataclass(frozen=True)
class Names:
    """A trace with placeholders for its names (``trace``), ``collapse`` with them, and
    the way back (``names``: placeholder -> name)."""

    trace: Trace
    collapse: tuple[str, ...]
    names: dict[str, str]

    @classmethod
    def of(cls, trace: Trace, collapse: tuple[str, ...] = ()) -> Names | None:
        given: dict[str, str] = {}  # name -> placeholder, in the order met
        counts: dict[int, int] = {}  # placeholders given, by length

        def hide(name: str) -> str:
            found = given.get(name)
            if found is None:
                count = counts.get(len(name), 0)
                found = placeholder(len(name), count)
                if found is None or not _IDENTIFIER.match(name):
                    raise _Unnamed
                given[name] = found
                counts[len(name)] = count + 1
            return found

        try:
            return cls._hidden(trace, collapse, hide, given)
        except _Unnamed:
            return None

    @classmethod
    def _hidden(cls, trace: Trace, collapse: tuple[str, ...], hide, given) -> Names:
        """The trace with every name ``hide``-den, in a fixed order: the same shape gives
        the same placeholders in the same places, whatever its names."""
        output = hide(trace.output_name)
        for variable in trace.variables:
            hide(variable.name)
        params = {hide(name): tensor for name, tensor in trace.params.items()}
        nodes = tuple(
            n if n.variable is None and n.name_of is None else dataclasses.replace(
                n, variable=None if n.variable is None else hide(n.variable),
                name_of=None if n.name_of is None else hide(n.name_of))
            for n in trace.nodes
        )
        groups = tuple((hide(name), text, ids) for name, text, ids in trace.groups)
        groups = tuple(
            (name, _IN_TEXT.sub(lambda m: given.get(m.group(), m.group()), text), ids)
            for name, text, ids in groups
        )
        hidden = tuple(hide(name) for name in collapse)
        torch_ids = {key: _hidden_id(value, given) for key, value in trace.torch_ids.items()}
        placeholders = set(given.values())
        shown = [n.name for n in trace.nodes] + [text for _, text, _ in groups]
        if trace.output_label is not None:
            shown.append(trace.output_label)
        if any(run not in placeholders for s in shown for run in _STANDING.findall(s)):
            raise _Unnamed  # a run of placeholder letters the renaming did not write
        copy = dataclasses.replace(
            trace, output_name=output, params=params, nodes=nodes, groups=groups,
            torch_ids=torch_ids, variables=(),
        )
        return cls(copy, hidden, {p: name for name, p in given.items()})

    def back(self, source: str) -> str:
        """The placeholders' DOT with this trace's names."""
        names = self.names
        return _STANDING.sub(lambda m: names.get(m.group(), m.group()), source)


def _hidden_id(value: str, given: dict[str, str]) -> str:
    """A stable id of the picture with its name hidden: ``var-x`` as ``var-B`` (a leaf's
    id is the only one that holds a name; names.var_id)."""
    if not value.startswith("var-"):
        return value
    found = given.get(value[4:])
    if found is None:
        raise _Unnamed  # a leaf whose name is not one of the trace's names
    return "var-" + found


def placeholders_only(source: str, names: dict[str, str]) -> bool:
    """Whether every run of placeholder letters in ``source`` is one of ``names``."""
    return all(run in names for run in _STANDING.findall(source))


class _Unnamed(Exception):
    """A trace whose names cannot be written as placeholders and back exactly."""
