"""The picture: torchviz's graph with stable ids, the annotated view, layout, sanitizing.

The oracle for the torchviz view is torchviz itself, called by hand the way the
lesson does it. SVG is always read through xml.etree, never compared as text.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
import torch
import torchviz

import autograd_playground.core.draw.dot
import autograd_playground.core.draw.layout
import autograd_playground.core.draw.render
from autograd_playground.core.draw.dot import annotated_dot, torchviz_dot
from autograd_playground.core.draw.layout import (
    RenderError,
    layout,
    layout_available,
    layout_with_dot,
)
from autograd_playground.core.draw.render import QUICK_LAYOUT_NODES, render
from autograd_playground.core.draw.sanitize import SVG_NS, sanitize_svg
from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import Limits
from autograd_playground.core.pipeline import compute
from autograd_playground.core.trace.graph import Trace, trace

SEED = "5*x**3 + 2*x**2 + 4*x + 8"
NS = {"svg": SVG_NS}


# --- helpers ----------------------------------------------------------------


def seed_trace() -> Trace:
    return trace(parse(SEED), {"x": 2})


def lesson_output() -> tuple[torch.Tensor, torch.Tensor]:
    """The seed example exactly as the lesson writes it."""
    x = torch.tensor(2.0, requires_grad=True)
    y = 5 * x**3 + 2 * x**2 + 4 * x + 8
    return x, y


def parse_svg(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def groups(root: ET.Element, kind: str) -> list[ET.Element]:
    """The ``<g class="node">`` or ``<g class="edge">`` elements."""
    return [g for g in root.iterfind(".//svg:g", NS) if g.get("class") == kind]


def node_texts(root: ET.Element) -> dict[str, list[str]]:
    """Graphviz node name (its <title>) -> the lines of text drawn in its box."""
    out = {}
    for g in groups(root, "node"):
        title = g.find("svg:title", NS).text
        out[title] = [t.text or "" for t in g.iterfind("svg:text", NS)]
    return out


def node_ids(root: ET.Element) -> set[str]:
    return {g.get("id") for g in groups(root, "node")}


def edge_titles(root: ET.Element) -> list[tuple[str, str]]:
    pairs = []
    for g in groups(root, "edge"):
        a, b = g.find("svg:title", NS).text.split("->")
        pairs.append((a, b))
    return pairs


def labelled_edges(root: ET.Element) -> Counter:
    """Edges as (label of source box, label of target box): comparable across id schemes."""
    labels = {name: "|".join(lines) for name, lines in node_texts(root).items()}
    return Counter((labels[a], labels[b]) for a, b in edge_titles(root))


def arrow_lines(dot_source: str) -> int:
    return sum("->" in line for line in dot_source.splitlines())


# --- the torchviz view ------------------------------------------------------


def test_every_node_of_the_seed_is_a_g_with_its_stable_id() -> None:
    result = seed_trace()
    root = parse_svg(render(result, "torchviz").svg)

    expected = {n.id for n in result.nodes} | {"out", "var-x"}
    assert expected == {f"n{i}" for i in range(9)} | {"out", "var-x"}
    assert node_ids(root) == expected
    # Graphviz's own <title> agrees with the id, so a node is found either way.
    assert set(node_texts(root)) == expected


def test_torchviz_view_shows_the_op_names_as_text() -> None:
    result = seed_trace()
    texts = node_texts(parse_svg(render(result, "torchviz").svg))

    for node in result.nodes:
        assert texts[node.id] == [node.name]
    shown = Counter(line for lines in texts.values() for line in lines)
    assert shown["AddBackward0"] == 3
    assert shown["MulBackward0"] == 3
    assert shown["PowBackward0"] == 2
    assert shown["AccumulateGrad"] == 1
    assert texts["var-x"][0] == "x"  # the variable box is named as in params=


def test_edge_count_matches_torchviz_by_hand() -> None:
    _, y = lesson_output()
    by_hand = torchviz.make_dot(y).source
    root = parse_svg(render(seed_trace(), "torchviz").svg)

    assert arrow_lines(by_hand) == 12  # 9 ops/leaf, plus var -> leaf and n0 -> out
    assert len(groups(root, "edge")) == arrow_lines(by_hand)


def test_torchviz_view_is_the_lesson_graph_with_other_names() -> None:
    """Same boxes and the same arrows between the same labels as torchviz by hand,
    except that the output is labelled with its name, y, where torchviz writes its shape."""
    x, y = lesson_output()
    by_hand = parse_svg(sanitize_svg(layout(torchviz.make_dot(y, params={"x": x}).source)))
    ours = parse_svg(render(seed_trace(), "torchviz").svg)

    expected = Counter(map(tuple, node_texts(by_hand).values()))
    expected[(" ()",)] -= 1
    expected[("y",)] += 1
    assert Counter(map(tuple, node_texts(ours).values())) == +expected
    edges = labelled_edges(by_hand)
    edges[("AddBackward0", " ()")] -= 1
    edges[("AddBackward0", "y")] += 1
    assert labelled_edges(ours) == +edges


@pytest.mark.parametrize("view", ["torchviz", "annotated"])
def test_the_output_node_is_named_out_when_a_variable_is_called_y(view) -> None:
    parsed = parse("x*y")
    ours = parse_svg(render(trace(parsed, {"x": 2.0, "y": 3.0}), view).svg)
    out = node_texts(ours)["out"]
    assert out[0].startswith("out"), out
    assert not any(text.startswith("y =") or text.strip() == "()" for text in out)


def test_torchviz_dot_has_no_raw_python_ids() -> None:
    dot = torchviz_dot(seed_trace())
    statements = re.findall(r'^\t"([^"]+)"', dot, flags=re.MULTILINE)

    assert statements, dot
    assert set(statements) == {f"n{i}" for i in range(9)} | {"out", "var-x"}
    assert not re.search(r"\b\d{6,}\b", dot)  # torchviz names nodes by id(): long numbers


# --- determinism ------------------------------------------------------------


@pytest.mark.parametrize("view", ["torchviz", "annotated"])
def test_two_identical_requests_give_byte_identical_svg_and_dot(view: str) -> None:
    first = compute(SEED, {"x": 2}, view=view)
    second = compute(SEED, {"x": 2}, view=view)

    assert first["view"] == second["view"] == view
    assert first["dot"] == second["dot"]
    assert first["svg"] == second["svg"]
    assert node_ids(parse_svg(first["svg"])) == {f"n{i}" for i in range(9)} | {"out", "var-x"}


# --- the annotated view -----------------------------------------------------


def test_annotated_view_shows_forward_values_and_gradients() -> None:
    texts = node_texts(parse_svg(render(seed_trace(), "annotated").svg))

    # Hand-derived at x = 2: 5*2**3 = 40, d/d(5*x**3) of the sum is 1,
    # d(5*u)/du = 5 reaches x**3, x**2 gets 2; x.grad = 15*4 + 4*2 + 4 = 72.
    assert texts["n3"] == ["MulBackward0", "5*x**3 = 40", "grad in 1"]
    assert texts["n4"] == ["PowBackward0", "x**3 = 8", "grad in 5"]
    assert texts["n7"] == ["PowBackward0", "x**2 = 4", "grad in 2"]
    assert texts["n0"] == ["AddBackward0", f"{SEED} = 64", "grad in 1"]
    assert texts["n5"] == ["AccumulateGrad", "grad in 72"]
    assert texts["var-x"] == ["x = 2", "grad 72"]
    assert texts["out"] == ["y = 64"]


def test_annotated_view_has_the_same_nodes_and_edges_as_torchviz_view() -> None:
    result = seed_trace()
    plain = parse_svg(render(result, "torchviz").svg)
    annotated = parse_svg(render(result, "annotated").svg)

    assert node_ids(annotated) == node_ids(plain)
    assert Counter(edge_titles(annotated)) == Counter(edge_titles(plain))


def test_annotated_dot_labels_come_from_the_trace() -> None:
    result = trace(parse("sin(x)*y"), {"x": 0, "y": 3}, {"y": False})
    dot = annotated_dot(result)

    assert '"var-x"' in dot
    assert '"var-y"' not in dot  # y does not require grad: no variable box
    texts = node_texts(parse_svg(render(result, "annotated").svg))
    # d(sin(x)*3)/dx at 0 = 3*cos(0) = 3
    assert texts["var-x"] == ["x = 0", "grad 3"]


# --- sanitizing -------------------------------------------------------------

HOSTILE_SVG = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<!-- Generated by graphviz, or so it says -->
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="100pt" height="50pt" viewBox="0 0 100 50" onload="alert('root')">
<!-- a comment inside -->
<?php echo "pi"; ?>
<script>alert('script')</script>
<script type="text/javascript" xlink:href="https://evil.example/x.js"/>
<style>rect { fill: url(javascript:alert(1)) }</style>
<g id="keep" class="node" onclick="alert('click')" onmouseover="alert('over')">
  <title>keep</title>
  <polygon id="poly" fill="lightgrey" stroke="black" points="0,0 10,0 10,10"
           style="fill: url(javascript:alert(1))"/>
  <path id="line" fill="none" stroke="url(#evil)" d="M0,0L10,10"/>
  <text id="label" x="5" y="5" font-family="monospace" onfocus="alert('focus')">hello</text>
  <ellipse id="dot" cx="1" cy="1" rx="1" ry="1" href="javascript:alert(1)"/>
</g>
<a xlink:href="javascript:alert('link')" href="javascript:alert('link2')">
  <text id="in-link">click me</text>
</a>
<foreignObject width="10" height="10">
  <div xmlns="http://www.w3.org/1999/xhtml"><img src="x" onerror="alert('img')"/></div>
</foreignObject>
<image href="https://evil.example/track.png" width="1" height="1"/>
<use xlink:href="#keep"/>
<set attributeName="onmouseover" to="alert('set')"/>
<animate attributeName="href" values="javascript:alert(1)"/>
<iframe src="javascript:alert(1)"/>
<rect id='bad" onload="alert(1)' x="1" y="1" width="2" height="2"/>
</svg>
"""

