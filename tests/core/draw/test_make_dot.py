"""core.draw.make_dot: torchviz's make_dot, line for line, without graphviz's Digraph."""

from __future__ import annotations

import re

import pytest
import torch
import torchviz

import autograd_playground.core.draw.dot
from autograd_playground.core.draw import render
from autograd_playground.core.draw.make_dot import Line, make_dot, written
from autograd_playground.core.pipeline import compute, compute_tensor
from tests.core.draw.corpus import CORPUS
from tests.core.trace.tensors import Cube, mlp


def torchviz_source(y: object, params: dict | None = None) -> str:
    return torchviz.make_dot(y, params=params).source


def ours(y: object, params: dict | None = None) -> str:
    header, body = make_dot(y, params)  # type: ignore[arg-type]
    return header + "".join(map(written, body)) + "}\n"


def tensors() -> dict[str, tuple[object, dict]]:
    """Graphs the notebook draws, beyond what a typed function makes."""
    x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    w = torch.tensor(2.0, requires_grad=True)
    model = mlp()
    named = dict(model.named_parameters())
    a = torch.tensor(1.5, requires_grad=True)
    big = torch.zeros(3, requires_grad=True)
    deep = big
    for _ in range(120):  # more lines than the 12 x 12 inches torchviz starts from
        deep = deep * 1.01 + w
    return {
        "a model, parameters named 0.weight": (model(torch.ones(4, 2)).sum(), named),
        "a custom Function's saved tensor": (Cube.apply(a) + a, {"a": a}),
        "a view of the output": ((x * w).view(3, 1), {"x": x, "w": w}),
        "an unnamed leaf": ((x * 2).sum() * w, {"w": w}),
        "a tuple of outputs": ((x.sum(), (x * w).sum()), {"x": x}),
        "a deep graph": (deep.sum(), {"w": w, "big": big}),
        "a name to quote": (x.sum() * w, {'we"ird\\': w, "graph": x}),
    }


@pytest.mark.parametrize("label", list(tensors()))
def test_the_lines_are_torchviz_own(label: str) -> None:
    y, params = tensors()[label]
    assert ours(y, params) == torchviz_source(y, params)


def test_a_graph_deeper_than_python_recursion_is_drawn() -> None:
    """torchviz recurses once per node (pytorchviz issue #57); the walk keeps its own stack."""
    import inspect
    import sys

    x = torch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(400):
        y = y * 1.001
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 200)
    try:
        with pytest.raises(RecursionError):
            torchviz_source(y, {"x": x})
        header, body = make_dot(y, {"x": x})
    finally:
        sys.setrecursionlimit(old)
    # into each of the 400 products, from the leaf to its accumulator, into the output
    assert sum(head is not None for _, head, _ in body) == 402


_EDGE = re.compile(r"^\t(\d+) -> (\d+)(.*)$", re.DOTALL)
_NODE = re.compile(r"^\t(\d+) \[(.*)$", re.DOTALL)


def parts(line: str) -> Line:
    """A line of torchviz's body read back as make_dot.py gives it."""
    if m := _EDGE.match(line):
        return int(m[1]), int(m[2]), m[3]
    m = _NODE.match(line)
    assert m is not None, line
    return int(m[1]), None, m[2]


@pytest.fixture
def with_torchviz(monkeypatch: pytest.MonkeyPatch):
    """The pipeline with torchviz's own make_dot in place of ours."""

    def theirs(y: object, params: dict | None = None) -> tuple[str, list[Line]]:
        dot = torchviz.make_dot(y, params=params)
        return "".join(dot.source.splitlines(keepends=True)[:3]), [parts(line) for line in dot.body]

    def swap() -> None:
        monkeypatch.setattr(autograd_playground.core.draw.dot, "make_dot", theirs)

    return swap


@pytest.mark.parametrize("entry", CORPUS, ids=lambda e: e[0])
@pytest.mark.parametrize("view", ["torchviz", "annotated"])
def test_the_pipeline_answers_as_with_torchviz(entry: tuple, view: str, with_torchviz) -> None:
    _, text, values, grads, collapse = entry
    render.drawn.cache_clear()
    autograd_playground.core.draw.dot._DOT_MEMORY.clear()
    new = compute(text, values, grads, view=view, collapse=collapse)
    with_torchviz()
    render.drawn.cache_clear()
    autograd_playground.core.draw.dot._DOT_MEMORY.clear()
    old = compute(text, values, grads, view=view, collapse=collapse)
    assert new == old


@pytest.mark.parametrize("label", [k for k, (y, _) in tensors().items() if not isinstance(y, tuple)])
def test_the_notebook_answers_as_with_torchviz(label: str, with_torchviz) -> None:
    y, params = tensors()[label]
    assert isinstance(y, torch.Tensor)
    seed = torch.ones_like(y)
    render.drawn.cache_clear()
    autograd_playground.core.draw.dot._DOT_MEMORY.clear()
    new = compute_tensor(y, params, seed)
    with_torchviz()
    render.drawn.cache_clear()
    autograd_playground.core.draw.dot._DOT_MEMORY.clear()
    y, params = tensors()[label]  # a graph's backward runs once
    assert compute_tensor(y, params, torch.ones_like(y)) == new
