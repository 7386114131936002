"""Programs through the API and the page: names on nodes, lines in refusals, the URL round trip."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup

NEURON = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
VALUES = {"w": "0.5", "x": "1.5", "b": "0.1", "t": "1"}


def test_the_api_takes_a_program_and_names_its_nodes(client) -> None:
    data = client.post("/api/graph", json={"expression": NEURON,
                                           "inputs": {k: float(v) for k, v in VALUES.items()}}).json()
    names = {n["name_of"]: n["name"] for n in data["nodes"] if n["name_of"]}
    assert names == {"z": "AddBackward0", "h": "TanhBackward0", "loss": "PowBackward0"}
    assert data["expression"] == "z = w*x + b\nh = tanh(z)\nloss = (h - t)**2"
    assert "loss.backward()" in data["code"]


def test_a_refusal_in_a_program_names_the_line_and_its_column(client) -> None:
    response = client.post("/api/graph", json={"expression": "z = w*x\nh = z.real", "inputs": {}})
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["line"], error["column"]) == (2, 5)
    assert response.json()["detail"].startswith("Line 2: ")
    german = client.get("/", params={"expr": "z = w*x\nh = z.real", "lang": "de"})
    message = BeautifulSoup(german.text, "html.parser").select_one(".error-message").get_text()
    assert message.startswith("Zeile 2: ")


def test_the_page_shows_a_program_in_a_text_area_and_keeps_it_in_the_url(client) -> None:
    page = BeautifulSoup(client.get("/", params={"expr": NEURON, **VALUES}).text, "html.parser")
    box = page.select_one("textarea#expr")
    assert box is not None and box.get_text() == NEURON
    link = page.select_one("[data-testid=share-link]")["value"]
    assert "%0A" in link
    assert parse_qs(urlsplit(link).query)["expr"] == [NEURON]
    again = BeautifulSoup(client.get(link).text, "html.parser")
    assert again.select_one("textarea#expr").get_text() == NEURON
    assert again.select_one("[data-testid=gradient-w]") is not None


def test_a_function_can_be_turned_into_a_program(client) -> None:
    page = BeautifulSoup(client.get("/", params={"expr": "y*x**2", "x": "2", "y": "3"}).text,
                         "html.parser")
    link = page.select_one("[data-testid=as-program]")["href"]
    assert parse_qs(urlsplit(link).query)["expr"] == ["out = y*x**2"]
    program = BeautifulSoup(client.get(link).text, "html.parser")
    assert program.select_one("textarea#expr").get_text() == "out = y*x**2"
