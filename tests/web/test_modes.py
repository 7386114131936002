"""The modes on the page, through httpx: the control in the playground's form (walk through,
exercise, second order, accumulate), and what a mode puts on the first screen.

The lesson: 5*x**3 + 2*x**2 + 4*x + 8 at x = 2; by hand dy/dx = 15x² + 4x + 4 = 72,
d²y/dx² = 30x + 4 = 64, and a second backward() without zeroing leaves x.grad = 2·72 = 144.
"""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"
LESSON_PAGE = {"expr": LESSON, "x": "2"}
MODES = {  # the control's links, and the parameters each one writes
    "mode-walk": {},
    "mode-exercise": {"exercise": ["1"]},
    "mode-order": {"order": ["2"]},
    "mode-accumulate": {"accumulate": ["1"]},
}
MODE_PARAMS = {"exercise", "order", "accumulate"}


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def playground(client, path: str = "/", **params: str) -> BeautifulSoup:
    return soup(client.get(path, params={**LESSON_PAGE, **params}))


def mode_links(page) -> dict[str, object]:
    control = page.select_one("[data-testid=modes]")
    assert control is not None, "no modes control"
    return {a["data-testid"]: a for a in control.select("a")}


def query(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query)


# --- the control -------------------------------------------------------------------


def test_every_mode_is_a_link_that_keeps_the_function_and_values(client):
    links = mode_links(playground(client, view="annotated", lang="de"))
    assert set(links) == set(MODES)
    for testid, wanted in MODES.items():
        link = links[testid]
        # A link the server wrote (state.url): it works without scripts, and htmx swaps
        # the page for the same address and puts it in the history.
        assert link["href"] == link["hx-get"] and link["hx-push-url"] == "true"
        assert urlsplit(link["href"]).path == "/"
        assert "%2A" in link["href"], link["href"]  # * written as the share link writes it
        got = query(link["href"])
        assert got["expr"] == [LESSON] and got["x"] == ["2"], testid
        assert got["view"] == ["annotated"] and got["lang"] == ["de"], testid
        assert {k: v for k, v in got.items() if k in MODE_PARAMS} == wanted, testid


@pytest.mark.parametrize("params, current", [
    ({}, "mode-walk"),
    ({"exercise": "1"}, "mode-exercise"),
    ({"order": "2"}, "mode-order"),
    ({"accumulate": "1"}, "mode-accumulate"),
])
def test_the_mode_on_screen_is_the_current_link(client, params, current):
    links = mode_links(playground(client, **params))
    marked = {testid for testid, a in links.items() if a.get("aria-current") == "true"}
    assert marked == {current}


def test_modes_do_not_combine_a_link_switches_to_its_mode_alone(client):
    # Shared from the share panel's check boxes, two modes can be on at once: both are
    # shown as current, and each link leads to its mode alone.
    links = mode_links(playground(client, exercise="1", accumulate="1", step="3"))
    marked = {testid for testid, a in links.items() if a.get("aria-current") == "true"}
    assert marked == {"mode-exercise", "mode-accumulate"}
    assert not MODE_PARAMS & set(query(links["mode-walk"]["href"]))
    assert set(query(links["mode-order"]["href"])) & MODE_PARAMS == {"order"}
    # An exercise starts at its first question; the other modes keep the step shown.
    assert "step" not in query(links["mode-exercise"]["href"])
    assert query(links["mode-order"]["href"])["step"] == ["3"]


def test_the_control_is_labelled_and_translated(client):
    control = playground(client, lang="de").select_one("[data-testid=modes]")
    assert control["role"] == "group"
    label = control.select_one(f"#{control['aria-labelledby']}")
    assert label.get_text(strip=True).startswith("Modus")
    texts = [a.get_text(strip=True) for a in control.select("a")]
    assert texts == ["Schritt für Schritt", "Übung", "Zweite Ableitung", "Aufsummieren"]


