"""Presenter mode (?present=1) on a projector: the whole function, labels for the
back row, and nothing but the function, the graph and the step.

Promised: labels at least 14 px high; asked: each label's text box at least
16 px high. At 1280x720 the whole graph would draw them smaller, so the graph
follows the step zoomed in; at 1920x1080 it is shown whole. A 20-term
polynomial is followed in the same way, at the same label size.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Page, expect

from .conftest import LESSON, Problems, next_frame
from .test_embed import assert_no_problems

pytestmark = pytest.mark.e2e

PROJECTORS = [(1280, 720), (1920, 1080)]
LABEL_PX = 16  # a label's text box; the promise is 14 px
POLY20 = " + ".join(f"{k}*x**{21 - k}" for k in range(1, 21))
SHOWN = {"function", "values", "graph", "step buttons", "step"}

# Every element that shows something (its own text, a control, an icon), named
# by the part of the page it belongs to; "other: ..." for any outside them.
PARTS = """() => {
  const parts = [
    ['function', '.function-field'],
    ['values', '#fields .var-name, #fields input[type=text]'],
    ['graph', '#graph'],
    ['step buttons', '#stepper > .step-controls'],
    ['step', '#stepper [data-testid=step-explanation]'],
  ];
  const seen = (el) => {
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) return false;
    const r = el.getBoundingClientRect();
    return r.width >= 2 && r.height >= 2 && r.right > 0 && r.bottom > 0
      && r.left < window.innerWidth && r.top < window.innerHeight;
  };
  const shows = (el) => el.matches('input, textarea, select, button, a, svg, img')
    || [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  const found = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    if (!shows(el) || !seen(el)) continue;
    const part = parts.find(([, where]) => el.closest(where));
    const name = el.dataset.testid || el.id || el.className.baseVal || el.className || '';
    found.add(part ? part[0] : `other: ${el.tagName.toLowerCase()} ${name} "${el.textContent.trim().slice(0, 30)}"`);
  }
  return [...found].sort();
}"""

# The lit node, the step, and the smallest label drawn in the graph's pane.
LOOK = """() => {
  const box = (el) => {
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  };
  const pane = box(document.querySelector('#graph'));
  const inside = (b) => b.left >= pane.left && b.right <= pane.right
    && b.top >= pane.top && b.bottom <= pane.bottom;
  const labels = [...document.querySelectorAll('#graph g.node text')]
    .map(box).filter(inside).map((b) => b.bottom - b.top);
  return {
    node: box(document.querySelector('#graph g.node.current')),
    step: box(document.querySelector('[data-testid=step-explanation]:not([hidden])')),
    pane, label: labels.length ? Math.min(...labels) : 0, labels: labels.length,
    width: window.innerWidth, height: window.innerHeight,
  };
}"""


def presenter(base_url: str, expr: str = LESSON, **params: str) -> str:
    return f"{base_url}/?" + urlencode({"expr": expr, "x": "2", "present": "1", **params},
                                       quote_via=quote)


def assert_in_view(seen: dict, step: int, *, node: bool = True) -> None:
    view = {"left": 0, "top": 0, "right": seen["width"], "bottom": seen["height"]}
    wanted = {"step": seen["step"]}
    if node:
        wanted["node"] = seen["node"]
    for part, box in wanted.items():
        assert box is not None, f"step {step}: no {part}"
        assert (box["left"] >= view["left"] - 1 and box["top"] >= view["top"] - 1
                and box["right"] <= view["right"] + 1 and box["bottom"] <= view["bottom"] + 1), \
            f"step {step}: the {part} at {box} is outside {seen['width']}x{seen['height']}"
    assert seen["labels"] > 0, f"step {step}: no label in the graph's pane"
    assert seen["label"] >= LABEL_PX, f"step {step}: labels {seen['label']:.1f} px high"


@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize("size", PROJECTORS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_projector_shows_the_whole_function_the_graph_and_the_step_only(
    size, lang, new_page, base_url: str, problems: Problems
):
    width, height = size
    page: Page = new_page(viewport={"width": width, "height": height}, locale="en-US")
    page.goto(presenter(base_url, lang=lang))
    expect(page.get_by_test_id("step-explanation")).to_be_visible()
    page.mouse.move(width / 2, 2)  # over the function's band, off the graph
    for field in ("expr", "value-x"):
        fits = page.get_by_test_id(field).evaluate("el => el.scrollWidth <= el.clientWidth")
        assert fits, f"the {field} field cuts its text"
    assert page.get_by_test_id("expr").input_value() == LESSON
    next_frame(page)
    assert page.evaluate(PARTS) == sorted(SHOWN)
    assert_no_problems(problems)


@pytest.mark.parametrize("size", PROJECTORS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_step_keeps_the_lit_node_and_big_labels_on_the_projector(
    size, new_page, base_url: str, problems: Problems
):
    width, height = size
    page: Page = new_page(viewport={"width": width, "height": height}, locale="en-US")
    page.goto(presenter(base_url))
    total = int(page.locator("#stepper").get_attribute("data-total") or 0)
    assert total == 9
    counter = page.get_by_test_id("step-counter")
    next_frame(page)
    assert_in_view(page.evaluate(LOOK), 0, node=False)
    for k in range(1, total + 1):
        page.get_by_test_id("step-next").click()
        expect(counter).to_contain_text(f"{k} ")
        next_frame(page)
        assert_in_view(page.evaluate(LOOK), k)
    assert_no_problems(problems)


def test_a_20_term_polynomial_is_followed_with_big_labels(new_page, base_url: str):
    page: Page = new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
    for start in (19, 44):
        page.goto(presenter(base_url, POLY20, x="1.1", step=str(start)))
        page.get_by_test_id("step-next").click()
        expect(page.get_by_test_id("step-counter")).to_contain_text(f"{start + 1} ")
        next_frame(page)
        assert_in_view(page.evaluate(LOOK), start + 1)


def test_the_zoom_buttons_show_while_the_pointer_is_on_the_graph(new_page, base_url: str):
    page: Page = new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
    page.goto(presenter(base_url))
    zoom_in = page.locator("[data-zoom=in]")
    page.mouse.move(640, 2)
    expect(zoom_in).to_be_hidden()
    graph = page.get_by_test_id("graph").bounding_box()
    assert graph is not None
    page.mouse.move(graph["x"] + graph["width"] / 2, graph["y"] + graph["height"] / 2)
    expect(zoom_in).to_be_visible()
    # Beside the drawing, not over it.
    button = zoom_in.bounding_box()
    assert button is not None and button["x"] >= graph["x"] + graph["width"], (button, graph)


def test_the_way_out_shows_when_the_keyboard_reaches_it(new_page, base_url: str):
    page: Page = new_page(viewport={"width": 1280, "height": 720}, locale="en-US")
    page.goto(presenter(base_url))
    leave = page.get_by_test_id("present-toggle")
    assert leave.evaluate("el => getComputedStyle(el).opacity") == "0"
    for _ in range(3):  # the skip link, then the way out
        page.keyboard.press("Tab")
        if leave.evaluate("el => el === document.activeElement"):
            break
    assert leave.evaluate("el => el === document.activeElement")
    expect(leave).to_have_text("Leave presenter mode")
    assert leave.evaluate("el => getComputedStyle(el).opacity") == "1"