ALLOWED = {"svg", "g", "title", "polygon", "polyline", "ellipse", "path", "text", "rect",
           "circle", "line"}


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def test_sanitize_removes_scripts_links_events_and_foreign_content() -> None:
    out = sanitize_svg(HOSTILE_SVG)
    root = parse_svg(out)
    elements = list(root.iter())
    tags = {local(e.tag) for e in elements}

    assert tags <= ALLOWED
    for gone in ("script", "foreignObject", "a", "style", "image", "use", "set", "animate",
                 "iframe", "div", "img"):
        assert gone not in tags
    for element in elements:
        for name, value in element.attrib.items():
            assert not local(name).lower().startswith("on"), (element.tag, name)
            assert local(name) not in {"href", "style", "src"}, (element.tag, name)
            assert "url(" not in value.lower(), (element.tag, name, value)
            assert "javascript" not in value.lower(), (element.tag, name, value)
    # The whole <a> goes, with what it wrapped.
    assert root.find(".//*[@id='in-link']") is None


def test_sanitize_keeps_the_drawing() -> None:
    root = parse_svg(sanitize_svg(HOSTILE_SVG))

    assert local(root.tag) == "svg"
    assert root.get("viewBox") == "0 0 100 50"
    keep = root.find("svg:g[@id='keep']", NS)
    assert keep is not None and keep.get("class") == "node"
    assert keep.find("svg:title", NS).text == "keep"
    polygon = keep.find("svg:polygon[@id='poly']", NS)
    assert polygon.get("points") == "0,0 10,0 10,10"
    assert polygon.get("fill") == "lightgrey"
    path = keep.find("svg:path[@id='line']", NS)
    assert path.get("d") == "M0,0L10,10"
    assert path.get("stroke") is None  # its url(#evil) went, the path stayed
    text = keep.find("svg:text[@id='label']", NS)
    assert text.text == "hello" and text.get("font-family") == "monospace"
    assert keep.find("svg:ellipse[@id='dot']", NS).get("rx") == "1"
    # An id that would break out of its attribute is dropped; the rect stays.
    rect = root.find("svg:rect", NS)
    assert rect is not None and rect.get("id") is None and rect.get("width") == "2"


