"""The examples the playground offers under its function: each a link to a page state."""

from __future__ import annotations

from dataclasses import dataclass

from .state import SEED, PageState


@dataclass(frozen=True)
class Example:
    title: str  # English; the template translates it
    expr: str
    values: dict[str, str]
    nograd: tuple[str, ...] = ()

    def url(self, base: PageState) -> str:
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
    Example(
        "A neuron as a program, with its loss",
        "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2",
        {"w": "0.5", "x": "1.5", "b": "0.1", "t": "1"},
        ("x", "t"),
    ),
    Example("A vector and a dot product", "w @ x + b", {"w": "[1, -2, 0.5]", "x": "[2, 1, 4]", "b": "0.5"}),
)
