"""Value lines (x = 2) in a program: through the API and on the page, typed or shared.

By hand: y = x**3 at x = 2 gives y = 8 and dy/dx = 3x² = 12; at x = 5 it would be 75.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

CUBE = "x = 2\ny = x**3"


def graph(client, expression: str, inputs: dict):
    return client.post("/api/graph", json={"expression": expression, "inputs": inputs})


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def note(page: BeautifulSoup, name: str) -> str:
    found = page.select_one(f"[data-testid=value-line-{name}]")
    return found.get_text() if found is not None else ""


@pytest.mark.parametrize("inputs", [{}, {"x": 5}])
def test_the_api_takes_the_value_from_the_line_and_reports_it(client, inputs) -> None:
    data = graph(client, CUBE, inputs).json()
    assert data["gradients"] == {"x": 12.0} and data["output"]["value"] == 8.0
    assert data["line_values"] == {"x": 2}
    assert "x = torch.tensor(2.0, requires_grad=True)" in data["code"]


def test_the_api_reports_no_line_values_for_a_function(client) -> None:
    assert graph(client, "x**3", {"x": 2}).json()["line_values"] == {}


def test_a_value_line_in_the_middle_and_a_list(client) -> None:
    # By hand: y = sum(w*x) + b; dy/dw = x, dy/db = 1.
    # w is used on line 1, before line 3 sets it: refused at line 3.
    refused = graph(client, "z = sum(w*x)\nb = 0.5\nw = 1, 2, 3\ny = z + b", {"x": [1, 1, 1]})
    assert refused.status_code == 422
    assert (refused.json()["error"]["line"], refused.json()["error"]["column"]) == (3, 1)
    data = graph(client, "w = [1, 2, 3]\nz = sum(w*x)\nb = 0.5\ny = z + b", {"x": [4, 5, 6]}).json()
    assert data["gradients"] == {"w": [4.0, 5.0, 6.0], "x": [1.0, 2.0, 3.0], "b": 1.0}
    assert data["line_values"] == {"w": [1, 2, 3], "b": 0.5}
    assert data["output"]["value"] == 32.5


def test_a_step_line_for_a_value_line_name_is_refused_with_its_place(client) -> None:
    response = graph(client, "x = 2\nx = w*3\ny = x", {"w": 1})
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["line"], error["column"], error["start"], error["end"]) == (2, 1, 6, 7)
    assert "assigned on line 1 and again on line 2" in response.json()["detail"]


def test_a_training_run_starts_from_the_line(client) -> None:
    # By hand: loss = (w*1 - 3)**2 at w = 1 gives 4, and d/dw = 2(w - 3) = -4.
    data = client.post("/api/train", json={
        "expression": "w = 1\nloss = (w*x - 3)**2", "inputs": {"x": 1, "w": 9},
        "params": ["w"], "lr": 0.1, "steps": 2}).json()
    first = data["steps"][0]
    assert (first["loss"], first["params"], first["grads"]) == (4.0, {"w": 1.0}, {"w": -4.0})


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "Line 1 sets x = 2: it is taken as x's value, not as a step."),
    ("de", "Zeile 1 setzt x = 2: Das ist der Wert von x, kein Schritt."),
])
def test_the_page_computes_from_the_line_and_says_so(client, lang, words) -> None:
    # Typed into the text area: the browser sends CRLF; the address had x=5.
    page = soup(client.get("/", params={"expr": CUBE.replace("\n", "\r\n"), "x": "5", "lang": lang}))
    assert note(page, "x") == words
    assert page.select_one("#value-x")["value"] == "2"
    assert page.select_one("[data-testid=gradient-x]").get_text().strip() == "x.grad = 12"
    assert page.select_one("[data-testid=print-y]").get_text().strip() == "tensor(8., grad_fn=<PowBackward0>)"


def test_a_share_link_carries_the_program_and_shows_the_same(client) -> None:
    page = soup(client.get("/", params={"expr": "z = w*x\nb = 0.5\ny = z + b", "w": "2", "x": "3"}))
    assert note(page, "b") == "Line 2 sets b = 0.5: it is taken as b's value, not as a step."
    link = page.select_one("[data-testid=share-link]")["value"]
    assert parse_qs(urlsplit(link).query)["b"] == ["0.5"]
    again = soup(client.get(link))
    assert note(again, "b") == note(page, "b")
    assert again.select_one("[data-testid=gradient-b]").get_text().strip() == "b.grad = 1"


def test_the_fields_block_shows_the_line_value_while_typing(client) -> None:
    block = soup(client.get("/fields", params={"expr": "w = [1, 2]\ny = sum(w*x)", "w": "7"},
                            headers={"HX-Request": "true", "HX-Target": "fields"}))
    assert block.select_one("#value-w")["value"] == "[1, 2]"
    assert note(block, "w").startswith("Line 1 sets w = [1, 2]")
    assert block.select_one("[data-testid=value-w]") is not None


@pytest.mark.parametrize(("expr", "words"), [
    ("y = x**2\nx = 3", "'x' is used on line 1 before line 2 sets its value"),
    ("x = 2\nw = 3", "The program only sets values (x, w), so there is nothing to compute"),
])
def test_the_page_refuses_what_cannot_be_computed(client, expr, words) -> None:
    page = soup(client.get("/", params={"expr": expr}))
    assert words in page.select_one("[data-testid=error] .error-message").get_text()


def test_a_program_without_value_lines_has_no_note(client) -> None:
    page = soup(client.get("/", params={"expr": "z = w*x\ny = z**2", "w": "1", "x": "2"}))
    assert page.select(".value-note") == []