def test_sanitize_drops_prolog_doctype_comments_and_processing_instructions() -> None:
    out = sanitize_svg(HOSTILE_SVG)

    assert out.startswith("<svg")
    assert "<!DOCTYPE" not in out
    assert "<?xml" not in out
    assert "<?" not in out
    assert "<!--" not in out


def test_rendered_svg_has_no_prolog_doctype_or_comments() -> None:
    raw = layout(torchviz_dot(seed_trace()))
    assert "<!--" in raw and "<?xml" in raw  # Graphviz writes them ...
    for view in ("torchviz", "annotated"):
        svg = render(seed_trace(), view).svg
        # ... and the picture we hand out has none of them.
        assert svg.startswith("<svg")
        assert "<!DOCTYPE" not in svg and "<?xml" not in svg and "<!--" not in svg


@pytest.mark.parametrize(
    "broken",
    ["", "no svg here", "<svg xmlns='http://www.w3.org/2000/svg'><g></svg>"],
    ids=["empty", "no-svg", "unbalanced"],
)
def test_sanitize_refuses_what_is_not_svg(broken: str) -> None:
    with pytest.raises(RenderError):
        sanitize_svg(broken)


LAUGHS = (
    '<!DOCTYPE svg [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)


@pytest.mark.parametrize(
    "cached",
    [
        LAUGHS + '<svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg">' + LAUGHS + "<text>&c;</text></svg>",
    ],
    ids=["doctype-before", "undeclared", "doctype-inside"],
)
def test_sanitize_expands_no_entities_from_a_cached_svg(cached: str) -> None:
    """SVG read back from a shared cache is parsed with no DTD: entities are refused."""
    with pytest.raises(RenderError):
        sanitize_svg(cached)


def test_sanitize_checks_the_root_element_too() -> None:
    """'<svg' found at the start of '<svg:script ...>' must not smuggle a script root through."""
    hostile = '<svg:script xmlns:svg="http://www.w3.org/2000/svg">alert(1)</svg:script>'
    try:
        out = sanitize_svg(hostile)
    except RenderError:
        return  # refusing is fine
    assert local(parse_svg(out).tag) == "svg"
    assert "script" not in out


# --- layout -----------------------------------------------------------------


def big_dot(nodes: int = 3000) -> str:
    edges = "".join(f"\tn{i} -> n{(i * 7919) % nodes}\n\tn{i} -> n{i + 1}\n" for i in range(nodes))
    return "digraph {\n" + edges + "}\n"


def test_the_dot_process_is_stopped_at_its_timeout() -> None:
    # Refused as too long, not drawn: the process was stopped at the limit.
    with pytest.raises(RenderError, match="longer than"):
        layout_with_dot(big_dot(), timeout=0.001)


@pytest.fixture
def without_libgvc(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process behaves as if Graphviz's library were not installed."""
    monkeypatch.setattr(autograd_playground.core.draw.layout, "_LIBRARY", [None])


def test_without_the_library_layout_uses_dot_and_its_timeout(without_libgvc: None) -> None:
    with pytest.raises(RenderError, match="longer than 0.001 s"):
        layout(big_dot(), timeout=0.001)


def test_layout_without_graphviz_raises_render_error(
    monkeypatch: pytest.MonkeyPatch, without_libgvc: None
) -> None:
    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("layout must not try to run anything without 'dot'")

    monkeypatch.setattr("autograd_playground.core.draw.layout.shutil.which", lambda name: None)
    monkeypatch.setattr("autograd_playground.core.draw.layout.subprocess.run", no_subprocess)
    assert not layout_available()
    with pytest.raises(RenderError, match="not installed"):
        layout("digraph { a -> b }")
    with pytest.raises(RenderError):
        render(seed_trace(), "torchviz")


def test_the_library_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("with libgvc, layout must not start a process")

    monkeypatch.setattr("autograd_playground.core.draw.layout.subprocess.run", no_subprocess)
    assert autograd_playground.core.draw.layout._library() is not None
    svg = layout("digraph { a -> b }")
    assert set(node_texts(parse_svg(sanitize_svg(svg)))) == {"a", "b"}


@pytest.mark.parametrize("lay_out", [layout, layout_with_dot], ids=["libgvc", "dot"])
def test_layout_reports_graphviz_failure(lay_out) -> None:
    with pytest.raises(RenderError, match="could not draw.*syntax error"):
        lay_out("digraph { a -> }")
    # ... and the next graph is drawn as if nothing had happened.
    assert set(node_texts(parse_svg(sanitize_svg(lay_out("digraph { a -> b }"))))) == {"a", "b"}


def test_layout_calls_dot_with_svg_output_and_the_timeout(
    monkeypatch: pytest.MonkeyPatch, without_libgvc: None
) -> None:
    seen = {}
    real_run = subprocess.run

    def spy(cmd, **kwargs):
        seen["cmd"], seen["timeout"] = cmd, kwargs.get("timeout")
        return real_run(cmd, **kwargs)

    monkeypatch.setattr("autograd_playground.core.draw.layout.subprocess.run", spy)
    svg = layout("digraph { a -> b }", timeout=3.5)
    assert seen["cmd"][1:] == ["-Tsvg"]
    assert seen["timeout"] == 3.5
    assert set(node_texts(parse_svg(sanitize_svg(svg)))) == {"a", "b"}
    layout("digraph { a -> b }", quick=True)
    assert seen["cmd"][1:] == ["-Tsvg", "-Gnslimit=2", "-Gnslimit1=2"]


# Both paths, the library and the process, must draw the same picture: the same
# node ids, the same arrows, the same labels, at the same places.
SAME_PICTURE = [
    pytest.param(SEED, {"x": 2}, Limits(), id="seed"),
    pytest.param("sigmoid(sum(w*x) + b)", {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 3.0],
                                           "b": 0.1}, Limits(), id="neuron"),
    pytest.param("x" + "+x" * 49, {"x": 2}, Limits(), id="x+x+...+x, 50 terms, quick"),
]


@pytest.mark.parametrize("view", ["torchviz", "annotated"])
@pytest.mark.parametrize(("expression", "inputs", "limits"), SAME_PICTURE)
def test_libgvc_and_dot_draw_the_same_picture(
    view: str, expression: str, inputs: dict, limits: Limits
) -> None:
    result = trace(parse(expression, limits), inputs)
    source = torchviz_dot(result) if view == "torchviz" else annotated_dot(result)
    quick = len(result.nodes) > QUICK_LAYOUT_NODES
    assert quick == (len(result.nodes) == 50)
    in_process = parse_svg(sanitize_svg(layout(source, quick=quick)))
    with_dot = parse_svg(sanitize_svg(layout_with_dot(source, 30.0, quick=quick)))

    assert node_ids(in_process) == node_ids(with_dot) >= {n.id for n in result.nodes}
    assert node_texts(in_process) == node_texts(with_dot)
    assert sorted(edge_titles(in_process)) == sorted(edge_titles(with_dot))
    # Not only the same graph: the same drawing, coordinate for coordinate.
    assert ET.tostring(in_process) == ET.tostring(with_dot)


def test_the_anonymous_graph_name_does_not_count_up() -> None:
    """Graphviz numbers anonymous graphs per process; the picture must not change with it."""
    first = layout("digraph { a -> b }")
    for _ in range(3):
        assert layout("digraph { a -> b }") == first
    assert "<title>%3</title>" in first


# --- a deeper graph ---------------------------------------------------------


# x+x+...+x with 100 terms is a chain of 99 adds that all point back at x;
# Graphviz needs about 11 s for that shape (0.04 s at 40 terms, 2 s at 80), far
# past the 5 s default timeout (see test_main.py's xfail on it). So the 100-deep
# case here is a chain of "+1", and x+x+... is drawn at 40 terms.
DEEP = [
    pytest.param("x" + "+1" * 99, Limits(max_depth=200), 100, 1.0, id="x+1+...+1, 100 deep"),
    pytest.param("x" + "+x" * 39, Limits(), 40, 40.0, id="x+x+...+x, 40 terms"),
]


@pytest.mark.parametrize("view", ["torchviz", "annotated"])
@pytest.mark.parametrize(("expression", "limits", "count", "grad"), DEEP)
def test_a_deep_graph_renders_with_every_node_id(
    view: str, expression: str, limits: Limits, count: int, grad: float
) -> None:
    result = trace(parse(expression, limits), {"x": 2})

    assert len(result.nodes) == count  # count-1 AddBackward0 + 1 AccumulateGrad
    assert result.gradients == {"x": grad}
    root = parse_svg(render(result, view).svg)
    assert node_ids(root) == {f"n{i}" for i in range(count)} | {"out", "var-x"}
    # One arrow per input of each node (x+x has two from the leaf), plus
    # var-x -> leaf and n0 -> out.
    inputs = sum(1 for n in result.nodes for i in n.inputs if i is not None)
    assert len(groups(root, "edge")) == inputs + 2


def test_threads_laying_out_at_once_each_get_their_own_picture() -> None:
    """Graphviz is not thread-safe; the server's threads (workers=0) take turns."""
    from concurrent.futures import ThreadPoolExecutor

    sources = {f"v{i}": f"digraph {{ v{i} -> w{i} }}" for i in range(24)}
    with ThreadPoolExecutor(8) as pool:
        pictures = dict(zip(sources, pool.map(layout, sources.values()), strict=False))
    for name, svg in pictures.items():
        assert set(node_texts(parse_svg(sanitize_svg(svg)))) == {name, "w" + name[1:]}


def test_the_same_graph_is_laid_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same function, new value: the torchviz view's DOT is the same, so is its picture."""
    calls = []
    real = autograd_playground.core.draw.render.layout
    monkeypatch.setattr(autograd_playground.core.draw.render, "layout", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = render(trace(parse(SEED), {"x": 2}), "torchviz")
    second = render(trace(parse(SEED), {"x": -7.5}), "torchviz")
    assert second.dot == first.dot and second.svg == first.svg
    assert len(calls) == 1
    # The annotated view shows the values, so it is a new picture.
    annotated = render(trace(parse(SEED), {"x": -7.5}), "annotated")
    assert "-7.5" in " ".join(t for lines in node_texts(parse_svg(annotated.svg)).values()
                              for t in lines)
    assert len(calls) == 2


def test_a_failed_layout_is_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    real = autograd_playground.core.draw.render.layout

    def broken(*args: object, **kwargs: object) -> str:
        raise RenderError("Graphviz could not draw the graph: test")

    monkeypatch.setattr(autograd_playground.core.draw.render, "layout", broken)
    with pytest.raises(RenderError):
        render(seed_trace(), "torchviz")
    monkeypatch.setattr(autograd_playground.core.draw.render, "layout", real)
    assert node_ids(parse_svg(render(seed_trace(), "torchviz").svg)) >= {"n0", "out"}


def test_sanitizing_twice_changes_nothing() -> None:
    """Pages sanitize again what the worker sanitized: the second pass must keep it all."""
    for view in ("torchviz", "annotated"):
        once = render(seed_trace(), view).svg
        assert sanitize_svg(once) == once


def test_sanitize_escapes_what_it_writes_back() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><g id="a" class="x &amp; &quot;y&quot;">'
        "<text>a &lt; b &amp;&amp; c &gt; d</text></g></svg>"
    )
    root = parse_svg(sanitize_svg(svg))
    group = root.find("svg:g", NS)
    assert group.get("class") == 'x & "y"'
    assert group.find("svg:text", NS).text == "a < b && c > d"


# --- the DOT remembered per drawing ----------------------------------------

from tests.core.trace.test_local import EVERY_FUNCTION
from tests.core.trace.test_nn_ops import CASES as NN_CASES

REMEMBERED_CASES = [
    (SEED, {"x": 2}),
    ("z = w*x + b\nh = tanh(z)\nloss = (h - t)^2", {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1}),
    ("sigmoid(sum(w*x) + b)", {"w": [0.5, -1.0, 2.0], "x": [1.0, 2.0, 3.0], "b": 0.1}),
    ("x/0 + sqrt(x)", {"x": 0.0}),
    *EVERY_FUNCTION.values(),
    *NN_CASES,
]


def other_values(value):
    """Every float moved (integers, such as a class index, stay): the same drawing."""
    if isinstance(value, list):
        return [other_values(v) for v in value]
    return value * 1.7 + 0.3 if isinstance(value, float) else value


@pytest.mark.parametrize("expr, inputs", REMEMBERED_CASES, ids=[c[0] for c in REMEMBERED_CASES])
def test_the_remembered_dot_is_what_torchviz_draws_for_the_new_values(expr, inputs) -> None:
    parsed = parse(expr)
    grads = {name: name != "k" for name in inputs}  # k: a class index, never with grad
    autograd_playground.core.draw.dot.remembered_torchviz_dot(trace(parsed, inputs, grads))
    moved = trace(parsed, {k: other_values(v) for k, v in inputs.items()}, grads)

    assert autograd_playground.core.draw.dot.remembered_torchviz_dot(moved) == torchviz_dot(moved)


def test_a_different_drawing_is_not_taken_from_memory() -> None:
    parsed = parse("sum(w*x + b)")
    inputs = {"w": 0.5, "x": 1.5, "b": 0.1}
    remembered = autograd_playground.core.draw.dot.remembered_torchviz_dot
    base = remembered(trace(parsed, inputs))
    no_grad_b = trace(parsed, inputs, {"b": False})
    vector_x = trace(parsed, {**inputs, "x": [1.5, 2.0]})

    assert remembered(no_grad_b) == torchviz_dot(no_grad_b) != base
    assert remembered(vector_x) == torchviz_dot(vector_x) != base
    assert "(2)" in remembered(vector_x)  # torchviz labels a leaf with its shape


def test_a_collapsed_drawing_is_remembered_apart_from_the_open_one() -> None:
    neuron = trace(parse("z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"),
                   {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1})
    remembered = autograd_playground.core.draw.dot.remembered_torchviz_dot
    open_ = remembered(neuron)
    boxed = remembered(neuron, ("z",))

    assert boxed == torchviz_dot(neuron, ("z",)) != open_
    assert 'id="box-z"' in boxed and 'id="box-z"' not in open_
    assert remembered(neuron) == open_
