"""x², 2·x, x−1 and the like, refused in the API and on the page with their ASCII spelling."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from autograd_playground.web import i18n

# The text, the column of the character, and the hint in English and in German.
HINTS = [
    ("x²", 2, "write x**2 or x^2 instead of x²", "schreibe x**2 oder x^2 statt x²"),
    ("x³", 2, "write x**3 or x^3 instead of x³", "schreibe x**3 oder x^3 statt x³"),
    ("2·x", 2, "multiply with *: write 2*x instead of 2·x",
     "multipliziere mit *: schreibe 2*x statt 2·x"),
    ("2×x", 2, "multiply with *: write 2*x instead of 2×x",
     "multipliziere mit *: schreibe 2*x statt 2×x"),
    ("x\u22121", 2, "subtract with -: write x-1 instead of x\u22121",
     "subtrahiere mit -: schreibe x-1 statt x\u22121"),
    ("x÷2", 2, "divide with /: write x/2 instead of x÷2", "dividiere mit /: schreibe x/2 statt x÷2"),
]


@pytest.mark.parametrize(("text", "column", "english", "german"), HINTS)
def test_the_api_names_the_ascii_spelling_and_the_column(client, text, column, english, german):
    response = client.post("/api/graph", json={"expression": text, "inputs": {"x": 2}})
    assert response.status_code == 422
    body = response.json()
    assert english in body["detail"] and f"column {column}" in body["detail"]
    error = body["error"]
    assert (error["column"], error["start"], error["end"]) == (column, column - 1, column)
    # A German client translates the template with its params, as the page does.
    translated = i18n.message("de", error["template"], error["column"], **error["params"])
    assert german in translated and f"Spalte {column}" in translated


@pytest.mark.parametrize(("text", "column", "english", "german"), HINTS)
@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_page_names_the_ascii_spelling_and_marks_the_character(
    client, text, column, english, german, lang
):
    page = BeautifulSoup(client.get("/", params={"expr": text, "x": "2", "lang": lang}).text,
                         "html.parser")
    message = page.select_one("[data-testid=error] .error-message").get_text()
    assert (english if lang == "en" else german) in message
    assert (f"column {column}" if lang == "en" else f"Spalte {column}") in message
    assert page.select_one(".error-where mark").get_text() == text[column - 1]
