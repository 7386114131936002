"""The output's HTML, read through selectors: what a notebook cell shows for a result.

Built from a typed function's result (pipeline.compute), which has the same form
as a tensor's; tests/notebook/test_notebooks.py runs show() on real tensors.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from autograd_playground.core.pipeline import compute
from autograd_playground.notebook.show import Shown, shown
from autograd_playground.notebook.view import Pictures, new_prefix

from .conftest import svg_in

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"


@pytest.fixture(scope="module")
def lesson() -> tuple[dict, str]:
    data = compute(LESSON, {"x": 2})
    return data, compute(LESSON, {"x": 2}, view="annotated")["svg"]


def pictured(lesson: tuple[dict, str]) -> tuple[dict, Pictures]:
    return lesson[0], Pictures(lesson[0]["svg"], lesson[1])


def soup_of(out: Shown) -> BeautifulSoup:
    return BeautifulSoup(out._repr_html_(), "html.parser")


def test_the_lesson_reads_72_and_steps_in_the_engines_order(lesson: tuple[dict, str]) -> None:
    out = shown(*pictured(lesson))
    soup = soup_of(out)
    assert soup.select_one('[data-testid="gradients"]').get_text(" ", strip=True) == "x.grad = 72"
    rows = soup.select('[data-testid="step-table"] tbody tr.step')
    assert [r["data-node"] for r in rows] == [s.node for s in out.result.steps]
    assert len(rows) == 9
    leaf = rows[-1]
    assert leaf.select_one('[data-testid="leaf-sum"]').get_text(strip=True) == "60 + 8 + 4 = 72"
    # Each step lights its node and marks the ones before it done.
    assert rows[2]["data-done"].split() == [s.node for s in out.result.steps[:2]]
    assert len(rows[0].select('[data-testid="check"]')) == 1  # rule with ✓ where known


def test_every_id_is_prefixed_and_two_outputs_share_none(lesson: tuple[dict, str]) -> None:
    first, second = soup_of(shown(*pictured(lesson))), soup_of(shown(*pictured(lesson)))
    ids = [{tag["id"] for tag in s.select("[id]")} for s in (first, second)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    for soup, found in zip((first, second), ids, strict=True):
        prefix = soup.select_one('[data-testid="notebook-output"]')["data-prefix"]
        assert all(i.startswith(prefix) for i in found), found
        # The picture's node ids too: n0 of the graph is <prefix>t-n0 and <prefix>a-n0.
        drawn = {tag["id"] for canvas in soup.select(".graph-canvas") for tag in svg_in(canvas).select("[id]")}
        assert drawn and all(i.startswith(prefix) for i in drawn)
        assert f"{prefix}t-n0" in drawn and f"{prefix}a-n0" in drawn
        style = soup.select_one("style").string
        selectors = [rule.split("{")[0] for rule in style.split("}") if "{" in rule]
        scoped = [s for s in selectors if not s.strip().startswith("@")]
        assert scoped and all(f"#{prefix}root" in s for s in scoped), scoped


def test_nothing_is_fetched(lesson: tuple[dict, str]) -> None:
    html = shown(*pictured(lesson)).html
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.select("link, [href], iframe, object, embed")
    assert all(tag.name == "img" and tag["src"].startswith("data:image/svg+xml;base64,")
               for tag in soup.select("[src]"))
    assert "url(" not in html and "@import" not in html and "fetch(" not in html


def test_the_picture_and_the_table_are_there_without_the_script(lesson: tuple[dict, str]) -> None:
    soup = soup_of(shown(*pictured(lesson)))
    for script in soup.select("script"):
        script.decompose()
    # The picture is an <img> of the SVG: a notebook that sanitizes output keeps it.
    assert svg_in(soup.select_one('[data-testid="graph"]')).select_one("g.node")
    table = soup.select_one('[data-testid="step-table"]')
    assert table.name == "table" and not table.has_attr("hidden")
    assert "72" in table.get_text()


def test_german_reuses_the_pages_words_and_has_its_own(lesson: tuple[dict, str]) -> None:
    soup = soup_of(shown(*pictured(lesson), lang="de"))
    text = soup.get_text(" ")
    assert "Rückwärtsdurchlauf, Schritt für Schritt" in text  # the page's catalogue
    assert "würde diese Summe in x.grad speichern" in text  # the notebook's own
    assert "Backward pass" not in text


def test_a_step_without_a_formula_says_pytorchs_numbers(lesson: tuple[dict, str]) -> None:
    data = dict(lesson[0])
    data["steps"] = [dict(s, rules=[]) if s["name"] == "MulBackward0" else s for s in data["steps"]]
    soup = soup_of(shown(data, Pictures(data["svg"], lesson[1])))
    marked = soup.select('tr.step:has([data-testid="pytorch-numbers"])')
    assert [r["data-node"] for r in marked] == [s["node"] for s in data["steps"] if s["name"] == "MulBackward0"]
    assert all("PyTorch's numbers, no formula shown" in r.get_text() for r in marked)
    assert not any(r.select('[data-testid="check"]') for r in marked)


def test_past_the_node_limit_no_picture_and_the_gradients_listed(lesson: tuple[dict, str]) -> None:
    data = dict(lesson[0], svg=None, dot=None, too_big={"count": 250, "limit": 200})
    soup = soup_of(shown(data, Pictures(None)))
    assert not soup.select("svg, img")
    assert "250 nodes, more than the 200" in soup.select_one('[data-testid="too-big"]').get_text()
    assert soup.select_one('[data-testid="gradients"]').get_text(strip=True) == "x.grad = 72"


def test_prefixes_are_plain_words() -> None:
    assert re.fullmatch(r"agp[0-9a-f]{10}-", new_prefix())
