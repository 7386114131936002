"""Training a program typed into the page's text area: the browser sends its lines as CRLF."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Problems
from .test_embed import assert_no_problems

pytestmark = pytest.mark.e2e

PROGRAM = "z = w*x + b\nh = tanh(z)\nloss = (h - t)**2"


def test_a_typed_program_trains_from_the_page(page: Page, base_url: str, problems: Problems,
                                             screenshot):
    page.goto(f"{base_url}/?expr=z%20%3D%20w%2Ax%0Ay%20%3D%20z&w=1&x=1")
    area = page.get_by_test_id("expr")
    with page.expect_response(lambda r: "/fields" in r.url and "tanh" in r.url):
        area.fill(PROGRAM)  # the value fields follow the program
    expect(page.get_by_test_id("value-t")).to_be_visible()
    page.get_by_test_id("compute").click()
    expect(page.get_by_test_id("gradient-w")).to_be_visible()
    page.locator("#training > summary").click()
    # Only the parameters are ticked; the data x and t stay as they are.
    for name, ticked in {"w": True, "b": True, "x": False, "t": False}.items():
        box = page.get_by_test_id(f"train-{name}")
        (expect(box).to_be_checked() if ticked else expect(box).not_to_be_checked())
    expect(page.get_by_test_id("train-rule")).to_be_visible()
    page.get_by_test_id("train-run").click()
    expect(page.get_by_test_id("training-row")).to_have_count(20)
    expect(page.get_by_test_id("training-error")).to_have_count(0)
    assert "%0D%0A" in page.url  # the form really sent CRLF
    losses = [float(row.locator("td").first.inner_text())
              for row in page.get_by_test_id("training-row").all()]
    assert losses[-1] < losses[0]  # new values start at 1: the loss still falls
    screenshot(page, "trained")
    assert_no_problems(problems)
