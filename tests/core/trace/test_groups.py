"""A program's lines drawn as labelled groups (Graphviz clusters), in both views."""

from __future__ import annotations

import re

import pytest

from autograd_playground.core.draw.render import render
from autograd_playground.core.language.expr import parse
from autograd_playground.core.trace.graph import trace

NEURON = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
AT = {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1.0}


def test_each_line_groups_the_nodes_it_made():
    t = trace(parse(NEURON), AT)
    names = {n.id: n.name for n in t.nodes}
    groups = {name: (text, [names[i] for i in ids]) for name, text, ids in t.groups}
    assert groups["z"] == ("z = w*x + b", ["AddBackward0", "MulBackward0"])
    assert groups["h"] == ("h = tanh(z)", ["TanhBackward0"])
    assert groups["loss"] == ("loss = (h - t)^2", ["PowBackward0", "SubBackward0"])
    assert trace(parse("x**2 + 1"), {"x": 2.0}).groups == ()


@pytest.mark.parametrize("view", ["torchviz", "annotated"])
def test_both_views_draw_each_line_as_a_labelled_cluster_keeping_the_node_ids(view):
    t = trace(parse(NEURON), AT)
    svg = render(t, view).svg
    for name, text in (("z", "z = w*x + b"), ("h", "h = tanh(z)"), ("loss", "loss = (h - t)^2")):
        cluster = re.search(rf'<g id="line-{name}" class="cluster">(.*?)</g>', svg, re.S)
        assert cluster is not None, name
        assert text.replace("-", "-") in cluster.group(1).replace("&#45;", "-")
    # The nodes keep their stable ids (n0, n1, ...), inside or outside a cluster.
    assert all(f'<g id="{n.id}" class="node' in svg for n in t.nodes)


# --- a line collapsed to one box ---------------------------------------------------------


def edges(svg: str) -> list[tuple[str, str]]:
    """The drawn edges, tail -> head, from Graphviz's titles."""
    titles = re.findall(r'<g id="[^"]*" class="edge">\s*<title>(.*?)</title>', svg, re.S)
    return [tuple(t.replace("&#45;&gt;", "->").replace("-&gt;", "->").split("->")) for t in titles]


def node_ids(svg: str) -> set[str]:
    return set(re.findall(r'<g id="([^"]+)" class="node"', svg))


@pytest.mark.parametrize("view", ["torchviz", "annotated"])
def test_a_collapsed_line_is_one_box_with_the_edges_of_its_nodes(view):
    t = trace(parse(NEURON), AT)
    ids = {name: members for name, _, members in t.groups}
    picture = render(t, view, collapse=("h",))
    svg = picture.svg
    assert picture.collapsed == ("h",)
    assert "box-h" in node_ids(svg)
    assert not node_ids(svg) & set(ids["h"])  # TanhBackward0 is inside the box
    assert 'id="line-h"' not in svg and 'id="line-z"' in svg and 'id="line-loss"' in svg
    drawn = edges(svg)
    z_node = next(i for i in ids["z"] if t.node(i).name_of == "z")  # AddBackward0
    sub = next(i for i in ids["loss"] if t.node(i).name == "SubBackward0")
    assert (z_node, "box-h") in drawn and ("box-h", sub) in drawn
    assert ("box-h", "box-h") not in drawn
    assert [e for e in drawn if "box-h" in e] == [e for e in dict.fromkeys(drawn) if "box-h" in e]
    box = re.search(r'<g id="box-h" class="node">(.*?)</g>', svg, re.S).group(1)
    assert "h = tanh(z)" in box
    # The annotated view gives the line's value too; the torchviz view only the line.
    assert ("= 0.691069" in box) == (view == "annotated")


@pytest.mark.parametrize("view", ["torchviz", "annotated"])
def test_every_line_collapsed_is_a_chain_of_boxes_to_the_output(view):
    t = trace(parse(NEURON), AT)
    picture = render(t, view, collapse=("loss", "z", "h", "z"))
    assert picture.collapsed == ("z", "h", "loss")  # line order, each once
    drawn = edges(picture.svg)
    for edge in (("box-z", "box-h"), ("box-h", "box-loss"), ("box-loss", "out")):
        assert edge in drawn
    assert 'class="cluster"' not in picture.svg
    assert not node_ids(picture.svg) & {i for _, _, ids in t.groups for i in ids}
    # The leaves are never collapsed: each variable still has its AccumulateGrad.
    leaves = {n.id for n in t.nodes if n.kind == "leaf"}
    assert leaves <= node_ids(picture.svg)


def test_edges_from_one_node_into_a_box_are_drawn_once():
    # x*x and + x: three edges from x's AccumulateGrad into the line's nodes.
    t = trace(parse("z = x*x + x\ny = 2*z"), {"x": 3.0})
    leaf = next(n.id for n in t.nodes if n.kind == "leaf")
    plain = edges(render(t, "torchviz").svg)
    assert sum(1 for e in plain if e[0] == leaf) == 3  # x*x has two edges from x
    drawn = edges(render(t, "torchviz", collapse=("z",)).svg)
    assert drawn.count((leaf, "box-z")) == 1


def test_names_that_are_not_lines_draw_the_usual_picture():
    t = trace(parse(NEURON), AT)
    usual = render(t, "torchviz")
    odd = render(t, "torchviz", collapse=("q", "line-h", "<b>", ""))
    assert odd.collapsed == () and odd.dot == usual.dot
    single = trace(parse("x**2 + 1"), {"x": 2.0})
    assert render(single, "annotated", collapse=("y",)).dot == render(single, "annotated").dot


# The DOT of the neuron without collapse, since each cluster sits in an anonymous subgraph
# (dot._clusters): nothing collapsed draws it byte for byte.
UNCHANGED = {
    "torchviz": "08f450ba05d9a6c68fd966670114f9b53015b795a975179580ad746a451dead4",
    "annotated": "e35e29de140297bb65a3d8da8af4ac4f227f8a4d91ce1542b775627df85c096f",
}


@pytest.mark.parametrize("view", ["torchviz", "annotated"])
def test_the_picture_without_collapse_is_the_one_drawn_before(view):
    import hashlib

    t = trace(parse(NEURON), AT)
    picture = render(t, view)
    assert hashlib.sha256(picture.dot.encode()).hexdigest() == UNCHANGED[view]
    assert render(t, view, collapse=()).svg == picture.svg
