"""autograd_playground.core.teach.plot: y(x) around the input, with the tangent of slope x.grad.

The lesson's function is 5*x**3 + 2*x**2 + 4*x + 8: y = 64 and dy/dx = 72 at x = 2,
both worked out by hand; the curve is checked against the function written here.
"""

from __future__ import annotations

import re

import pytest

from autograd_playground.core.language.rules import Extras
from autograd_playground.core.pipeline import compute

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"


def symbolic(expression: str, inputs: dict) -> dict:
    return compute(expression, inputs, extras=Extras(symbolic=True))



def lesson_plot() -> dict:
    return symbolic(LESSON, {"x": 2})["plot"]


def test_the_plot_marks_the_point_and_a_tangent_of_slope_x_grad():
    p = lesson_plot()
    assert (p["x0"], p["y0"], p["slope"]) == (2.0, 64.0, 72.0)
    left, top, width, height = p["box"]
    (x_lo, x_hi), (y_lo, y_hi) = p["x_range"], p["y_range"]
    assert x_lo < 2 < x_hi and y_lo < 64 < y_hi
    # The point, back in the function's coordinates.
    cx, cy = p["point"]
    assert x_lo + (cx - left) / width * (x_hi - x_lo) == pytest.approx(2.0, abs=0.01)
    assert y_hi - (cy - top) / height * (y_hi - y_lo) == pytest.approx(64.0, rel=0.01)
    # The tangent's slope in the function's coordinates is x.grad.
    (x1, y1), (x2, y2) = [map(float, pair.split(",")) for pair in
                          re.findall(r"[-\d.]+,[-\d.]+", p["tangent"])]
    slope = ((y1 - y2) / height * (y_hi - y_lo)) / ((x2 - x1) / width * (x_hi - x_lo))
    assert slope == pytest.approx(72.0, rel=0.01)


def test_the_curve_follows_the_function():
    p = lesson_plot()
    left, top, width, height = p["box"]
    (x_lo, x_hi), (y_lo, y_hi) = p["x_range"], p["y_range"]
    for pair in re.findall(r"[-\d.]+,[-\d.]+", " ".join(p["curve"]))[::20]:
        px, py = map(float, pair.split(","))
        x = x_lo + (px - left) / width * (x_hi - x_lo)
        y = y_hi - (py - top) / height * (y_hi - y_lo)
        assert y == pytest.approx(5 * x**3 + 2 * x**2 + 4 * x + 8, abs=0.02 * (y_hi - y_lo))


def test_a_pole_breaks_the_curve_instead_of_joining_its_sides():
    p = symbolic("1/x", {"x": 0.5})["plot"]
    assert len(p["curve"]) >= 2


@pytest.mark.parametrize("expression, inputs", [
    ("x*y", {"x": 1, "y": 2}),  # two variables
    ("sum(x*x)", {"x": [1, 2]}),  # a tensor
])
def test_only_one_variable_scalar_functions_get_a_plot(expression, inputs):
    assert symbolic(expression, inputs)["plot"] is None
