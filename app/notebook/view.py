"""The output's HTML: one result, its pictures and its steps, as a self-contained fragment.

The text of every step and node comes from the page's own code
(autograd_playground.core.teach.explain); this module adds what a notebook cell
needs around it: a prefix that keeps every id and the style of one output apart
from any other in the notebook, the picture sanitized and inlined, the script and
the style inlined (nothing is fetched), and the parameter table.

Without a script (an untrusted notebook, GitHub's viewer, an exported page with
scripts off) the fragment reads on its own: the picture (an <img> of the SVG),
the gradients and a table of the steps. The script (assets/output.js) inlines the
SVG and turns the table into the stepper.
"""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..core.draw.sanitize import svg_for_page
from ..core.result import GraphResult
from ..core.teach import explain, sentences
from .i18n import translations

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Pictures:
    """The SVG of each view as draw.render made it (None: not drawn, past the node limit)."""

    torchviz: str | None
    annotated: str | None = None
    collapsed: str | None = None  # the torchviz view with every module group one box
    boxes: Mapping[str, str] = field(default_factory=dict)  # node id -> its box there


@dataclass(frozen=True)
class ParamRow:
    """One leaf of the graph: a named parameter, or a leaf given a stable name."""

    name: str
    shape: str
    value: str
    grad: str


def new_prefix() -> str:
    """The prefix of one output's ids and style scope: never the same twice in a notebook."""
    return f"agp{uuid.uuid4().hex[:10]}-"


@functools.cache
def _environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader([HERE / "templates", sentences.TEMPLATES]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


@functools.cache
def _asset(name: str) -> str:
    return (HERE / "assets" / name).read_text()


def summary(value: Any) -> str:
    """A parameter's value in a few characters: short ones whole, a big one by its range."""
    if isinstance(value, dict) and "shape" in value:  # values.summarize's summary
        return f"min {explain.brief(value['min'])}, mean {explain.brief(value['mean'])}, max {explain.brief(value['max'])}"
    return explain.brief(value)


def param_rows(result: GraphResult) -> list[ParamRow]:
    rows = []
    for v in result.variables:
        grad = result.gradients.get(v.name, v.grad)
        rows.append(ParamRow(
            name=v.name,
            shape="×".join(str(n) for n in v.shape) or "()",
            value=summary(v.value),
            grad="None" if grad is None else summary(grad),
        ))
    return rows


def paints(steps: list[explain.StepView]) -> list[dict[str, str]]:
    """Each step's lit node and the nodes done before it, as the page paints them
    (app/web/highlight.py): step 0 lights nothing."""
    out = [{"current": "", "done": ""}]
    for k, step in enumerate(steps):
        out.append({"current": step.node, "done": " ".join(dict.fromkeys(s.node for s in steps[:k]))})
    return out


def _picture(svg: str | None, prefix: str) -> str | None:
    """The picture as a data: URI of its SVG, which svg_for_page sanitized and whose every
    id (node ids too) it prefixed. An <img> of it survives where a notebook sanitizes
    untrusted output (JupyterLab drops inline <svg> and keeps its text); the script
    inlines the same SVG, so that its nodes can be lit and clicked."""
    if svg is None:
        return None
    return "data:image/svg+xml;base64," + base64.b64encode(svg_for_page(svg, None, prefix).encode()).decode()


def render_html(
    result: GraphResult,
    pictures: Pictures,
    lang: str = "en",
    prefix: str | None = None,
    too_big: Mapping[str, int] | None = None,
    output: str = "y",
) -> str:
    """The output of one show(): a <div> with its style, picture, steps and script."""
    prefix = prefix or new_prefix()
    steps = explain.steps(result)
    root = f"{prefix}root"
    context = {
        "p": prefix,
        "root": root,
        "lang": lang,
        "output": output,
        "result": result,
        "steps": [] if too_big else steps,
        "paints": paints(steps),
        # Steps of a node whose derivative the core has no formula for (rules == ()).
        "no_formula": {i for i, (view, record) in enumerate(zip(steps, result.steps, strict=True))
                       if view.kind != "leaf" and record.rules == ()},
        "nodes": [] if too_big else explain.node_views(result, steps),
        "params": param_rows(result),
        # Long ones by their first entries and shape, as the steps show them; .result has all.
        "gradients": [(k, "None" if v is None else explain.brief(v)) for k, v in result.gradients.items()],
        "too_big": too_big,
        "groups": [line for line in result.lines if line.nodes],
        "torchviz": _picture(pictures.torchviz, f"{prefix}t-"),
        "annotated": _picture(pictures.annotated, f"{prefix}a-"),
        "collapsed": _picture(pictures.collapsed, f"{prefix}c-"),
        "boxes": dict(pictures.boxes),
        # The style's scope is this output's root: .agp in the sheet becomes #<root>.
        "css": Markup(_asset("output.css").replace(".agp", f"#{root}")),
        "js": Markup(_asset("output.js")),
    }
    return _environment(lang).get_template("output.html").render(context)
