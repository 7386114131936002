"""The lesson's notebook cell pasted into the function field: through the API and on the page.

By hand, the lesson: dy/dx = 15x² + 4x + 4 at x = 2 is 60 + 8 + 4 = 72, and y = 64.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

LESSON = (
    "import torch\n"
    "x = torch.tensor(2.0, requires_grad=True)\n"
    "y = 5*x**3 + 2*x**2 + 4*x + 8\n"
    "y.backward()\n"
    "print(x.grad)"
)
TYPED = LESSON.replace("\n", "\r\n")  # as a browser sends a text area


def graph(client, expression: str, inputs: dict, requires_grad: dict | None = None):
    body = {"expression": expression, "inputs": inputs}
    if requires_grad is not None:
        body["requires_grad"] = requires_grad
    return client.post("/api/graph", json=body)


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def text_of(page: BeautifulSoup, testid: str) -> str:
    found = page.select_one(f"[data-testid={testid}]")
    return " ".join(found.get_text().split()) if found is not None else ""


@pytest.mark.parametrize("inputs", [{}, {"x": 5}])
def test_the_api_gives_72_for_the_lesson_cell(client, inputs) -> None:
    data = graph(client, TYPED, inputs).json()
    assert data["gradients"] == {"x": 72.0} and data["output"]["value"] == 64.0
    assert data["line_values"] == {"x": 2.0}
    assert [line["name"] for line in data["lines"]] == ["y"]


def test_the_api_takes_requires_grad_from_the_cell(client) -> None:
    # By hand: y = w*x at x = 2, w = 3: x.grad = 3, and w has none (no requires_grad).
    cell = "x = torch.tensor(2.0, requires_grad=True)\nw = torch.tensor(3.0)\ny = w*x\ny.backward()"
    data = graph(client, cell, {}, {"x": True, "w": True}).json()
    assert data["gradients"] == {"x": 3.0, "w": None}
    assert {v["name"]: v["requires_grad"] for v in data["variables"]} == {"x": True, "w": False}


HEAD = "import torch\r\nx = torch.tensor(2.0, requires_grad=True)\r\n"
HOSTILE = [
    ("data", HEAD + "y = x.data*2", 3, 5, "attribute access"),
    ("dunder", HEAD + "y = x.__class__.__mro__", 3, 5, "attribute access"),
    ("autograd", HEAD + "y = torch.autograd.grad(x, x)", 3, 5, "not one of the torch functions"),
    ("import-os", "import os\r\n" + HEAD + "y = x*2", 1, 1, "Only import torch"),
    ("exec", HEAD + "y = x*2\r\nexec('import os')", 4, 1, "must assign a name"),
    ("lambda", HEAD + "y = (lambda: x)()", 3, 6, "lambda"),
    ("comprehension", HEAD + "y = sum([v for v in x])", 3, 9, "list comprehension"),
    ("backward-not-last", HEAD + "y = x*2\r\ny.backward()\r\nz = y*2", 5, 1,
     "Only print lines may follow y.backward() on line 4"),
    ("grad-assigned", HEAD + "y = x*2\r\nx.grad = 5", 4, 1, "Only names can be assigned"),
]


@pytest.mark.parametrize(("text", "line", "column", "phrase"), [h[1:] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])
def test_the_api_refuses_a_hostile_cell_with_its_line(client, text, line, column, phrase) -> None:
    response = graph(client, text, {})
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["line"], error["column"]) == (line, column)
    assert phrase in response.json()["detail"] and f"ine {line}" in response.json()["detail"]


@pytest.mark.parametrize(("lang", "title", "words"), [
    ("en", "Read as a notebook cell:", ("Values", "Lines", "Output", "Skipped")),
    ("de", "Als Notebook-Zelle gelesen:", ("Werte", "Zeilen", "Ausgabe", "Übersprungen")),
])
def test_the_page_shows_the_lesson_and_how_it_read_the_cell(client, lang, title, words) -> None:
    page = soup(client.get("/", params={"expr": TYPED, "x": "5", "lang": lang}))
    assert text_of(page, "gradient-x") == "x.grad = 72"
    assert page.select_one("#value-x")["value"] == "2.0"
    assert page.select_one("[data-testid=grad-x]").has_attr("checked")
    note = page.select_one("[data-testid=cell-note]")
    assert note.select_one(".cell-note-title").get_text() == title
    assert [dt.get_text() for dt in note.select("dt")] == list(words)
    assert text_of(page, "cell-values") == "x = 2.0 (requires_grad)"
    assert text_of(page, "cell-lines") == "y = 5*x**3 + 2*x**2 + 4*x + 8"
    assert text_of(page, "cell-output") == "y · y.backward()"
    assert text_of(page, "cell-skipped") == "import torch, print(x.grad)"
    assert page.select("[data-testid^=value-line-]") == []  # one note, not two


def test_the_checkbox_follows_requires_grad_false(client) -> None:
    cell = "x = torch.tensor(2.0, requires_grad=True)\nw = torch.tensor(3.0, requires_grad=False)\ny = w*x"
    # The address says w's requires_grad is on (rg=1 lists w): the line wins.
    page = soup(client.get("/", params=[("expr", cell), ("rg", "1"), ("grad", "x"), ("grad", "w")]))
    assert not page.select_one("[data-testid=grad-w]").has_attr("checked")
    assert page.select_one("[data-testid=grad-x]").has_attr("checked")
    assert text_of(page, "cell-values") == "x = 2.0 (requires_grad), w = 3.0 (requires_grad=False)"
    assert text_of(page, "gradient-x") == "x.grad = 3"


def test_the_share_link_of_the_cell_gives_the_same_page(client) -> None:
    page = soup(client.get("/", params={"expr": TYPED, "lang": "de"}))
    link = page.select_one("[data-testid=share-link]")["value"]
    again = soup(client.get(link))
    assert text_of(again, "gradient-x") == "x.grad = 72"
    for testid in ("cell-note", "cell-values", "cell-skipped"):
        assert text_of(again, testid) == text_of(page, testid) != ""


def test_a_hostile_cell_is_refused_on_the_page_with_its_line(client) -> None:
    page = soup(client.get("/", params={"expr": HEAD + "y = torch.autograd.grad(x, x)"}))
    message = page.select_one("[data-testid=error] .error-message").get_text()
    assert "Line 3" in message and "torch.autograd.grad" in message
    assert page.select("[data-testid=cell-note]") == []


def test_the_fields_block_tells_the_cell_while_typing(client) -> None:
    block = soup(client.get("/fields", params={"expr": TYPED, "x": "7"},
                            headers={"HX-Request": "true", "HX-Target": "fields"}))
    assert block.select_one("#value-x")["value"] == "2.0"
    assert text_of(block, "cell-output") == "y · y.backward()"


def test_a_program_of_value_lines_keeps_its_own_note(client) -> None:
    page = soup(client.get("/", params={"expr": "x = 2\ny = x**3"}))
    assert page.select("[data-testid=cell-note]") == []
    assert text_of(page, "value-line-x").startswith("Line 1 sets x = 2")


@pytest.mark.parametrize(("lang", "words"), [
    ("en", 'Choose "Write it as a program of several lines" and paste the cell there.'),
    ("de", "Wähle „Als Programm mit mehreren Zeilen schreiben“ und füge die Zelle dort ein."),
])
def test_a_cell_pasted_into_the_one_line_field_is_told_where_to_go(client, lang, words) -> None:
    # A one-line field turns the pasted cell's line breaks into spaces.
    page = soup(client.get("/", params={"expr": LESSON.replace("\n", " "), "lang": lang}))
    assert words in page.select_one("[data-testid=error] .error-message").get_text()
    assert page.select_one("[data-testid=as-program]") is not None
