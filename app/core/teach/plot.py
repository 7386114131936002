"""The plot of a function of one number: y(x) around the input, with its tangent of slope x.grad.

:func:`plot` evaluates the function on a grid around the input (all at once
where it is element-wise), cuts the curve where it leaves the box (at a pole),
and returns SVG coordinates in a PLOT_WIDTH x PLOT_HEIGHT box: the curve's
segments, the tangent through the input, the point and the axes. The page
draws them with its own classes. Only a scalar function of one scalar variable
gets a plot.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..language.rules import ExprError, Limits
from ..language.tree import Call, Parsed, post_order
from ..language.values import scalar
from ..trace.graph import evaluate
from ..trace.model import Trace
from .calculus import scalar_only

PLOT_POINTS = 161
PLOT_WIDTH, PLOT_HEIGHT = 320, 200
PLOT_MARGIN = (10, 10, 10, 24)  # left, top, right, bottom


def plot(parsed: Parsed, trace: Trace, limits: Limits) -> dict[str, Any] | None:
    """y(x) around the input with its tangent, for a function of one scalar variable.

    None for anything else. Coordinates are SVG user units in a
    PLOT_WIDTH x PLOT_HEIGHT box; the page draws them with its own classes.
    """
    if len(trace.variables) != 1:
        return None
    variable = trace.variables[0]
    if variable.shape or not variable.requires_grad or not scalar_only(parsed, {}):
        return None
    x0, y0, slope = scalar(variable.value), scalar(trace.output.value), scalar(variable.grad)
    if not all(math.isfinite(v) for v in (x0, y0, slope)):
        return None
    half = max(2.0, 0.5 * abs(x0))
    grid = torch.linspace(x0 - half, x0 + half, PLOT_POINTS, dtype=torch.float64)
    try:
        ys = _on_grid(parsed, variable.name, grid, limits)
    except ExprError:
        return None
    xs = grid.tolist()
    finite = sorted(y for y in ys if math.isfinite(y))
    if len(finite) < 2:
        return None
    lo, hi = finite[0], finite[-1]
    q_lo, q_hi = finite[len(finite) // 20], finite[-1 - len(finite) // 20]
    if hi - lo > 20 * max(q_hi - q_lo, 1e-12):  # a pole: show the body of the curve
        lo, hi = q_lo, q_hi
    lo, hi = min(lo, y0), max(hi, y0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = 0.08 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    left, top, right, bottom = PLOT_MARGIN
    width, height = PLOT_WIDTH - left - right, PLOT_HEIGHT - top - bottom

    def px(x: float) -> float:
        return round(left + (x - xs[0]) / (xs[-1] - xs[0]) * width, 2)

    def py(y: float) -> float:
        return round(top + (hi - y) / (hi - lo) * height, 2)

    curve, segment = [], []
    for x, y in zip(xs, ys, strict=False):
        if math.isfinite(y) and lo - (hi - lo) <= y <= hi + (hi - lo):
            segment.append(f"{px(x)},{py(y)}")
        elif segment:
            curve.append(segment)
            segment = []
    if segment:
        curve.append(segment)
    tangent = [(xs[0], y0 + slope * (xs[0] - x0)), (xs[-1], y0 + slope * (xs[-1] - x0))]
    return {
        "variable": variable.name,
        "x0": x0,
        "y0": y0,
        "slope": slope,
        "width": PLOT_WIDTH,
        "height": PLOT_HEIGHT,
        "box": [left, top, width, height],
        "curve": ["M" + " L".join(s) for s in curve if len(s) > 1],
        "tangent": f"M{px(tangent[0][0])},{py(tangent[0][1])} L{px(tangent[1][0])},{py(tangent[1][1])}",
        "point": [px(x0), py(y0)],
        "x_axis": py(0.0) if lo <= 0 <= hi else None,
        "y_axis": px(0.0) if xs[0] <= 0 <= xs[-1] else None,
        "x_range": [xs[0], xs[-1]],
        "y_range": [lo, hi],
    }


def _on_grid(parsed: Parsed, name: str, grid: torch.Tensor, limits: Limits) -> list[float]:
    """y at every grid point: all at once where the function is elementwise, else one by one."""
    elementwise = not any(
        isinstance(n, Call) and n.func in ("sum", "mean") for n in post_order(parsed.tree)
    )
    with torch.no_grad():
        if elementwise:
            ys = torch.as_tensor(evaluate(parsed, {name: grid}, limits), dtype=torch.float64)
            return torch.broadcast_to(ys, grid.shape).tolist()
        return [
            float(torch.as_tensor(evaluate(parsed, {name: x}, limits)))
            for x in grid.unbind()
        ]
