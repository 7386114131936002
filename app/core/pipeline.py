"""parse -> trace -> render, as one call that returns JSON-ready data.

The web layer calls only this. The result is plain data (dicts, lists,
strings, finite floats), so it can be cached, sent between processes and
encoded as JSON without surprises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .draw.dot import box_of
from .draw.render import VIEWS, Picture, render
from .language.expr import checked
from .language.program import line_breaks
from .language.rules import ExprError, Extras, Limits
from .language.tree import Parsed
from .language.values import summarize
from .result import plain
from .teach.code import torch_code
from .trace.graph import Trace, trace
from .trace.modules import Captured
from .trace.tensor import trace_tensor


def compute(
    expression: str,
    inputs: dict[str, Any],
    requires_grad: dict[str, bool] | None = None,
    view: str = "torchviz",
    limits: Limits = Limits(),
    dot_timeout: float = 5.0,
    extras: Extras = Extras(),
    collapse: tuple[str, ...] = (),
    parsed: Parsed | None = None,
) -> dict[str, Any]:
    """Everything the API answers for one function. Raises ExprError or RenderError.

    ``extras`` adds the parts asked for beyond the default answer (see calculus_json).
    ``collapse`` names program lines drawn as one box each; it changes only the picture.
    ``parsed``: the text's checked tree, when the caller has it (a job checked in the
    web process); used only if it is this very text's, else the text is parsed here.
    """
    if view not in VIEWS:
        raise ExprError("Unknown view '{view}'; use torchviz or annotated.", {"view": view})
    if parsed is None or parsed.text != line_breaks(expression):
        parsed = checked(expression, limits)
    inputs = parsed.with_values(inputs)  # a program's value line (x = 2) wins
    requires_grad = parsed.with_grads(requires_grad)  # and a cell's requires_grad=
    result = trace(parsed, inputs, requires_grad, limits, retain=extras.retain_grad)
    if len(result.nodes) > limits.max_graph_nodes:
        raise ExprError(
            "The graph has {count} nodes, more than the {limit} that can be drawn; make the "
            "function smaller.",
            {"count": len(result.nodes), "limit": limits.max_graph_nodes},
        )
    picture = render(result, view, dot_timeout, collapse)
    code = torch_code(parsed, inputs, requires_grad, extras.retain_grad, extras.accumulate)
    data = to_json(result, picture, code)
    if extras.wanted:
        data.update(calculus_json(parsed, result, inputs, requires_grad, extras, limits, dot_timeout))
    data["line_values"] = {v.name: v.value for v in parsed.values}
    return summarized(data, limits.max_shown_elements)


def compute_tensor(
    y: torch.Tensor,
    params: Mapping[str, torch.Tensor] | None = None,
    grad_outputs: torch.Tensor | None = None,
    limits: Limits = Limits(),
    captured: Captured | None = None,
    view: str = "torchviz",
    dot_timeout: float = 5.0,
    collapse: tuple[str, ...] = (),
    output_name: str = "y",
) -> dict[str, Any]:
    """What :func:`compute` answers, for any tensor ``y`` a notebook computed
    (trace.tensor.trace_tensor). Raises ExprError or RenderError.

    ``expression`` and ``code`` are None and ``line_values`` empty: there is no typed
    function. ``lines`` are the modules that made nodes when ``captured`` recorded
    them (name: the module's path, text: the module), else empty. Past
    ``limits.max_graph_nodes`` nothing is drawn: ``svg`` and ``dot`` are None and
    ``too_big`` says ``{"count": n, "limit": limit}``; the steps and gradients are there.
    ``output_name`` is what the picture and the refusals call ``y``.
    """
    if view not in VIEWS:
        raise ExprError("Unknown view '{view}'; use torchviz or annotated.", {"view": view})
    result = trace_tensor(y, params, grad_outputs, limits, captured, output_name)
    count = len(result.nodes)
    too_big = count > limits.max_graph_nodes
    picture = None if too_big else render(result, view, dot_timeout, collapse)
    data = to_json(result, picture, None)
    data["expression"] = None
    data["view"] = view
    data["line_values"] = {}
    if too_big:
        data["too_big"] = {"count": count, "limit": limits.max_graph_nodes}
    return summarized(data, limits.max_shown_elements)


def calculus_json(
    parsed: Parsed,
    result: Trace,
    inputs: dict[str, Any],
    requires_grad: dict[str, bool] | None,
    extras: Extras,
    limits: Limits,
    dot_timeout: float,
) -> dict[str, Any]:
    """The extras asked for, as the keys ``symbolic``, ``plot``, ``second_order`` and
    ``accumulation`` (only those asked for are present)."""
    from .teach import calculus  # sympy is loaded only when a formula is asked for
    from .teach.plot import plot
    from .teach.second_order import accumulation, second_order

    data: dict[str, Any] = {}
    max_shown = limits.max_shown_elements
    if extras.symbolic:
        symbolic = calculus.derivatives(parsed, result, inputs, limits, extras.known_only)
        if symbolic is not None:
            data["symbolic"] = symbolic
            data["plot"] = plot(parsed, result, limits)
    if extras.order == 2:
        second = second_order(parsed, inputs, requires_grad, limits)
        graph = None
        if second.trace is not None:
            picture = render(second.trace, "torchviz", dot_timeout)
            graph = summarized(to_json(second.trace, picture, ""), max_shown)
            graph["variable"] = second.variable
            graph["line_values"] = {}  # a program's lines give values to y's graph, not to this one
        data["second_order"] = {
            "second": {k: summarize(v, max_shown) for k, v in second.second.items()},
            "first": {k: summarize(v, max_shown) for k, v in second.first.items()},
            "graph": graph,
            "formulas": list(second.formulas),
            "note": None if second.note is None else {
                "template": second.note[0], "params": second.note[1]},
        }
    if extras.accumulate:
        twice = accumulation(parsed, inputs, requires_grad, limits)
        data["accumulation"] = {
            k: {name: summarize(v, max_shown) for name, v in values.items()}
            for k, values in twice.items()
        }
    return data


def summarized(data: dict[str, Any], max_shown: int) -> dict[str, Any]:
    """``data`` with every value of more than ``max_shown`` numbers as its summary.

    See values.summarize for the summary's form. ``data`` is to_json's fresh dicts,
    changed in place.
    """

    def each(values: Any) -> list[Any]:
        return [summarize(v, max_shown) for v in values]

    data["output"]["value"] = summarize(data["output"]["value"], max_shown)
    if "line_values" in data:  # not in the second order's graph
        data["line_values"] = {k: summarize(v, max_shown) for k, v in data["line_values"].items()}
    for named in data["intermediates"]:
        named["value"] = summarize(named["value"], max_shown)
        named["grad"] = summarize(named["grad"], max_shown)
    data["gradients"] = {k: summarize(v, max_shown) for k, v in data["gradients"].items()}
    for variable in data["variables"]:
        variable["value"] = summarize(variable["value"], max_shown)
        variable["grad"] = summarize(variable["grad"], max_shown)
    for node in data["nodes"]:
        node["value"] = summarize(node["value"], max_shown)
        node["saved"] = {k: summarize(v, max_shown) for k, v in node["saved"].items()}
    for step in data["steps"]:
        for name in ("grad_outputs", "grad_inputs", "local_derivatives"):
            step[name] = each(step[name])
        step["accumulated"] = summarize(step["accumulated"], max_shown)
        for rule in step["rules"]:
            if rule is not None:
                rule["value"] = summarize(rule["value"], max_shown)
                rule["torch"] = summarize(rule["torch"], max_shown)
        for contribution in step["contributions"]:
            contribution["value"] = summarize(contribution["value"], max_shown)
    for op in data["forward"]:
        op["value"] = summarize(op["value"], max_shown)
    return data


def check_result_size(size: int, limits: Limits) -> None:
    """Refuse a result whose compact JSON is ``size`` bytes, over ``limits.max_result_bytes``.

    Runs in the worker, on the bytes it is about to send, so an oversized answer
    never crosses to the web process.
    """
    if size > limits.max_result_bytes:
        raise ExprError(
            "The result would be {size} bytes, more than the {limit} one answer may have; "
            "make the function or its values smaller.",
            {"size": size, "limit": limits.max_result_bytes},
        )


def to_json(result: Trace, picture: Picture | None, code: str | None) -> dict[str, Any]:
    """The answer's fields from a trace, its picture (None: not drawn) and its code."""
    collapsed = picture.collapsed if picture is not None else ()
    return {
        "expression": result.expression,
        "output": plain(result.output),
        "gradients": result.gradients,
        "variables": [plain(v) for v in result.variables],
        "nodes": [plain(n) for n in result.nodes],
        "steps": [plain(s) for s in result.steps],
        "forward": [plain(f) for f in result.forward],
        "view": picture.view if picture is not None else None,
        "svg": picture.svg if picture is not None else None,
        "dot": picture.dot if picture is not None else None,
        "code": code,
        "intermediates": [plain(i) for i in result.intermediates],
        "lines": [
            {"name": name, "text": text.strip(), "nodes": list(ids),
             "box": box_of(name) if name in collapsed else None}
            for name, text, ids in result.groups
        ],
    }
