"""``show(y)``: the walk-through of any tensor's backward pass, inline in a notebook.

The calling convention is torchviz's: ``show(y, params={"x": x})``, or
``show(loss, params=dict(model.named_parameters()))``. The tensor goes through the
same core as a typed function (autograd_playground.core.pipeline.compute_tensor):
trace, picture, explanations. What runs is ``torch.autograd.grad(y, leaves,
grad_outputs, retain_graph=True)`` with hooks on the graph's nodes that record the
engine's order; the hooks are removed afterwards, no ``.grad`` changes, and the
user's own ``y.backward()`` still works (see docs/notebook.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.language.rules import ExprError, Limits
from ..core.result import GraphResult, from_json
from .i18n import LANGUAGES, translations
from .view import Pictures, render_html

if TYPE_CHECKING:
    import torch

# The context manager that records which module made each node: the core's, re-exported.
from ..core.trace.modules import capture


@dataclass(frozen=True)
class Shown:
    """What show() returns: the output (``html``, shown by ``_repr_html_``), and the typed
    record of the result (``result``), the same as ``POST /api/graph`` answers."""

    result: GraphResult
    html: str = field(repr=False)
    data: dict[str, Any] = field(repr=False)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        grads = ", ".join(f"{k}={v}" for k, v in self.result.gradients.items())
        return f"Shown({len(self.result.steps)} steps; gradients {grads})"


def show(
    y: torch.Tensor,
    params: Mapping[str, torch.Tensor] | None = None,
    grad_outputs: torch.Tensor | None = None,
    *,
    lang: str = "en",
    captured: Any = None,
    limits: Limits | None = None,
    dot_timeout: float = 5.0,
    name: str = "y",
) -> Shown:
    """The walk-through of ``y``'s backward pass. ``params`` names leaves as torchviz's
    ``make_dot`` does; a non-scalar ``y`` takes ``grad_outputs`` as ``backward`` does.
    ``captured``: what ``with capture() as c:`` recorded, for groups by module.
    ``lang``: "en" or "de". ``name``: what the output calls ``y``. Refusals raise the
    core's ExprError with a sentence."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    from ..core.pipeline import compute_tensor  # loads torch

    limits = limits or Limits()
    try:
        data = compute_tensor(y, params, grad_outputs, limits=limits, captured=captured,
                              view="torchviz", dot_timeout=dot_timeout, output_name=name)
    except ExprError as refusal:
        raise said_in(refusal, lang) from None
    if data.get("svg") is None:  # past the node limit: nothing is drawn
        return shown(data, Pictures(None), lang, name)

    def drawn(**picture: Any) -> dict[str, Any]:
        return compute_tensor(y, params, grad_outputs, limits=limits, captured=captured,
                              dot_timeout=dot_timeout, output_name=name, **picture)

    # Groups by module are pre-drawn: the picture as it is (each module a labelled
    # cluster) and with every module collapsed to one box, so that the output needs
    # no kernel to switch. Tracing again costs less than a second way to draw.
    groups = tuple(line["name"] for line in data["lines"] if line["nodes"])
    collapsed = drawn(view="torchviz", collapse=groups) if len(groups) > 1 else None
    pictures = Pictures(
        torchviz=data["svg"],
        annotated=drawn(view="annotated")["svg"],
        collapsed=None if collapsed is None else collapsed["svg"],
        boxes={} if collapsed is None else {
            node: line["box"] for line in collapsed["lines"] if line["box"] for node in line["nodes"]},
    )
    return shown(data, pictures, lang, name)


def said_in(refusal: ExprError, lang: str) -> ExprError:
    """The core's refusal with its sentence in ``lang``, from the page's catalogue."""
    if lang == "en":
        return refusal
    return ExprError(translations(lang).gettext(refusal.template), refusal.params)


def shown(data: dict[str, Any], pictures: Pictures, lang: str = "en", name: str = "y") -> Shown:
    """The Shown of a result's JSON (``data``) and its pictures."""
    result = from_json(data)
    html = render_html(result, pictures, lang, too_big=data.get("too_big"), output=name)
    return Shown(result=result, html=html, data=data)



__all__ = ["Shown", "capture", "show", "shown"]
