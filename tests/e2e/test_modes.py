"""The modes control in a real browser: each mode clicked from the playground changes the
address (written as the server writes it, * as %2A), the share link and what is on the
first screen; the form keeps the mode for the next Compute.

The lesson: 5*x**3 + 2*x**2 + 4*x + 8 at x = 2; by hand dy/dx = 15x² + 4x + 4 = 72,
d²y/dx² = 30x + 4 = 64; a second backward() without zeroing leaves x.grad = 144. At x = 3,
dy/dx = 135 + 12 + 4 = 151, so 302 after the second backward().
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import Problems
from .test_embed import assert_no_problems
from .test_urls import assert_written_as_the_server_writes

pytestmark = pytest.mark.e2e

MODE_PARAMS = {"exercise", "order", "accumulate"}
PHONE = {"width": 375, "height": 740}


def modes_in(url: str) -> dict[str, list[str]]:
    return {k: v for k, v in parse_qs(urlsplit(url).query).items() if k in MODE_PARAMS}


def above_the_fold(page: Page, element: Locator) -> None:
    """``element`` is seen on the first screen: inside the viewport without scrolling."""
    box = element.bounding_box()
    height = page.viewport_size["height"]
    assert box is not None and page.evaluate("window.scrollY") == 0
    assert box["y"] >= 0 and box["y"] + box["height"] <= height - 16, (box, height)


def click_mode(page: Page, name: str) -> None:
    page.get_by_test_id(f"mode-{name}").click()
    expect(page.get_by_test_id(f"mode-{name}")).to_have_attribute("aria-current", "true")


def share_link(page: Page) -> str:
    return page.get_by_test_id("share-link").input_value()


def test_each_mode_is_clicked_from_the_playground(page: Page, link, problems: Problems):
    page.goto(link(x=2))
    expect(page.get_by_test_id("mode-walk")).to_have_attribute("aria-current", "true")

    click_mode(page, "accumulate")
    expect(page).to_have_url(re.compile(r"accumulate=1"))
    assert modes_in(page.url) == {"accumulate": ["1"]}
    assert_written_as_the_server_writes(page.url)
    assert_written_as_the_server_writes(share_link(page))
    assert modes_in(share_link(page)) == {"accumulate": ["1"]}
    twice = page.get_by_test_id("gradient-twice-x")
    expect(twice).to_contain_text("x.grad = 144")
    above_the_fold(page, twice)
    expect(page.locator("#code")).to_contain_text("y.backward()  # no zero_grad()")
    expect(page.get_by_test_id("accumulated-value-x")).to_have_text("144")  # the panel too
    expect(page.get_by_test_id("mode-walk")).not_to_have_attribute("aria-current", "true")

    click_mode(page, "order")
    expect(page).to_have_url(re.compile(r"order=2"))
    assert modes_in(page.url) == {"order": ["2"]}
    assert modes_in(share_link(page)) == {"order": ["2"]}
    line = page.get_by_test_id("output-second")
    expect(page.get_by_test_id("output-second-x")).to_have_text("64")
    above_the_fold(page, line)
    expect(page.get_by_test_id("gradient-twice-x")).to_have_count(0)
    expect(page.get_by_test_id("second-x")).to_have_text("64")  # the panel, loaded after
    line.get_by_role("link").click()
    expect(page.locator("#second-heading")).to_be_in_viewport()

    page.evaluate("window.scrollTo(0, 0)")
    click_mode(page, "exercise")
    expect(page).to_have_url(re.compile(r"exercise=1"))
    assert modes_in(page.url) == {"exercise": ["1"]}
    assert_written_as_the_server_writes(page.url)
    expect(page.get_by_test_id("exercise-intro")).to_be_visible()
    expect(page.get_by_test_id("output-second")).to_have_count(0)

    click_mode(page, "walk")
    assert modes_in(page.url) == {} and modes_in(share_link(page)) == {}
    expect(page.get_by_test_id("exercise-intro")).to_have_count(0)
    page.go_back()  # the history has each mode
    expect(page.get_by_test_id("mode-exercise")).to_have_attribute("aria-current", "true")
    assert_no_problems(problems)


def test_the_form_keeps_the_mode_for_the_next_compute(page: Page, link, problems: Problems):
    page.goto(link(x=2))
    click_mode(page, "accumulate")
    page.get_by_test_id("value-x").fill("3")
    page.get_by_test_id("compute").click()
    expect(page.get_by_test_id("gradient-twice-x")).to_contain_text("x.grad = 302")
    expect(page).to_have_url(re.compile(r"accumulate=1"))
    assert parse_qs(urlsplit(page.url).query)["x"] == ["3"]
    assert_no_problems(problems)


def test_an_exercise_computes_again_with_the_students_own_value(page: Page, link,
                                                                 problems: Problems):
    # The Compute of an exercise asks for the result block alone; it was a 500.
    page.goto(link(x=2))
    click_mode(page, "exercise")
    page.get_by_test_id("value-x").fill("3")
    page.get_by_test_id("compute").click()
    expect(page).to_have_url(re.compile(r"[?&]x=3(&|$)"))
    expect(page.get_by_test_id("exercise-intro")).to_be_visible()
    expect(page.locator("[data-exercise] li.step.backward").first).to_be_attached()
    expect(page.get_by_test_id("error")).to_have_count(0)
    assert modes_in(page.url) == {"exercise": ["1"]}
    assert_no_problems(problems)


def test_a_mode_is_chosen_with_the_keyboard(page: Page, link, problems: Problems):
    page.goto(link(x=2))
    page.get_by_test_id("compute").focus()
    for _ in range(3):  # Compute, then the modes in order: walk, exercise, order
        page.keyboard.press("Tab")
    expect(page.get_by_test_id("mode-order")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("mode-order")).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("output-second-x")).to_have_text("64")
    expect(page.get_by_test_id("mode-order")).to_be_focused()  # the swap keeps the focus
    assert_no_problems(problems)


def test_the_modes_fit_a_phone_in_german(new_page, link, problems: Problems):
    page = new_page(viewport=PHONE, locale="de-DE", is_mobile=True, has_touch=True)
    page.goto(link(x=2, lang="de", accumulate=1))
    control = page.get_by_test_id("modes")
    expect(control).to_contain_text("Aufsummieren")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    width = control.bounding_box()["width"]
    for item in control.locator("a").all():
        box = item.bounding_box()
        assert box["height"] >= 38 and box["width"] <= width, box  # 36 px for a finger
    page.get_by_test_id("mode-walk").tap()
    expect(page.get_by_test_id("mode-walk")).to_have_attribute("aria-current", "true")
    assert modes_in(page.url) == {}
    assert_no_problems(problems)
