"""The retain_grad switch: retain_grad in the API, retain=1 in the page's URL."""

from __future__ import annotations

import math

import pytest
from bs4 import BeautifulSoup

from autograd_playground.core.language.rules import Extras, Limits
from autograd_playground.serve.jobs import make_job
from autograd_playground.web import state as page

NEURON = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
AT = {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1}
PAGE_AT = {k: str(v) for k, v in AT.items()}


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def test_the_api_keeps_the_grads_of_named_values_on_request(client):
    off = client.post("/api/graph", json={"expression": NEURON, "inputs": AT}).json()
    assert [(i["name"], i["grad"]) for i in off["intermediates"]] == [("z", None), ("h", None)]
    on = client.post(
        "/api/graph", json={"expression": NEURON, "inputs": AT, "retain_grad": True}
    ).json()
    h = math.tanh(0.85)
    kept = {i["name"]: i for i in on["intermediates"]}
    assert kept["h"]["grad"] == pytest.approx(2 * (h - 1), rel=1e-5)  # ∂loss/∂h = 2(h − t)
    assert kept["z"]["grad"] == pytest.approx(2 * (h - 1) * (1 - h * h), rel=1e-5)
    assert kept["h"]["value"] == pytest.approx(h, rel=1e-6) and kept["h"]["shape"] == []
    assert "h.retain_grad()" in on["code"] and "h.retain_grad()" not in off["code"]


def test_a_single_function_answers_no_intermediates(client):
    data = client.post("/api/graph", json={"expression": "x**2", "inputs": {"x": 2},
                                           "retain_grad": True}).json()
    assert data["intermediates"] == []


def test_retain_grad_is_part_of_the_cache_key_only_when_on():
    plain = make_job(NEURON, AT, None, "torchviz", Limits())
    assert make_job(NEURON, AT, None, "torchviz", Limits(), Extras(retain_grad=False)).key == plain.key
    assert make_job(NEURON, AT, None, "torchviz", Limits(), Extras(retain_grad=True)).key != plain.key


def test_retain_survives_the_url_and_is_reserved():
    assert "retain" in page.RESERVED
    state = page.from_query({"expr": NEURON, "w": "0.5", "retain": "1"})
    assert state.retain and "retain" not in state.values
    assert ("retain", "1") in state.pairs()
    assert page.from_query(dict(state.pairs())).retain
    assert ("retain", "1") not in page.from_query({"expr": NEURON}).pairs()


def test_the_page_shows_none_and_a_link_that_switches_retain_grad_on(client):
    body = soup(client.get("/", params={"expr": NEURON, **PAGE_AT}))
    table = body.select_one("[data-testid=intermediates]")
    assert table.select_one("[data-testid=intermediate-grad-h]").get_text() == "None"
    assert "retain_grad()" in table.get_text()
    link = table.select_one("[data-testid=retain-on]")["href"]
    on = soup(client.get(link))
    grad = on.select_one("[data-testid=intermediate-grad-h]").get_text()
    assert float(grad) == pytest.approx(2 * (math.tanh(0.85) - 1), rel=1e-5)
    assert "print(h.grad)" in on.select_one("#code").get_text()
    # The switch stays on through the form and the share panel's link.
    assert on.select_one("input[type=hidden][name=retain]")["value"] == "1"
    assert "retain=1" in on.select_one("[data-testid=share-link]")["value"]


def test_the_share_panel_offers_retain_grad_for_programs_only(client):
    program = soup(client.get("/", params={"expr": NEURON, **PAGE_AT}))
    assert "retain=1" in program.select_one("[data-testid=share-link-retain]")["href"]
    single = soup(client.get("/", params={"expr": "x**2", "x": "2"}))
    assert single.select_one("[data-testid=share-link-retain]") is None
    assert single.select_one("[data-testid=intermediates]") is None


def test_a_single_function_says_it_has_no_named_intermediates(client):
    body = soup(client.get("/", params={"expr": "x**2", "x": "2", "retain": "1"}))
    assert "single function has none" in body.select_one("[data-testid=no-intermediates]").get_text()
