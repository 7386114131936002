"""One way to write a URL: the page's scripts write a query as the server does (`*` as %2A,
a space as %20), in the address bar and the share link, after stepping, switching the view
and collapsing a line."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from autograd_playground.web.state import PageState

from .conftest import Problems
from .test_embed import assert_no_problems

pytestmark = pytest.mark.e2e

PROGRAM = "z = w*x + b\nh = tanh(z)\nloss = (h - t)**2"
VALUES = {"w": "0.5", "x": "1.5", "b": "0.1", "t": "1"}
SAMPLES = ["5*x**3 + 2*x**2", "a b", "[1, 2]", "x/2 - (y)", "ä!'~", "1e-3", "p+q&r=s"]


def written_by_the_server(**changes) -> str:
    return PageState(expr=PROGRAM, values=dict(VALUES)).url("/", **changes)


def assert_written_as_the_server_writes(url: str) -> None:
    query = urlsplit(url).query
    assert "*" not in query and "+" not in query.replace("%2B", ""), query
    assert "%2A" in query and "%20" in query, query


def test_the_scripts_write_a_query_as_the_server_does(page: Page, base_url: str,
                                                      problems: Problems):
    page.goto(base_url + written_by_the_server())
    for text in SAMPLES:
        ours = page.evaluate(
            """async (text) => {
              const main = document.querySelector('script[src*="main.js"]').src;
              const dom = await import(main.replace(/main[.]js$/, "dom.js"));
              return dom.writeQuery("", "expr", text);
            }""", text)
        theirs = "?" + PageState(expr=text, values={}).query().split("&")[0]
        assert ours == theirs, (text, ours, theirs)

    page.get_by_test_id("step-next").click()
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("step-counter")).to_contain_text("Step 2 ")
    assert_written_as_the_server_writes(page.url)
    page.locator("[data-testid=share] > summary").click()
    share = page.get_by_test_id("share-link")
    assert_written_as_the_server_writes(share.input_value())
    assert parse_qs(urlsplit(share.input_value()).query)["step"] == ["2"]
    page.locator("[data-testid=share] > summary").click()  # closed again, over nothing

    page.get_by_test_id("view-annotated").click()
    expect(page.get_by_test_id("view-annotated")).to_have_attribute("aria-current", "true")
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("step-counter")).to_contain_text("Step 3 ")
    assert_written_as_the_server_writes(page.url)
    assert_written_as_the_server_writes(share.input_value())

    page.locator("[data-testid=lines-menu] > summary").click()
    page.get_by_test_id("line-toggle-h").click()
    expect(page).to_have_url(re.compile(r"collapse=h"))
    page.get_by_test_id("step-next").click()
    assert_written_as_the_server_writes(page.url)
    assert_written_as_the_server_writes(share.input_value())
    query = parse_qs(urlsplit(page.url).query)
    assert query["expr"] == [PROGRAM] and query["view"] == ["annotated"]
    assert query["collapse"] == ["h"]
    assert_no_problems(problems)
