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


# --- the mode's numbers in the page's result ------------------------------------------


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
