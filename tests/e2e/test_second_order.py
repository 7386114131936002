"""Second order's walk in a real browser (issue 22): on a stage like the first order's,
the lit node and its explanation are on screen together at every step, on a desktop
(1280×800) and a phone (375×740), and the gradient's graph is drawn at the main graph's
scale, not blown up to the panel's width.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .test_calculus import no_problems

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}
# The promise: the second graph's labels within 1.5× of the main graph's; tested with a margin.
SCALE_MARGIN = 1.35
EDGE = 2  # px: a box counts as on screen when it is this far inside

# Where things are on screen now: the lit node, its pane, the step shown, the viewport.
BOXES = """() => {
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const step = document.querySelector("#second-stepper ol.steps > li:not([hidden])");
  const lit = document.querySelector("#second-graph g.node.current");
  return {
    node: lit && box(lit.querySelector("polygon, ellipse, path") || lit),
    pane: box(document.querySelector("#second-graph")),
    heading: box(step.querySelector("h3") || step),
    sentence: box(step.querySelector(".sentence") || step),
    view: {left: 0, top: 0, right: innerWidth, bottom: innerHeight},
  };
}"""


def inside(inner: dict, outer: dict, edge: float = EDGE) -> bool:
    return (inner["left"] >= outer["left"] - edge and inner["right"] <= outer["right"] + edge
            and inner["top"] >= outer["top"] - edge and inner["bottom"] <= outer["bottom"] + edge)


def open_walk(new_page, link, size: str) -> Page:
    phone = size == "phone"
    page = new_page(locale="en-US", viewport=SIZES[size], is_mobile=phone, has_touch=phone)
    page.goto(link(x=2, order=2))
    expect(page.get_by_test_id("second-x")).to_have_text("64", timeout=60_000)
    expect(page.locator("#second-graph svg.is-scaled")).to_have_count(1)
    return page


@pytest.mark.parametrize("size", list(SIZES))
def test_the_lit_node_and_its_step_are_on_screen_together_at_every_step(
    new_page, link, problems, size
):
    page = open_walk(new_page, link, size)
    stepper = page.locator("#second-stepper")
    total = int(stepper.get_attribute("data-total"))
    assert total == 9  # the lesson's gradient graph: 8 op nodes and x
    # As a user would: scroll the walk into view, then press Next through it.
    page.get_by_test_id("second-stage").evaluate("(s) => s.scrollIntoView({block: 'start'})")
    for k in range(1, total + 1):
        page.get_by_test_id("second-next").click()
        expect(stepper).to_have_attribute("data-step", str(k))
        expect(page.locator("#second-graph g.node.current")).to_have_count(1)
        boxes = page.evaluate(BOXES)
        where = f"step {k} at {size}: {boxes}"
        assert inside(boxes["node"], boxes["pane"]), where
        assert inside(boxes["node"], boxes["view"]), where
        assert inside(boxes["heading"], boxes["view"]), where
        assert boxes["sentence"]["top"] < boxes["view"]["bottom"] - 20, where  # it starts on screen
    no_problems(problems)


@pytest.mark.parametrize("size", list(SIZES))
def test_the_gradient_graph_is_drawn_at_the_main_graph_s_scale(new_page, link, problems, size):
    page = open_walk(new_page, link, size)
    heights = page.evaluate("""() => ["#graph", "#second-graph"].map((pane) =>
        document.querySelector(pane + " g.node text").getBoundingClientRect().height)""")
    main, second = heights
    assert main > 0 and second > 0
    assert 1 / SCALE_MARGIN <= second / main <= SCALE_MARGIN, heights
    no_problems(problems)


def test_each_step_shows_its_rule_and_the_second_derivative_its_formula(page: Page, link, problems):
    page.goto(link(x=2, order=2))
    expect(page.get_by_test_id("second-formula-x")).to_have_attribute(
        "data-text", "30*x + 4", timeout=60_000)
    expect(page.get_by_test_id("second-agree-x")).to_contain_text("✓")
    for _ in range(2):  # dy/dx = 15x² + 4x + 4, then its term 15x² = 5·(3x²)
        page.get_by_test_id("second-next").click()
    step = page.locator("#second-stepper ol.steps > li:not([hidden])")
    expect(step.get_by_test_id("second-local")).to_contain_text("∂(15*x**2)/∂(3*x**2) = 5")
    expect(step.get_by_test_id("second-chain")).to_contain_text("= 1 · 5 = 5")
    no_problems(problems)
