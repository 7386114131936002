"""parse -> trace -> render, as one call that returns JSON-ready data.

The web layer calls only this. The result is plain data (dicts, lists,
strings, finite floats), so it can be cached, sent between processes and
encoded as JSON without surprises.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from app.core.code import torch_code
from app.core.expr import ExprError, Limits, parse
from app.core.graph import Trace, trace
from app.core.render import VIEWS, Picture, render


def compute(
    expression: str,
    inputs: dict[str, Any],
    requires_grad: dict[str, bool] | None = None,
    view: str = "torchviz",
    limits: Limits = Limits(),
    dot_timeout: float = 5.0,
) -> dict[str, Any]:
    """Everything the API answers for one function. Raises ExprError or RenderError."""
    if view not in VIEWS:
        raise ExprError("Unknown view '{view}'; use torchviz or annotated.", {"view": view})
    parsed = parse(expression, limits)
    result = trace(parsed, inputs, requires_grad, limits)
    if len(result.nodes) > limits.max_graph_nodes:
        raise ExprError(
            "The graph has {count} nodes, more than the {limit} that can be drawn; make the "
            "function smaller.",
            {"count": len(result.nodes), "limit": limits.max_graph_nodes},
        )
    picture = render(result, view, dot_timeout)
    return to_json(result, picture, torch_code(parsed, inputs, requires_grad))


def to_json(result: Trace, picture: Picture, code: str) -> dict[str, Any]:
    return {
        "expression": result.expression,
        "output": plain(result.output),
        "gradients": result.gradients,
        "variables": [plain(v) for v in result.variables],
        "nodes": [plain(n) for n in result.nodes],
        "steps": [plain(s) for s in result.steps],
        "forward": [plain(f) for f in result.forward],
        "view": picture.view,
        "svg": picture.svg,
        "dot": picture.dot,
        "code": code,
    }


def plain(record: Any) -> Any:
    """A record of the trace as dicts and lists.

    Much cheaper than ``dataclasses.asdict``, which deep-copies every value:
    the values here are already plain data, only nested records need turning
    into dicts.
    """
    if is_dataclass(record):
        return {f.name: plain(getattr(record, f.name)) for f in fields(record)}
    if isinstance(record, tuple) and record and is_dataclass(record[0]):
        return [plain(r) for r in record]
    return record
