"""The modes on the page, through httpx: the control in the playground's form (walk through,
exercise, second order, accumulate), and what a mode puts on the first screen.

The lesson: 5*x**3 + 2*x**2 + 4*x + 8 at x = 2; by hand dy/dx = 15x² + 4x + 4 = 72,
d²y/dx² = 30x + 4 = 64, and a second backward() without zeroing leaves x.grad = 2·72 = 144.
"""

from __future__ import annotations

import re
import subprocess
import sys

from bs4 import BeautifulSoup

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"
LESSON_PAGE = {"expr": LESSON, "x": "2"}


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def playground(client, path: str = "/", **params: str) -> BeautifulSoup:
    return soup(client.get(path, params={**LESSON_PAGE, **params}))




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


def test_the_output_of_the_walk_through_has_no_mode_lines(client):
    output = playground(client).select_one("section.output")
    assert output.select_one("[data-testid=output-second]") is None
