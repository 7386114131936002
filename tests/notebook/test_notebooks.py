"""Real notebooks, executed with nbclient on a kernel of this environment, and their outputs.

Each case is a cell of tests/notebook/notebooks.py; oracles are PyTorch's own
numbers from an independent backward, or worked by hand.
"""

from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from .conftest import html_of, printed, svg_in


def soup(nb, case: str) -> BeautifulSoup:
    return BeautifulSoup(html_of(nb, case), "html.parser")


def test_the_lesson_shows_72_and_leaves_grad_alone(executed) -> None:
    page = soup(executed, "lesson")
    assert page.select_one('[data-testid="gradients"]').get_text(strip=True) == "x.grad = 72"
    rows = page.select('[data-testid="step-table"] tr.step')
    assert rows and "72" in rows[-1].select_one('[data-testid="leaf-sum"]').get_text()
    checked = printed(executed, "lesson-after")
    assert checked["gradients"] == {"x": 72.0}
    assert checked["after_show"] is None  # show() ran autograd.grad: no .grad written
    assert checked["after_backward"] == 72.0  # not 144: nothing accumulated before
    # After the user's own backward() the saved tensors are gone: a sentence says what to do.
    assert "Call show(y) before y.backward()" in checked["freed"]


def test_an_mlp_has_its_named_parameter_table(executed) -> None:
    table = soup(executed, "mlp").select_one('[data-testid="param-table"]')
    names = [th.get_text(strip=True) for th in table.select("tbody th")]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    shapes = [tr.select("td")[0].get_text(strip=True) for tr in table.select("tbody tr")]
    assert shapes == ["4×3", "4", "1×4", "1"]
    checked = printed(executed, "mlp-check")
    assert max(checked["errors"].values()) < 1e-6, checked["errors"]
    assert checked["untouched"]


def test_a_custom_function_is_marked_pytorchs_numbers(executed) -> None:
    page = soup(executed, "function")
    marked = page.select('tr.step:has([data-testid="pytorch-numbers"])')
    assert marked, "the custom Function's step"
    assert any("Cube" in row.select_one("th").get_text() for row in marked)
    assert all(not row.select('[data-testid="check"]') for row in marked)
    # d(2·a³)/da = 6·a² = 13.5 at a = 1.5
    assert printed(executed, "function-check")["a"] == pytest.approx(13.5)


def test_a_vector_takes_grad_outputs_or_is_refused(executed) -> None:
    checked = printed(executed, "vector-check")
    assert checked["v"] == pytest.approx([2.0, 2.0, 12.0])  # 2·v·grad_outputs
    assert "grad can be implicitly created only for scalar outputs" in checked["refusal"]
    assert svg_in(soup(executed, "vector").select_one('[data-testid="graph"]')).select("g.node")


def test_past_the_node_limit_no_picture_and_the_gradients_listed(executed) -> None:
    page = soup(executed, "big")
    assert not page.select("svg, img")
    assert "more than the 200 that can be drawn" in page.select_one('[data-testid="too-big"]').get_text()
    checked = printed(executed, "big-check")
    assert checked["svg"] is None
    assert checked["t"] == pytest.approx(checked["oracle"])
    assert page.select_one('[data-testid="gradients"]').get_text(strip=True).startswith("t.grad = ")


def test_two_outputs_have_their_own_ids(executed) -> None:
    prefixes = {soup(executed, case).select_one('[data-testid="notebook-output"]')["data-prefix"]
                for case in ("lesson", "second", "mlp", "modules", "function", "vector", "big")}
    assert len(prefixes) == 7


def test_captured_modules_are_groups_drawn_both_ways(executed) -> None:
    page = soup(executed, "modules")
    groups = [code.get_text() for code in page.select('[data-testid="module-groups"] code')]
    assert groups == ["0", "1", "2"]
    expanded = svg_in(page.select_one('.graph-canvas[data-view="torchviz"]'))
    assert sorted(g["id"].split("-t-")[1] for g in expanded.select("g.cluster")) == ["line-0", "line-1", "line-2"]
    collapsed = page.select_one('.graph-canvas[data-view="collapsed"]')
    boxes = json.loads(collapsed["data-boxes"])
    assert set(boxes.values()) == {"box-0", "box-1", "box-2"}
    drawn = {g["id"].split("-c-")[1] for g in svg_in(collapsed).select("g.node")}
    assert set(boxes.values()) <= drawn and not set(boxes) & drawn
