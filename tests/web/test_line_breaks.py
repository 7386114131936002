"""A program typed in the page's text area arrives with CRLF: the page, the API and the
training all read it as the same program."""

from __future__ import annotations

from bs4 import BeautifulSoup

PROGRAM = "z = w*x + b\r\nh = tanh(z)\r\nloss = (h - t)**2"
VALUES = {"w": "0.5", "x": "1.5", "b": "0.1", "t": "1"}


def test_the_page_reads_a_crlf_program(client) -> None:
    page = client.get("/", params={"expr": PROGRAM, **VALUES})
    soup = BeautifulSoup(page.text, "html.parser")
    assert not soup.select('[data-testid="error"]'), soup.select_one('[data-testid="error"]')
    assert soup.select_one('[data-testid="gradient-w"]') is not None


def test_the_api_reads_crlf_and_cr(client) -> None:
    for br in ("\r\n", "\r"):
        body = {"expression": PROGRAM.replace("\r\n", br), "inputs": {k: float(v) for k, v in VALUES.items()}}
        response = client.post("/api/graph", json=body)
        assert response.status_code == 200, response.text


def test_the_api_refuses_a_vertical_tab(client) -> None:
    body = {"expression": PROGRAM.replace("\r\n", "\x0b"), "inputs": {k: float(v) for k, v in VALUES.items()}}
    assert client.post("/api/graph", json=body).status_code == 422


def test_training_reads_a_crlf_program(client) -> None:
    body = {"expression": PROGRAM, "inputs": {k: float(v) for k, v in VALUES.items()},
            "params": ["w", "b"], "lr": 0.1, "steps": 3}
    response = client.post("/api/train", json=body)
    assert response.status_code == 200, response.text
    assert len(response.json()["steps"]) == 3
