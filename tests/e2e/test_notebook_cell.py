"""The lesson's notebook cell pasted into the program's text area: the page computes the
lesson from it, says how it read the cell, and its share link gives the same page.

By hand: y = 5x³ + 2x² + 4x + 8 at x = 2 gives dy/dx = 15·4 + 4·2 + 4 = 72.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Problems
from .test_embed import assert_no_problems

pytestmark = pytest.mark.e2e

# As the lesson's notebook has it; pasted, a text area sends its lines with CRLF.
CELL = "\r\n".join([
    "import torch",
    "x = torch.tensor(2.0, requires_grad=True)",
    "y = 5*x**3 + 2*x**2 + 4*x + 8",
    "y.backward()",
    "print(x.grad)",
])


def expect_the_lesson(page: Page, title: str) -> None:
    expect(page.get_by_test_id("gradient-x")).to_have_text("x.grad = 72")
    expect(page.get_by_test_id("value-x")).to_have_value("2.0")
    expect(page.get_by_test_id("grad-x")).to_be_checked()
    note = page.get_by_test_id("cell-note")
    expect(note.locator(".cell-note-title")).to_have_text(title)
    expect(page.get_by_test_id("cell-values")).to_have_text("x = 2.0 (requires_grad)")
    expect(page.get_by_test_id("cell-output")).to_have_text("y · y.backward()")
    expect(page.get_by_test_id("cell-skipped")).to_have_text("import torch, print(x.grad)")


@pytest.mark.parametrize(("locale", "lang", "title"), [
    ("en-US", "en", "Read as a notebook cell:"),
    ("de-DE", "de", "Als Notebook-Zelle gelesen:"),
])
def test_a_pasted_cell_gives_the_lesson_and_says_how_it_was_read(
    new_page, base_url: str, problems: Problems, screenshot, locale, lang, title
):
    page: Page = new_page(locale=locale)
    page.goto(f"{base_url}/?lang={lang}")
    page.get_by_test_id("as-program").click()  # the one-line field becomes a text area
    area = page.locator("textarea[data-testid=expr]")
    with page.expect_response(lambda r: "/fields" in r.url and "import%20torch" in r.url):
        area.fill(CELL)
    expect(page.get_by_test_id("cell-note")).to_be_visible()
    expect(page.get_by_test_id("value-x")).to_have_value("2.0")
    page.get_by_test_id("compute").click()
    expect_the_lesson(page, title)
    screenshot(page, "computed")
    # The share link of that page gives the same page.
    link = page.get_by_test_id("share-link").input_value()
    shared = new_page(locale=locale)
    shared.goto(link)
    expect_the_lesson(shared, title)
    expect(shared.locator("textarea[data-testid=expr]")).to_have_value(CELL.replace("\r\n", "\n"))
    assert_no_problems(problems)


def test_the_cell_sent_as_a_form_without_scripts_gives_the_lesson(
    new_page, base_url: str, problems: Problems
):
    page: Page = new_page(locale="en-US")
    page.goto(f"{base_url}/?expr=y%20%3D%20x%2A2&lang=en")
    page.locator("textarea[data-testid=expr]").fill(CELL)
    with page.expect_navigation():
        page.evaluate("() => document.getElementById('playground').submit()")
    assert "%0D%0A" in page.url  # the text area's lines, as the browser sends them
    expect_the_lesson(page, "Read as a notebook cell:")
    assert_no_problems(problems)


def test_a_hostile_cell_is_refused_with_its_line(page: Page, base_url: str, problems: Problems):
    page.goto(f"{base_url}/?expr=y%20%3D%20x%2A2&lang=en")
    page.locator("textarea[data-testid=expr]").fill(
        "import os\r\nx = torch.tensor(2.0, requires_grad=True)\r\ny = x*2")
    page.get_by_test_id("compute").click()
    expect(page.get_by_test_id("error")).to_contain_text("Line 1")
    expect(page.get_by_test_id("error")).to_contain_text("Only import torch")
    assert_no_problems(problems)


def test_a_cell_pasted_into_the_one_line_field_gives_the_lesson(
    new_page, base_url: str, problems: Problems
):
    """The path a student takes: copy the notebook's cell, paste it over the function."""
    page: Page = new_page(locale="en-US", permissions=["clipboard-read", "clipboard-write"])
    page.goto(f"{base_url}/?lang=en")
    page.evaluate("(text) => navigator.clipboard.writeText(text)", CELL)
    field = page.locator("input[data-testid=expr]")
    field.click()
    page.keyboard.press("Control+A")
    with page.expect_navigation():
        page.keyboard.press("Control+V")
    expect_the_lesson(page, "Read as a notebook cell:")
    area = page.locator("textarea[data-testid=expr]")
    expect(area).to_have_value(CELL.replace("\r\n", "\n"))
    assert "lang=en" in page.url
    # One line pasted stays a paste into the field.
    page.goto(f"{base_url}/?lang=en")
    page.evaluate("(text) => navigator.clipboard.writeText(text)", "x**3")
    page.locator("input[data-testid=expr]").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Control+V")
    expect(page.locator("input[data-testid=expr]")).to_have_value("x**3")
    assert_no_problems(problems)
