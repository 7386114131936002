"""The ops a gradient computation runs, with their arguments and results.

The backward formulas that ``create_graph=True`` records are C++ and reach Python
only through the dispatcher: :class:`Capture`, a TorchDispatchMode, remembers
each op run inside it, so that gradient_graph can name the nodes they made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# Ops remembered per gradient computation: past this the graph is far over the node limit.
MAX_CAPTURED = 4096


@dataclass(frozen=True)
class Made:
    """One op of the gradient computation, as the dispatcher saw it."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: torch.Tensor


class Capture(TorchDispatchMode):
    """Remembers each op run inside it, with its arguments and result (see the module)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[tuple[tuple[Any, ...], dict[str, Any], Any]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if len(self.ops) < MAX_CAPTURED:
            self.ops.append((tuple(args), dict(kwargs), out))
        return out

    def made(self) -> dict[Any, Made]:
        """Each node the captured ops made (their results' grad_fn, set once autograd
        recorded them), with its op. Keeps the node objects alive, and so their ids."""
        out: dict[Any, Made] = {}
        for args, kwargs, result in self.ops:
            if isinstance(result, torch.Tensor) and result.grad_fn is not None:
                out.setdefault(result.grad_fn, Made(args, kwargs, result))
        return out
