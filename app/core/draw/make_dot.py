"""torchviz's ``make_dot(y, params=...)``, written as DOT lines without graphviz's ``Digraph``.

The lesson's picture is the one torchviz draws, so this walks the graph exactly as
torchviz 0.0.3's ``make_dot`` does (show_attrs and show_saved off) and writes the same
lines, byte for byte (tests/core/draw/test_make_dot.py compares both over the pictures
the app draws). What it leaves out is the cost: ``Digraph.node`` and ``Digraph.edge``
quote every name and attribute through the graphviz package's decorated helpers,
which was most of the time make_dot took for a 20-term polynomial. Our names are
numbers and our attributes are fixed, so only the labels are quoted, by graphviz's
own ``quote``; a node is named by torchviz's own ``get_fn_name``.

Two things differ from torchviz on purpose and change no picture: the walk keeps its
own stack instead of recursing (torchviz's recursion stops at Python's limit on deep
graphs), and each line comes as its parts (:data:`Line`), for dot.py to write our ids
in; :func:`written` gives torchviz's text of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the web process inlines SVG without loading torch
    import torch

# torchviz's node attributes, in the order graphviz writes them (sorted by name).
HEADER = (
    "digraph {\n"
    "\tgraph [size={size}]\n"
    "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 "
    "shape=box style=filled]\n"
)


# A line of torchviz's body as (tail, head, rest): an edge ``\t{tail} -> {head}{rest}``, or
# where head is None a node ``\t{tail} [{rest}`` (rest: its attributes, "]" and the newline).
Line = tuple[int, "int | None", str]


def written(line: Line) -> str:
    """The line as torchviz writes it."""
    tail, head, rest = line
    return f"\t{tail} [{rest}" if head is None else f"\t{tail} -> {head}{rest}"


def make_dot(var: torch.Tensor, params: dict[str, torch.Tensor] | None = None) -> tuple[str, list[Line]]:
    """The header and the body lines torchviz's ``make_dot(var, params).source`` is made of
    (the source is ``header + "".join(map(written, body)) + "}\\n"``), each line as its
    parts, so that dot.py writes our ids in without reading them back from the text."""
    # Loaded where a picture is drawn, as torchviz was: the web process inlines SVG
    # without loading torch. Each node is named by torchviz's own function.
    from graphviz.quoting import quote  # type: ignore[import-untyped]
    from torchviz.dot import get_fn_name

    param_map = {id(v): k for k, v in (params or {}).items()}
    body: list[Line] = []
    seen: set[Any] = set()

    def var_node(tensor: Any, color: str) -> None:
        name = param_map.get(id(tensor), "")
        size = "(" + ", ".join(f"{v:d}" for v in tensor.size()) + ")"
        label = quote(f"{name}\n {size}")
        body.append((id(tensor), None, f"label={label} fillcolor={color}]\n"))

    def enter(fn: Any) -> bool:
        """torchviz's add_nodes up to its recursion; False where fn was seen already."""
        if fn in seen:
            return False
        seen.add(fn)
        if hasattr(fn, "variable"):  # a grad accumulator: the leaf it adds to
            leaf = fn.variable
            seen.add(leaf)
            var_node(leaf, "lightblue")
            body.append((id(leaf), id(fn), "\n"))
        body.append((id(fn), None, f"label={quote(get_fn_name(fn, False, 50))}]\n"))
        return True

    def leave(fn: Any) -> None:
        """torchviz's add_nodes after its recursion: a custom Function's saved tensors."""
        if hasattr(fn, "saved_tensors"):
            for t in fn.saved_tensors:
                seen.add(t)
                body.append((id(t), id(fn), " [dir=none]\n"))
                var_node(t, "orange")

    def add_nodes(root: Any) -> None:
        if not enter(root):
            return
        stack = [(root, iter(getattr(root, "next_functions", ())))]
        while stack:
            fn, rest = stack[-1]
            for u in rest:
                if u[0] is not None:
                    body.append((id(u[0]), id(fn), "\n"))
                    if enter(u[0]):
                        stack.append((u[0], iter(getattr(u[0], "next_functions", ()))))
                        break
            else:
                stack.pop()
                leave(fn)

    def add_base_tensor(tensor: Any, color: str = "darkolivegreen1") -> None:
        if tensor in seen:
            return
        seen.add(tensor)
        var_node(tensor, color)
        if tensor.grad_fn:
            add_nodes(tensor.grad_fn)
            body.append((id(tensor.grad_fn), id(tensor), "\n"))
        if tensor._is_view():  # a view's base is no view: this recurses once at most
            add_base_tensor(tensor._base, "darkolivegreen3")
            body.append((id(tensor._base), id(tensor), " [style=dotted]\n"))

    if isinstance(var, tuple):
        for v in var:
            add_base_tensor(v)
    else:
        add_base_tensor(var)
    size = max(12, len(body) * 0.15)  # torchviz's resize_graph
    return HEADER.replace("{size}", quote(f"{size},{size}")), body
