"""Autograd Playground: the graph autograd builds, and its backward pass step by step.

``from autograd_playground import show, capture`` gives a notebook the walk-through
of any tensor (autograd_playground.notebook). The names are looked up lazily
(PEP 562), so the server, which imports ``autograd_playground.web...``, never loads
the notebook's output or torch through this package.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Shown", "capture", "show"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import notebook

        return getattr(notebook, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
