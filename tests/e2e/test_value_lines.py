"""A program typed into the page that starts with a value line (x = 2): the page computes
from the line's value and says so, from htmx and from the form as the browser sends it (CRLF).

By hand: y = x**3 at x = 2 gives dy/dx = 3x² = 12 (at the address's x = 5 it would be 75).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Problems
from .test_embed import assert_no_problems

pytestmark = pytest.mark.e2e

PROGRAM = "x = 2\ny = x**3"


@pytest.mark.parametrize(("locale", "lang", "words"), [
    ("en-US", "en", "Line 1 sets x = 2: it is taken as x's value, not as a step."),
    ("de-DE", "de", "Zeile 1 setzt x = 2: Das ist der Wert von x, kein Schritt."),
])
def test_a_typed_value_line_gives_the_gradient_and_the_note(
    new_page, base_url: str, problems: Problems, screenshot, locale, lang, words
):
    page: Page = new_page(locale=locale)
    page.goto(f"{base_url}/?expr=z%20%3D%20x%2A2%0Ay%20%3D%20z&x=5&lang={lang}")
    area = page.get_by_test_id("expr")
    with page.expect_response(lambda r: "/fields" in r.url and "x%20%3D%202" in r.url):
        area.fill(PROGRAM)  # the value fields follow the program
    expect(page.get_by_test_id("value-line-x")).to_have_text(words)
    expect(page.get_by_test_id("value-x")).to_have_value("2")
    page.get_by_test_id("compute").click()
    expect(page.get_by_test_id("gradient-x")).to_have_text("x.grad = 12")
    expect(page.get_by_test_id("value-line-x")).to_have_text(words)
    screenshot(page, "computed")
    # The form sent as a browser sends it without scripts: the text area's lines as CRLF.
    with page.expect_navigation():
        page.evaluate("() => document.getElementById('playground').submit()")
    assert "%0D%0A" in page.url
    expect(page.get_by_test_id("gradient-x")).to_have_text("x.grad = 12")
    expect(page.get_by_test_id("value-line-x")).to_have_text(words)
    expect(page.get_by_test_id("value-x")).to_have_value("2")
    assert_no_problems(problems)