@pytest.mark.parametrize("params", [{"readonly": "1"}, {}], ids=["read-only", "editable"])
def test_an_embed_has_no_modes_control(client, params):
    # The frame's mode is the teacher's choice (share panel); "Open in the playground" has them.
    page = playground(client, "/embed", **params)
    assert page.select_one("[data-testid=expr]") is not None
    assert page.select_one("[data-testid=modes]") is None


# --- accumulation on the first screen -------------------------------------------------


def test_accumulate_shows_both_backward_calls_and_144_in_the_output(client):
    output = playground(client, accumulate="1").select_one("section.output")
    calls = [c.get_text() for c in output.select("[data-testid=backward-call]")]
    assert len(calls) == 2 and all("y.backward(" in c for c in calls), calls
    assert "zero_grad()" in calls[1]
    assert output.select_one("[data-testid=gradient-x]").get_text(strip=True) == "x.grad = 72"
    twice = output.select_one("[data-testid=gradient-twice-x]").get_text(" ", strip=True)
    assert twice.startswith("x.grad = 144"), twice
    # The first call's 72 comes before the second's 144, as the program runs them.
    text = output.get_text(" ")
    assert text.index("x.grad = 72") < text.index("x.grad = 144")
    assert output.select_one("a[href='#accumulation-heading']") is not None


def test_the_result_block_carries_the_accumulation_too(client):
    # The form (Compute, a changed value) swaps only #result: its output says 144 as well.
    response = client.get("/", params={**LESSON_PAGE, "x": "1", "accumulate": "1"},
                          headers={"HX-Request": "true", "HX-Target": "result"})
    block = soup(response)
    assert block.select_one("#playground") is None  # the block, not the page
    # x = 1: dy/dx = 15 + 4 + 4 = 23, twice 46
    assert block.select_one("[data-testid=gradient-twice-x]").get_text(strip=True).startswith(
        "x.grad = 46")


def test_without_accumulate_the_output_has_one_backward_call(client):
    output = playground(client).select_one("section.output")
    assert output.select_one("[data-testid=gradient-twice-x]") is None
    assert not output.select("[data-testid=backward-call]")
    assert output.select_one("[data-testid=gradient-x]").get_text(strip=True) == "x.grad = 72"


def test_the_code_calls_backward_twice_and_prints_72_then_144(client):
    code = playground(client, accumulate="1").select_one("#code").get_text()
    assert len(re.findall(r"^y\.backward\(", code, re.M)) == 2, code
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    printed = run.stdout.splitlines()
    assert printed[0].startswith("tensor(64.")  # print(y)
    assert printed[1:] == ["tensor(72.)", "tensor(144.)"], printed


def test_the_code_of_the_other_modes_calls_backward_once(client):
    for params in ({}, {"order": "2"}, {"exercise": "1"}):
        code = playground(client, **params).select_one("#code").get_text()
        assert len(re.findall(r"^y\.backward\(", code, re.M)) == 1, (params, code)


def test_the_derivative_panel_still_loads_after_the_page(client):
    # The page's result carries the modes' numbers, not the derivative's formula: the
    # panel is still asked for once the page is there.
    for params in ({"accumulate": "1"}, {"order": "2"}):
        panel = playground(client, **params).select_one("#calculus")
        assert panel is not None and "loading" in panel["class"], params
        assert panel["hx-get"].startswith("/calculus?")


# --- second order on the first screen -----------------------------------------------


def test_second_order_says_so_in_the_output_with_its_value_and_where(client):
    line = playground(client, order="2").select_one("section.output [data-testid=output-second]")
    assert line is not None
    assert line.select_one("[data-testid=output-second-x]").get_text(strip=True) == "64"
    assert line.select_one("a[href='#second-heading']") is not None
    assert re.search(r"= 64\s+· ", line.get_text()), line.get_text()  # 64, then the link apart


def test_the_output_of_the_walk_through_has_no_mode_lines(client):
    output = playground(client).select_one("section.output")
    assert output.select_one("[data-testid=output-second]") is None
