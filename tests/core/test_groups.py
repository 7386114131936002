"""A program's lines drawn as labelled groups (Graphviz clusters), in both views."""

from __future__ import annotations

import re

import pytest

from app.core.expr import parse
from app.core.graph import trace
from app.core.render import render

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
