"""The playground page's state: read from the URL, written back into links.

Everything a page shows is in its query string, so every result is a link
that can be shared and reloaded, and any replica can serve it. One query
parameter per variable holds its value (``x=2``, ``v=[1,2,3]``); the names
in ``RESERVED`` are the page's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Iterable
from urllib.parse import quote, urlencode

from app.expr import ExprError, Limits, parse

SEED = "5*x**3 + 2*x**2 + 4*x + 8"

# Query parameters with a meaning of their own; a variable may not use these names.
RESERVED = {
    "expr": "the function",
    "step": "the step shown (0 is the overview)",
    "view": "torchviz or annotated",
    "lang": "en or de",
    "theme": "auto, light or dark",
    "forward": "1 to step through the forward pass too",
    "grad": "a variable whose requires_grad is on (repeat it); with rg=1, the others are off",
    "rg": "1 when the grad parameters are the complete list",
    "readonly": "1 to show the function without letting it be edited (embed)",
    "hide": "parts of the view to hide (embed)",
    "autoplay": "1 to start stepping at once (embed)",
}

VIEWS = ("torchviz", "annotated")
THEMES = ("auto", "light", "dark")
DEFAULT_VALUE = "1"


@dataclass(frozen=True)
class Example:
    title: str  # English; the template translates it
    expr: str
    values: dict[str, str]
    nograd: tuple[str, ...] = ()

    def url(self, base: "PageState") -> str:
        """The example's link, keeping the language, theme and view of ``base``."""
        grads = {name: name not in self.nograd for name in self.values} if self.nograd else {}
        return base.url(expr=self.expr, values=dict(self.values), grads=grads, step=0,
                        forward=False)


EXAMPLES = (
    Example("The lesson's polynomial", SEED, {"x": "2"}),
    Example("Two variables", "x**2*y + sin(y)", {"x": "3", "y": "0.5"}),
    Example("A sigmoid neuron", "sigmoid(w*x + b)", {"w": "0.5", "x": "2", "b": "-1"}, ("x",)),
    Example(
        "Mean squared error over a vector",
        "mean((w*x - t)**2)",
        {"w": "1.5", "x": "[1, 2, 3]", "t": "[2, 4, 6]"},
        ("x", "t"),
    ),
    Example("A constant input: requires_grad off", "c*x**2", {"c": "3", "x": "2"}, ("c",)),
    Example("A vector and a dot product", "w @ x + b", {"w": "[1, -2, 0.5]", "x": "[2, 1, 4]", "b": "0.5"}),
)


@dataclass(frozen=True)
class PageState:
    expr: str = SEED
    values: dict[str, str] = field(default_factory=lambda: {"x": "2"})
    grads: dict[str, bool] = field(default_factory=dict)  # missing means on
    step: int = 0
    view: str = "torchviz"
    lang: str | None = None
    theme: str = "auto"
    forward: bool = False

    def grad_on(self, name: str) -> bool:
        return self.grads.get(name, True)

    def query(self, **changes: Any) -> str:
        """This state as a query string, with ``changes`` applied."""
        state = replace(self, **changes) if changes else self
        pairs: list[tuple[str, str]] = [("expr", state.expr)]
        pairs += list(state.values.items())
        if any(not on for on in state.grads.values()):
            pairs.append(("rg", "1"))
            pairs += [("grad", name) for name, on in state.grads.items() if on]
        if state.step:
            pairs.append(("step", str(state.step)))
        if state.view != "torchviz":
            pairs.append(("view", state.view))
        if state.forward:
            pairs.append(("forward", "1"))
        if state.lang:
            pairs.append(("lang", state.lang))
        if state.theme != "auto":
            pairs.append(("theme", state.theme))
        return urlencode(pairs, quote_via=quote)

    def url(self, path: str = "/", **changes: Any) -> str:
        return f"{path}?{self.query(**changes)}"


def _first(params: Any, name: str) -> str | None:
    values = params.getlist(name) if hasattr(params, "getlist") else params.get(name)
    if isinstance(values, list):
        return values[0] if values else None
    return values


def from_query(params: Any, limit: int = 10_000) -> PageState:
    """Read a page state from query parameters (a Starlette QueryParams or a dict)."""
    expr = _first(params, "expr")
    if expr is None:
        expr = SEED
        values = {"x": _first(params, "x") or "2"}
    else:
        expr = expr[:limit]
        values = {}
        for key in params.keys():
            if key not in RESERVED and key not in values:
                values[key] = (_first(params, key) or "")[:limit]
    grads: dict[str, bool] = {}
    listed = params.getlist("grad") if hasattr(params, "getlist") else params.get("grad", [])
    if _first(params, "rg") == "1" or listed:
        grads = {name: name in listed for name in values}
    step = _first(params, "step") or "0"
    view = _first(params, "view")
    theme = _first(params, "theme")
    lang = _first(params, "lang")
    return PageState(
        expr=expr,
        values=values,
        grads=grads,
        step=int(step) if step.isdigit() and len(step) < 6 else 0,
        view=view if view in VIEWS else "torchviz",
        lang=lang if lang in ("en", "de") else None,
        theme=theme if theme in THEMES else "auto",
        forward=_first(params, "forward") == "1",
    )


def with_variables(state: PageState, names: Iterable[str]) -> PageState:
    """The state with exactly one value per variable: kept where known, a default where new."""
    names = list(names)
    return replace(
        state,
        values={name: state.values.get(name, DEFAULT_VALUE) for name in names},
        grads={name: on for name, on in state.grads.items() if name in names},
    )


def variables_of(expr: str, limits: Limits) -> tuple[list[str], ExprError | None]:
    """The variables the function uses, in order, or the reason it cannot be read."""
    try:
        return list(parse(expr, limits).variables), None
    except ExprError as error:
        return [], error


def check_names(names: Iterable[str]) -> None:
    for name in names:
        if name in RESERVED:
            raise ExprError(
                "'{name}' is a reserved name on this page; call the variable something else.",
                {"name": name},
            )


def parse_value(name: str, text: str) -> Any:
    """A value field's text as a number or a nested list of numbers (JSON, never code)."""
    text = text.strip()
    try:
        if text.startswith("["):
            return json.loads(text)
        # A decimal comma, as many German students write it.
        return float(text.replace(",", "."))
    except (ValueError, RecursionError):
        raise ExprError(
            "The value of '{name}' is not a number or a list like [1, 2, 3].", {"name": name}
        ) from None
