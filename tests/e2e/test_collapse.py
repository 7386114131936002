"""Collapsing a program's line in the browser: the box, stepping through it, opening it again."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Page, expect

from .conftest import Problems
from .test_embed import assert_no_problems, static_site

pytestmark = pytest.mark.e2e

NEURON = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
VALUES = {"w": "0.5", "x": "1.5", "b": "0.1", "t": "1"}
WORDS = {
    "en": {"collapse": "Collapse h", "expand": "Expand h",
           "inside": "This step runs inside the collapsed line h = tanh(z)."},
    "de": {"collapse": "h zuklappen", "expand": "h aufklappen",
           "inside": "Dieser Schritt läuft in der zugeklappten Zeile h = tanh(z)."},
}


def neuron(base_url: str, path: str = "/", **params: str) -> str:
    return f"{base_url}{path}?" + urlencode({"expr": NEURON, **VALUES, **params}, quote_via=quote)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_collapse_h_step_into_its_box_and_expand_it(
    lang, new_page, base_url: str, problems: Problems, screenshot
):
    words = WORDS[lang]
    page: Page = new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
    page.goto(neuron(base_url, lang=lang))
    tanh = page.locator("#graph g.node", has_text="TanhBackward0")
    expect(tanh).to_have_count(1)
    page.locator("[data-testid=lines-menu] > summary").click()
    toggle = page.get_by_test_id("line-toggle-h")
    expect(toggle).to_contain_text(words["collapse"])
    toggle.click()
    box = page.locator("#graph g#box-h")
    expect(box).to_be_visible()
    expect(box).to_contain_text("h = tanh(z)")
    expect(tanh).to_have_count(0)
    assert "collapse=h" in page.url
    screenshot(page, f"collapsed-{lang}")

    # Every step is still there; the ones inside h light the box and say so.
    total = int(page.get_by_test_id("step-counter").inner_text().split()[-1])
    assert total == 9
    inside = []
    for k in range(1, total + 1):
        page.get_by_test_id("step-next").click()
        explanation = page.get_by_test_id("step-explanation")
        note = explanation.get_by_test_id("boxed-note")
        if "current" in (box.get_attribute("class") or ""):
            inside.append(k)
            expect(note).to_contain_text(words["inside"])
            # The step's own edges into the box are lit, and the box is on screen.
            seen = box.bounding_box()
            assert seen and 0 <= seen["y"] and seen["y"] + seen["height"] <= 800
        else:
            expect(note).to_have_count(0)
    # The one step inside h: TanhBackward0's, where the engine runs it.
    k = int(page.locator("li.step.backward", has_text="TanhBackward0 ·").get_attribute("data-step"))
    assert inside == [k], inside
    # Step to h's step again, then open the line from the explanation.
    page.get_by_test_id("step-first").click()
    for _ in range(k):
        page.get_by_test_id("step-next").click()
    expect(box).to_have_class("node current")
    # Stepping in the browser keeps the menu's links at the step shown.
    for testid in ("line-toggle-h", "line-toggle-z"):
        for attr in ("href", "hx-get"):
            assert f"step={k}" in page.get_by_test_id(testid).get_attribute(attr)
    screenshot(page, f"inside-{lang}")
    page.get_by_test_id("step-explanation").get_by_test_id("expand-h").click()
    expect(tanh).to_have_count(1)
    expect(page.locator("#graph g#box-h")).to_have_count(0)
    # The step stays where it was: now the node itself is lit.
    expect(page.get_by_test_id("step-counter")).to_contain_text(f"{k} ")
    expect(tanh).to_have_class("node current")
    assert "collapse" not in page.url and f"step={k}" in page.url
    assert_no_problems(problems)


def test_a_700x450_frame_collapses_without_growing(new_page, base_url: str, problems: Problems):
    src = neuron(base_url, "/embed", readonly="1", hide="code,examples")
    host = f'<iframe id="frame" src="{src}" width="700" height="450" title="Playground"></iframe>'
    with static_site(host) as url:
        page = new_page(viewport={"width": 1000, "height": 700}, locale="en-US")
        page.goto(url)
        outer = page.frame_locator("#frame")
        expect(outer.get_by_test_id("step-explanation")).to_be_visible()
        frame = next(f for f in page.frames if "/embed" in f.url)
        # The menu sits on the view switch's row: it takes no room from the graph.
        rows = """() => ['.view-switch', '.lines-menu > summary'].map((s) => {
            const r = document.querySelector(s).getBoundingClientRect();
            return [Math.round(r.top), Math.round(r.bottom)]; })"""
        switch, menu = frame.evaluate(rows)
        assert menu[0] < switch[1] and switch[0] < menu[1], (switch, menu)
        outer.locator("[data-testid=lines-menu] > summary").click()
        # The menu's last entry can be reached inside the frame.
        last = outer.get_by_test_id("lines-collapse-all")
        last.scroll_into_view_if_needed()
        expect(last).to_be_in_viewport()
        outer.get_by_test_id("line-toggle-h").click()
        expect(outer.locator("#graph g#box-h")).to_be_visible()
        switch, menu = frame.evaluate(rows)
        assert menu[0] < switch[1] and switch[0] < menu[1], (switch, menu)
        k = int(outer.locator("li.step.backward", has_text="TanhBackward0 ·").get_attribute("data-step"))
        for _ in range(k):
            outer.get_by_test_id("step-next").click()
        expect(outer.locator("#graph g#box-h")).to_have_class("node current")
        expect(outer.get_by_test_id("boxed-note")).to_be_visible()
    assert_no_problems(problems)


@pytest.mark.parametrize("size", [(1280, 800), (375, 740)], ids=["desktop", "phone"])
def test_switching_the_view_keeps_the_stage_on_screen(size, new_page, base_url: str,
                                                      problems: Problems):
    width, height = size
    page: Page = new_page(viewport={"width": width, "height": height})
    page.goto(neuron(base_url, step="3"))
    page.get_by_test_id("step-next").click()  # the walk scrolls the stage into view
    tanh = page.locator("#graph g.node", has_text="TanhBackward0")
    expect(tanh).to_have_class("node current")
    page.get_by_test_id("view-annotated").click()
    expect(page.get_by_test_id("view-annotated")).to_have_attribute("aria-current", "true")
    expect(tanh).to_contain_text("h = tanh(z) = 0.691069")
    expect(tanh).to_have_class("node current")
    # Not thrown to the page's end: the stage's top is on screen, and so is the step.
    stage = page.locator("#stage").bounding_box()
    assert stage and 0 <= stage["y"] < height / 2, stage
    counter = page.get_by_test_id("step-counter").bounding_box()
    assert counter and 0 <= counter["y"] <= height, counter
    assert_no_problems(problems)


def test_a_keyboard_user_keeps_focus_on_the_view_switch(new_page, base_url: str,
                                                        problems: Problems):
    page: Page = new_page(viewport={"width": 1280, "height": 800})
    page.goto(neuron(base_url))
    page.get_by_test_id("view-annotated").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("view-annotated")).to_have_attribute("aria-current", "true")
    # The new switch has the focus, so Shift+Tab and Enter go back to torchviz.
    expect(page.get_by_test_id("view-annotated")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_test_id("view-torchviz")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("view-torchviz")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("view-torchviz")).to_be_focused()
    assert_no_problems(problems)


def test_a_keyboard_user_who_collapses_a_line_stays_at_the_lines_menu(
    new_page, base_url: str, problems: Problems
):
    page: Page = new_page(viewport={"width": 1280, "height": 800})
    page.goto(neuron(base_url))
    summary = page.locator("[data-testid=lines-menu] > summary")
    summary.focus()
    page.keyboard.press("Enter")  # opens the menu
    page.get_by_test_id("line-toggle-h").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#graph g#box-h")).to_be_visible()
    expect(summary).to_be_focused()
    # From there the menu opens again, and h expands the same way.
    page.keyboard.press("Enter")
    page.get_by_test_id("line-toggle-h").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#graph g#box-h")).to_have_count(0)
    expect(summary).to_be_focused()
    assert_no_problems(problems)
