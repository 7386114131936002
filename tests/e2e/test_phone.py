"""The stage on a phone: a graph pane of half the screen, zoom buttons beside the
drawing and never over a node, Play apart from Next.

Promised: the graph pane (#graph) at least 45 % of the screen's height; no zoom
button over any part of a node that is drawn; Play at least 24 px from Next,
with the step buttons on one row. Asked with a margin: 48 % of the height. A
node that the pan moved out of the pane is clipped by it and not seen, so a
node's box counts only where it lies inside the pane.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Page, expect

from .conftest import LESSON, Problems, next_frame
from .test_embed import assert_no_problems

pytestmark = pytest.mark.e2e

PHONES = [(375, 740), (360, 640)]  # an iPhone SE-sized screen, a small Android phone
GRAPH_SHARE = 0.48  # of the screen's height; the promise is 45 %
APART_PX = 24  # Play from Next
PROGRAM = "a = x * y\nb = a + x\nloss = b ** 2"
CASES = {
    "lesson": {"expr": LESSON, "x": "2"},
    "program": {"expr": PROGRAM, "x": "3", "y": "-1"},
}

# What the stage looks like now, in the viewport's coordinates.
LOOK = """() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  };
  const pane = box(document.querySelector('#graph'));
  const drawn = [...document.querySelectorAll('#graph g.node')].map((g) => {
    const b = box(g);
    return {id: g.id, left: Math.max(b.left, pane.left), right: Math.min(b.right, pane.right),
            top: Math.max(b.top, pane.top), bottom: Math.min(b.bottom, pane.bottom)};
  }).filter((b) => b.left < b.right && b.top < b.bottom);
  const zoom = [...document.querySelectorAll('.zoom-controls button')]
    .filter((b) => b.checkVisibility({visibilityProperty: true}))
    .map((b) => ({name: b.dataset.zoom || b.dataset.download, ...box(b)}));
  const steps = [...document.querySelectorAll('#stepper .step-controls > a, #stepper .step-controls > button')]
    .map((el) => ({name: el.dataset.testid, ...box(el)}));
  return {pane, drawn, zoom, steps, height: window.innerHeight,
          scrollWidth: document.documentElement.scrollWidth};
}"""


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def gap(a: dict, b: dict) -> float:
    """The distance between two boxes (0 if they touch or overlap)."""
    dx = max(b["left"] - a["right"], a["left"] - b["right"], 0)
    dy = max(b["top"] - a["bottom"], a["top"] - b["bottom"], 0)
    return (dx * dx + dy * dy) ** 0.5


def assert_phone_stage(seen: dict, step: int, width: int) -> None:
    pane = seen["pane"]
    assert pane["bottom"] - pane["top"] >= GRAPH_SHARE * seen["height"], f"step {step}: graph pane {pane}"
    assert seen["drawn"], f"step {step}: no node drawn in the pane"
    assert seen["zoom"], f"step {step}: no zoom buttons"
    covered = [(n["id"], z["name"]) for n in seen["drawn"] for z in seen["zoom"] if overlaps(n, z)]
    assert covered == [], f"step {step}: zoom buttons over nodes {covered}"
    steps = {s["name"]: s for s in seen["steps"]}
    assert gap(steps["step-play"], steps["step-next"]) >= APART_PX, f"step {step}: {steps}"
    tops = {round(s["top"]) for s in seen["steps"]}
    assert len(tops) == 1, f"step {step}: the step buttons on {len(tops)} rows: {seen['steps']}"
    assert seen["scrollWidth"] <= width


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("size", PHONES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_step_on_a_phone_keeps_the_graph_big_and_uncovered(
    size, case, new_page, base_url: str, problems: Problems
):
    width, height = size
    page: Page = new_page(viewport={"width": width, "height": height}, locale="en-US",
                          is_mobile=True, has_touch=True)
    page.goto(f"{base_url}/?" + urlencode(CASES[case], quote_via=quote))
    page.locator("#stage").scroll_into_view_if_needed()
    total = int(page.locator("#stepper").get_attribute("data-total") or 0)
    assert total >= 5
    counter = page.get_by_test_id("step-counter")
    for k in range(total + 1):
        if k:
            page.get_by_test_id("step-next").click()
            expect(counter).to_contain_text(f"{k} ")
        next_frame(page)
        assert_phone_stage(page.evaluate(LOOK), k, width)
    assert_no_problems(problems)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_overview_button_on_a_phone_is_an_icon_with_its_name(lang, new_page, base_url: str):
    page: Page = new_page(viewport={"width": 375, "height": 740}, locale="en-US")
    page.goto(f"{base_url}/?" + urlencode({"expr": LESSON, "x": "2", "step": "3", "lang": lang},
                                          quote_via=quote))
    button = page.get_by_test_id("zoom-overview")
    names = {"en": ("Whole graph", "Follow the step"), "de": ("Ganzer Graph", "Dem Schritt folgen")}[lang]
    # Its name is read out; what shows is the icon of what a press does.
    for _ in range(2):
        showing = button.get_attribute("data-showing")
        icons = button.locator("svg.icon:visible")
        expect(icons).to_have_count(1)
        expect(icons).to_have_class(f"icon icon-{showing}")
        expect(button).to_have_accessible_name(names[0] if showing == "whole" else names[1])
        words = button.locator(".label").bounding_box()
        assert words is not None and words["width"] <= 1, words  # for screen readers only
        button.click()
        expect(button).not_to_have_attribute("data-showing", showing)
