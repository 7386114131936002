"""Which graph nodes each step highlights: the one rule, for the page and its script.

The server paints the step it renders straight into the SVG (so the page
needs no JavaScript), and writes every step's paint onto that step's list
item; the script only applies the paint of the step it shows.

- Step 0, the overview: nothing is highlighted.
- A forward step: the node it records is current; nodes the forward pass
  has not built yet are unbuilt.
- A backward step: its node is current; the nodes of the backward steps
  before it are done.

A node inside a collapsed program line is not drawn: its box is painted instead
(current while any of its nodes is; unbuilt until one of them is built).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..core.teach.explain import ForwardView, StepView


@dataclass(frozen=True)
class Paint:
    """The highlighted nodes at one step (node ids as in the SVG)."""

    current: str = ""
    done: tuple[str, ...] = ()
    unbuilt: tuple[str, ...] = ()

    def classes(self) -> dict[str, str]:
        """Node id -> class, for the nodes this paint marks."""
        classes = {node: "unbuilt" for node in self.unbuilt}
        classes.update({node: "done" for node in self.done})
        if self.current:
            classes[self.current] = "current"
        return classes


def paints(
    forward: Sequence[ForwardView],
    steps: Sequence[StepView],
    drawn_as: Mapping[str, str] | None = None,
) -> list[Paint]:
    """The paint of every step, 0 (the overview) to the last backward step.

    ``drawn_as`` maps the nodes of collapsed lines to their box (GraphResult.drawn_as)."""
    boxes = drawn_as or {}

    def drawn(nodes: Sequence[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(boxes.get(node, node) for node in nodes))

    every_node = drawn(["out", *(s.node for s in steps)])
    out = [Paint()]
    for view in forward:
        built = set(drawn(view.built))
        out.append(
            Paint(
                current=boxes.get(view.node, view.node) if view.node else "",
                unbuilt=tuple(node for node in every_node if node not in built),
            )
        )
    for k, step in enumerate(steps):
        out.append(Paint(current=boxes.get(step.node, step.node),
                         done=drawn([s.node for s in steps[:k]])))
    return out
