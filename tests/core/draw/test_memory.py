"""core.draw: what a process remembers of its drawings is bounded by bytes, not by count."""

from __future__ import annotations

from autograd_playground.core.draw import dot, render, sanitize
from autograd_playground.core.language.expr import parse
from autograd_playground.core.trace.graph import trace


def polynomial(terms: int) -> str:
    return " + ".join(f"{k}*x**{k}" for k in range(1, terms + 1))


def test_drawn_pictures_are_counted_by_their_bytes() -> None:
    render.drawn.cache_clear()
    sources = [dot.torchviz_dot(trace(parse(polynomial(n)), {"x": 0.5})) for n in (2, 6)]
    svgs = [render.drawn(source) for source in sources]

    assert render.drawn.cache.maxsize == render.DRAWN_BYTES
    assert render.drawn.cache.currsize == sum(len(svg) for svg in svgs)
    assert render.drawn(sources[0]) is svgs[0]  # remembered, not laid out again


def test_remembered_dot_is_counted_by_its_bytes() -> None:
    dot._DOT_MEMORY.clear()
    sources = [dot.remembered_torchviz_dot(trace(parse(polynomial(n)), {"x": 0.5})) for n in (3, 5)]

    assert dot._DOT_MEMORY.maxsize == dot.DOT_BYTES
    assert dot._DOT_MEMORY.currsize == sum(len(s) for s in sources)


def test_sanitized_pictures_are_counted_by_their_bytes() -> None:
    sanitize._sanitized.cache_clear()
    svg = render.drawn(dot.torchviz_dot(trace(parse("x*3"), {"x": 2})))
    sanitize.svg_for_page(svg)

    assert sanitize._sanitized.cache.maxsize == sanitize.SANITIZED_BYTES
    assert sanitize._sanitized.cache.currsize == len(sanitize.sanitize_svg(svg))
