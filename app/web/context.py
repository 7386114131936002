"""What a page shows: the template context for a state and its result or error.

pages.py computes the result and renders; this turns the result into what
index.html reads (the steps explained, the SVG painted for the step shown, the
derivative panel, the training view, a refusal with the spot it points at).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from ..core.language.rules import ExprError
from ..core.result import from_json
from ..core.teach import explain
from . import highlight, i18n, training
from .examples import EXAMPLES
from .markup import inline_mathml, inline_svg
from .state import PageState, output_of, visible


class Painted(NamedTuple):
    """A step's paint as its ``<li>`` writes it: the node lit, and the ids done and unbuilt."""

    current: str
    done: str
    unbuilt: str


def page_context(
    state: PageState, lang: str, outcome: dict[str, Any] | None,
    only_calculus: bool = False,
) -> dict[str, Any]:
    """Everything index.html shows for one state and its result or error.

    ``only_calculus``: for the calculus block alone, which the page loads after every
    result; it shows none of the graph and steps, so they are not prepared (sanitizing
    the SVG and explaining the steps were half of that request's time).
    """
    context: dict[str, Any] = {
        "state": state,
        "lang": lang,
        "examples": EXAMPLES,
        "result": None,
        "error": None,
        "share": None,
        "base_url": "",
        "training": None,
        "training_error": None,
        "boxed": {},
        "output": output_of(state.expr) if state.expr else "y",
    }
    if not outcome:
        return context
    if "error" in outcome:
        context["error"] = outcome["error"]
        return context
    result = from_json(outcome["result"])
    context["result"] = result
    # A result without the formula carries only the mode's numbers for the output panel:
    # the derivative panel is still to be asked for.
    if result.symbolic is not None:
        context["calculus"] = calculus_view(result, lang)
    if only_calculus:
        return context
    steps = explain.steps(result)
    forward = explain.forward(result) if state.forward else []
    total = len(forward) + len(steps)
    step = min(max(state.step, 0), total)
    if step != state.step:
        state = dataclasses.replace(state, step=step)
    # The collapsed line each node is drawn inside (as the box line.box): node id -> line.
    boxed = {node: line for line in result.lines if line.box for node in line.nodes}
    shown = highlight.paints(forward, steps, {node: line.box for node, line in boxed.items()})
    context.update(
        state=state,
        result=result,
        steps=steps,
        forward=forward,
        total=total,
        nodes=explain.node_views(result, steps),
        # Each step's data attributes, written as the stepper reads them (once, not by a
        # filter per attribute per step).
        painted=[Painted(p.current, " ".join(p.done), " ".join(p.unbuilt)) for p in shown],
        # What each backward step sends on, as its sentence lists it.
        sent_values=[", ".join(out.value for out in s.sent) for s in steps],
        svg=inline_svg(result.svg, shown[step].classes(), sanitized=outcome.get("sanitized") is True),
        boxed=boxed,
        train_defaults=training.default_params(
            [v.name for v in result.variables if v.requires_grad]),
    )
    if "training" in outcome:
        trained = outcome["training"]
        context["training_error"] = trained.get("error")
        if "run" in trained:
            context["training"] = training.view(state, trained["run"], lang)
    return context


# What node details show of the values a node saved for backward: the names the lesson
# explains first, in this order; a default that changes nothing (alpha = 1 of add and sub,
# ignore_index and keepdim as the language always sets them) and the strides of a matrix
# product (its memory layout) are left out; a loss's reduction is written as its name.
SAVED_ORDER = ("self", "other", "tensor", "vec", "mat2", "exponent", "min", "max", "target")
LEFT_OUT = {"alpha": "1", "ignore_index": "-100", "keepdim": "False"}
NEVER_SHOWN = frozenset({"self_sym_strides", "mat2_sym_strides"})
REDUCTIONS = {"0": "'none'", "1": "'mean'", "2": "'sum'"}


def shown_saved(saved: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """(name, value) of what node details show of a node's saved values, in order (a filter
    of the templates: one call per node, where the template's own filters made eight)."""
    if not saved:
        return []
    names = [k for k in SAVED_ORDER if k in saved] + [k for k in saved if k not in SAVED_ORDER]
    return [(k, REDUCTIONS.get(saved[k], saved[k]) if k == "reduction" else saved[k])
            for k in names if saved[k] != LEFT_OUT.get(k) and k not in NEVER_SHOWN]


def calculus_view(result: Any, lang: str) -> dict[str, Any]:
    """What the calculus block shows: formulas as markup, the second graph with its steps."""
    symbolic = None
    if result.symbolic is not None:
        symbolic = dict(result.symbolic)
        symbolic["derivatives"] = [
            {**d, "mathml": inline_mathml(d["mathml"]) if d.get("mathml") else None}
            for d in symbolic["derivatives"]
        ]
    second = None
    if result.second_order:
        data = result.second_order
        second = {"second": data["second"], "first": data["first"], "graph": None, "note": None,
                  "formulas": {d["variable"]: {**d, "mathml": inline_mathml(d["mathml"])}
                               for d in data.get("formulas") or ()}}
        if data.get("graph"):
            graph = from_json(data["graph"])
            second.update(
                graph=graph,
                variable=data["graph"]["variable"],
                steps=explain.steps(graph),
                svg=inline_svg(graph.svg, id_prefix="second-"),
            )
        elif data.get("note"):
            note = data["note"]
            second["note"] = i18n.message(lang, note["template"], **note["params"])
    return {
        "symbolic": symbolic or {"derivatives": [], "reason": None},
        "plot": result.plot if result.symbolic is not None else None,
        "second": second,
        "accumulation": result.accumulation,
    }


def error_view(error: ExprError, text: str, lang: str) -> dict[str, Any]:
    params = dict(error.params)
    where = None
    if error.start is not None and error.start <= len(text):
        end = max(error.end or error.start + 1, error.start)
        where = {
            "before": visible(text[: error.start]),
            "bad": visible(text[error.start : end]) or " ",
            "after": visible(text[end:]),
        }
    params = {k: visible(v) if isinstance(v, str) else v for k, v in params.items()}
    message = i18n.message(lang, error.template, error.column, error.shown_line, **params)
    return {"message": message, "where": where}
