"""What both sources of a trace do with a grad_fn graph: walk it, read it, hook it.

:func:`walk` lists every node reachable from the output's ``grad_fn`` with an
explicit stack (a graph may be deep), :func:`saved` reads what a node saved for
backward as plain values, and :func:`run_hooked` runs a backward pass with a
pre-hook and a hook on every node, recording each node the engine ran, in the
order it ran them, with what arrived and what it sent. Every hook is removed
afterwards, whatever happens.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

from ..language.values import Value
from .model import signed, to_value


@functools.cache
def saved_names(kind: type) -> tuple[str, ...]:
    """The ``_saved_*`` attributes of a node class, sorted."""
    return tuple(a for a in sorted(dir(kind)) if a.startswith("_saved_"))


def saved(fn: Any, max_shown: int | None = None) -> dict[str, Value]:
    """The attributes a node saved for backward, readable before they are freed; a
    tensor of more than ``max_shown`` numbers as its summary (model.to_value)."""
    out: dict[str, Value] = {}
    kind: type = type(fn)  # as type[Any], a class would not pass as Hashable (python/mypy#11470)
    for attr in saved_names(kind):
        try:
            val = getattr(fn, attr)
        except (RuntimeError, AttributeError):
            continue
        name = attr[len("_saved_") :]
        if isinstance(val, torch.Tensor):
            out[name] = to_value(val, max_shown)
        elif isinstance(val, bool):
            out[name] = str(val)
        elif isinstance(val, int):
            out[name] = to_value(signed(val))
        elif isinstance(val, float):
            out[name] = to_value(val)
        elif isinstance(val, (tuple, list)) and all(isinstance(v, (int, float)) for v in val):
            out[name] = [to_value(signed(v) if isinstance(v, int) else v) for v in val]
        elif val is not None:
            out[name] = str(val)[:80]
    return out


def walk(root: Any) -> list[Any]:
    """Every node reachable from ``root``, depth first, inputs in order."""
    order: list[Any] = []
    seen: set[Any] = set()
    stack = [root]
    while stack:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        order.append(fn)
        nexts = [nf for nf, _ in fn.next_functions if nf is not None]
        stack.extend(reversed(nexts))
    return order


def run_hooked(fns: list[Any], run: Callable[[], Any]) -> tuple[list[list[Any]], Any]:
    """Hook every node of ``fns``, call ``run`` (a backward pass), remove the hooks.

    Returns [fn, grad_outputs, grad_inputs] for each node the engine ran, in the
    order it ran them, and what ``run`` returned."""
    ran: list[list[Any]] = []
    open_steps: dict[Any, list[Any]] = {}
    handles = []

    def prehook(fn):
        def hook(grad_outputs):
            record = [fn, tuple(grad_outputs), None]
            open_steps[fn] = record
            ran.append(record)

        return hook

    def posthook(fn):
        def hook(grad_inputs, grad_outputs):
            open_steps.pop(fn)[2] = tuple(grad_inputs)

        return hook

    try:
        for fn in fns:
            handles.append(fn.register_prehook(prehook(fn)))
            handles.append(fn.register_hook(posthook(fn)))
        returned = run()
    finally:
        for handle in handles:
            handle.remove()
    return ran, returned
