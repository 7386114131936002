"""Marks at the edges of calculus (issue 23): zero bases, powers at 0, kinks and ties.

By hand: x**y at (0, 2) has dy/dx = y·x^(y − 1) = 2·0 = 0 and dy/dy = x^y·ln(x) = 0·(−inf),
whose limit PyTorch returns: 0. maximum(x, y) at a tie sends half to each; clamp on a
bound lets the gradient through (1); relu at 0 sends 0.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup


def answer(client, expression: str, inputs: dict) -> dict:
    response = client.post("/api/graph", json={"expression": expression, "inputs": inputs,
                                                "symbolic": True})
    assert response.status_code == 200, response.text[:300]
    return response.json()


def rules(data: dict) -> list[dict]:
    return [r for s in data["steps"] for r in s["rules"] if r and r["kind"] == "local"]


def test_a_zero_base_is_evaluated_to_its_value_or_explained(client) -> None:
    data = answer(client, "x**y", {"x": 0, "y": 2})
    dx, dy = data["symbolic"]["derivatives"]
    assert (dx["text"], dx["value"], dx["grad"], dx["agrees"]) == ("x**(y - 1)*y", 0.0, 0.0, True)
    assert dy["agrees"] is False and "limit" in dy["note"]
    wrt_x, wrt_y = rules(data)
    assert (wrt_x["formula"], wrt_x["value"], wrt_x["agrees"]) == ("y·x^(y − 1)", 0.0, True)
    assert wrt_y["agrees"] is False and "zero-base" in wrt_y["notes"]


@pytest.mark.parametrize("expression", ["x**0", "pow(x, 0)"])
def test_a_zero_exponent_reads_0_and_agrees(client, expression: str) -> None:
    (rule,) = rules(answer(client, expression, {"x": 0}))
    assert (rule["formula"], rule["value"], rule["agrees"]) == ("0", 0.0, True)


def test_a_constant_zero_base_says_pytorch_takes_the_limit(client) -> None:
    data = answer(client, "0**x", {"x": 2})
    (rule,) = rules(data)
    assert rule["agrees"] is False and "zero-base" in rule["notes"]
    (d,) = data["symbolic"]["derivatives"]
    assert d["agrees"] and d["grad"] == 0.0 and d["text"] != "nan"


@pytest.mark.parametrize("expression", ["x**0.5", "x**-1"])
def test_a_power_below_1_at_0_has_a_note_as_sqrt_has(client, expression: str) -> None:
    (rule,) = rules(answer(client, expression, {"x": 0}))
    assert "power-at-zero" in rule["notes"]


@pytest.mark.parametrize(("expression", "inputs", "grad"), [
    ("maximum(x, y)", {"x": 1, "y": 1}, 0.5), ("minimum(x, y)", {"x": 1, "y": 1}, 0.5),
    ("clamp(x, 0, 1)", {"x": 1}, 1.0), ("clamp(x, 0, 1)", {"x": 0}, 1.0),
    ("relu(x)*2", {"x": 0}, 0.0)])
def test_the_derivative_panel_agrees_with_pytorch_at_a_corner_and_says_why(
        client, expression: str, inputs: dict, grad: float) -> None:
    data = answer(client, expression, inputs)
    d = data["symbolic"]["derivatives"][0]
    assert (d["value"], d["grad"], d["agrees"]) == (grad, grad, True)
    assert "PyTorch's choice" in d["note"]
    assert all(r["agrees"] for r in rules(data))


def test_a_tie_is_not_shown_as_a_bracket_worth_a_half(client) -> None:
    first = rules(answer(client, "maximum(x, y)", {"x": 1, "y": 1}))[0]
    assert first["formula"] == "[x > y] + ½·[x = y]" and first["value"] == 0.5
    panel = client.get("/calculus", params={"expr": "maximum(x, y)", "x": "1", "y": "1"})
    note = BeautifulSoup(panel.text, "html.parser").select_one("[data-testid=symbolic-note-x]")
    assert note is not None and "half each at a tie" in note.text


def test_an_infinite_function_says_there_is_nothing_to_compare(client) -> None:
    (d,) = answer(client, "x/0 + x", {"x": 1})["symbolic"]["derivatives"]
    assert d["agrees"] is False and "Neither number is finite" in d["note"]


PLACEHOLDER = re.compile(r"\b(p\d|k\d?)\b|\?|[A-Z][A-Za-z]*Backward\d")


@pytest.mark.parametrize(("expression", "inputs"), [
    ("x**3*y", {"x": 2, "y": 3}), ("sigmoid(x + 1)", {"x": 0.5}),
    ("2**x + 1/(x + 1)", {"x": 1})])
def test_the_second_orders_rules_have_no_placeholders(client, expression, inputs) -> None:
    data = client.post("/api/graph", json={"expression": expression, "inputs": inputs,
                                           "order": 2}).json()
    graph = data["second_order"]["graph"]
    shown = [r for s in graph["steps"] for r in s["rules"] if r]
    assert shown
    for rule in shown:
        assert not PLACEHOLDER.search(rule["formula"]), rule["formula"]
        assert rule["value"] is not None and rule["torch"] is not None
        if rule["formula"] == "PyTorch's own numbers":
            assert rule["value"] == rule["torch"] and rule["agrees"] is None
        else:
            assert rule["agrees"] is True


@pytest.mark.parametrize(("expression", "inputs", "formula"), [
    ("x**(1/y)", {"x": 2, "y": 3}, "(1/y)·x^(1/y − 1)"),  # not 1/(y·x^…)
    ("(-x)**2", {"x": 2}, "2·(-x)"),
    ("sum((v @ w)**2) + x", {"x": 1, "v": [1, 2], "w": [3, 4]}, "2·(v @ w)"),
    ("e**x", {"x": 1}, "e^x"),
    ("pi**x", {"x": 1}, "π^x·ln(π)"),
    ("x**pi", {"x": 2}, "π·x^(π − 1)"),
    ("x**sqrt(2)", {"x": 2}, "1.41421·x^(1.41421 − 1)"),  # the page's one number writer
])
def test_a_formula_reads_as_meant(client, expression: str, inputs: dict, formula: str) -> None:
    data = client.post("/api/graph", json={"expression": expression, "inputs": inputs}).json()
    shown = [r for r in rules(data) if r["formula"] not in ("1", "−1")]
    assert shown[0]["formula"] == formula and shown[0]["agrees"] is True
