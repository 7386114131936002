"""What a finished graph forgets: which module made each node, and the value it made.

A ``grad_fn`` graph keeps no module names and, for most nodes, not the value
the node's op computed. :func:`capture` records both for the forward run inside
it::

    with capture() as captured:
        loss = loss_fn(model(x), target)
    trace = trace_tensor(loss, dict(model.named_parameters()), captured=captured)

Two recorders run together, and are removed on leaving: PyTorch's global module
hooks keep a stack of the modules being called, and a TorchDispatchMode (as
autograd_playground.core.teach.capture does for the gradient's own ops)
remembers each op's result with the innermost module around it. A module's
path is its qualified name under the outermost module called (``0``,
``layer1.conv``, as ``named_modules`` has it); the outermost module's own ops
take its class name (``MSELoss``). Ops run outside any module have no path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.nn.modules.module import (
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

# Op results remembered per capture: a forward past this draws no picture anyway.
MAX_CAPTURED = 20_000
# A module's description in its group's label: ``Linear(in_features=2, out_features=3, ...)``.
MAX_TEXT = 60


@dataclass
class Captured:
    """What a forward run inside :func:`capture` made: each op's result and its module."""

    results: list[tuple[torch.Tensor, str | None]] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)  # module path -> its description
    # Each module's output tensors, innermost module first: what labels.graph_labels names.
    outputs: list[tuple[torch.Tensor, str]] = field(default_factory=list)
    full: bool = False  # past MAX_CAPTURED: later ops were not remembered

    def made(self) -> dict[Any, tuple[torch.Tensor, str | None]]:
        """Each node the ops made (their result's grad_fn), with the result and the module
        path; a result changed in place counts for its last op."""
        out: dict[Any, tuple[torch.Tensor, str | None]] = {}
        for result, path in self.results:
            fn = result.grad_fn
            if fn is not None:
                out[fn] = (result, path)
        return out

    def module_labels(self) -> dict[Any, str]:
        """The node that made each module's output, with the module as a label reads it:
        ``Linear 0`` (its class and path), ``MSELoss`` (the outermost, path its class);
        the innermost module where several end with one node."""
        out: dict[Any, str] = {}
        for result, path in self.outputs:
            kind = self.texts.get(path, path).split("(", 1)[0]
            if result.grad_fn is not None:
                out.setdefault(result.grad_fn, path if path == kind else f"{kind} {path}")
        return out

    def tensors(self) -> list[torch.Tensor]:
        return [result for result, _ in self.results]


def _describe(module: torch.nn.Module) -> str:
    """One line for a module: ``Linear(in_features=2, out_features=3, bias=True)``."""
    text = f"{type(module).__name__}({module.extra_repr()})".replace("\n", " ")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


class _Results(TorchDispatchMode):
    """Remembers each op's tensor results with the module path on top of ``stack``."""

    def __init__(self, captured: Captured, stack: list[str]) -> None:
        super().__init__()
        self.captured = captured
        self.stack = stack

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        results = self.captured.results
        path = self.stack[-1] if self.stack else None
        for leaf in tree_leaves(out):
            if isinstance(leaf, torch.Tensor):
                if len(results) >= MAX_CAPTURED:
                    self.captured.full = True
                    break
                results.append((leaf, path))
        return out


@contextmanager
def capture() -> Iterator[Captured]:
    """Record, for the forward run inside, each op's value and the module that ran it."""
    captured = Captured()
    stack: list[str] = []
    paths: dict[int, str] = {}

    def enter(module: torch.nn.Module, args: Any) -> None:
        if not stack:  # an outermost module: the paths are its qualified names
            paths.update({id(m): p for p, m in module.named_modules() if p})
            paths[id(module)] = type(module).__name__
        path = paths.get(id(module), type(module).__name__)
        stack.append(path)
        captured.texts.setdefault(path, _describe(module))

    def leave(module: torch.nn.Module, args: Any, output: Any) -> None:
        if stack:
            path = stack.pop()
            if len(captured.outputs) < MAX_CAPTURED:
                captured.outputs.extend((t, path) for t in tree_leaves(output)
                                        if isinstance(t, torch.Tensor) and t.grad_fn is not None)

    pre = register_module_forward_pre_hook(enter)
    post = register_module_forward_hook(leave, always_call=True)
    try:
        with _Results(captured, stack):
            yield captured
    finally:
        pre.remove()
        post.remove()
