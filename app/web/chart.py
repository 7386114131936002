"""The training view's chart: the loss over the steps, as SVG drawn here.

Plain SVG with classes (the stylesheet colours it in both themes), no script,
no inline style, so it passes the page's Content-Security-Policy. A value that
is not a finite number ends the line: a diverging run shows where it left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from ..core.language.values import format_value

WIDTH, HEIGHT = 420, 200
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 14, 34


@dataclass(frozen=True)
class Point:
    step: int
    loss: float
    x: float
    y: float


def points(losses: list[float | str]) -> list[Point]:
    """Where each finite loss goes, steps left to right, the loss bottom to top."""
    finite = []
    for step, loss in enumerate(losses, start=1):
        if not isinstance(loss, (int, float)) or not math.isfinite(loss):
            break
        finite.append((step, float(loss)))
    if not finite:
        return []
    low = min(loss for _, loss in finite)
    high = max(loss for _, loss in finite)
    span = high - low or abs(high) or 1.0
    last = max(len(losses), 2)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    return [
        Point(
            step,
            loss,
            LEFT + inner_w * (step - 1) / (last - 1),
            TOP + inner_h * (1 - (loss - low) / span),
        )
        for step, loss in finite
    ]


def loss_chart(losses: list[float | str], title: str, description: str, x_label: str) -> Markup:
    """An accessible SVG line chart of ``losses``; the texts come translated."""
    shown = points(losses)
    parts = [
        f'<svg class="loss-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="loss-chart-title loss-chart-desc" data-testid="loss-chart">',
        f'<title id="loss-chart-title">{escape(title)}</title>',
        f'<desc id="loss-chart-desc">{escape(description)}</desc>',
        f'<line class="chart-axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
        f'y2="{HEIGHT - BOTTOM}"/>',
        f'<line class="chart-axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>',
    ]
    if shown:
        high = max(shown, key=lambda p: p.loss)
        low = min(shown, key=lambda p: p.loss)
        for point in {high, low}:
            parts.append(
                f'<text class="chart-label" x="{LEFT - 6}" y="{point.y + 4:.1f}" '
                f'text-anchor="end">{escape(format_value(point.loss))}</text>'
            )
        line = " ".join(f"{p.x:.1f},{p.y:.1f}" for p in shown)
        parts.append(f'<polyline class="chart-line" points="{line}"/>')
        for p in shown:
            parts.append(
                f'<circle class="chart-point" cx="{p.x:.1f}" cy="{p.y:.1f}" r="3">'
                f"<title>{p.step}: {escape(format_value(p.loss))}</title></circle>"
            )
    last = max(len(losses), 1)
    parts += [
        f'<text class="chart-label" x="{LEFT}" y="{HEIGHT - BOTTOM + 16}" '
        f'text-anchor="middle">1</text>',
        f'<text class="chart-label" x="{WIDTH - RIGHT}" y="{HEIGHT - BOTTOM + 16}" '
        f'text-anchor="end">{last}</text>',
        f'<text class="chart-label" x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 4}" '
        f'text-anchor="middle">{escape(x_label)}</text>',
        "</svg>",
    ]
    return Markup("".join(parts))
