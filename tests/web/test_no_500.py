"""Programs and functions that once failed the whole request with a 500 (issues 23 and 29).

Each answers 200 with the right numbers, or a 4xx with a sentence; the pages too.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup


def graph(client, expression: str, inputs: dict, **extras):
    return client.post("/api/graph", json={"expression": expression, "inputs": inputs, **extras})


def test_a_list_as_a_program_line_is_a_value_line(client) -> None:
    response = graph(client, "a = [1,2]\nb = x*2", {"x": 2})
    assert response.status_code == 200, response.text[:300]
    data = response.json()
    assert data["gradients"] == {"x": 2.0}
    assert data["intermediates"] == [] and data["line_values"] == {"a": [1, 2]}


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_the_pages_show_a_program_with_a_list_line(client, path: str) -> None:
    response = client.get(path, params={"expr": "a = [1,2]\nb = x*2", "x": "2"})
    assert response.status_code == 200
    assert BeautifulSoup(response.text, "html.parser").find("svg") is not None


NEGATIVE_BASES = ["(-2)**x", "pow(-2, x)", "pow(-1, x)", "(-0.5)**x"]


@pytest.mark.parametrize("expression", NEGATIVE_BASES)
def test_a_negative_base_says_there_is_no_real_derivative(client, expression: str) -> None:
    response = graph(client, expression, {"x": 2}, symbolic=True)
    assert response.status_code == 200, response.text[:300]
    (d,) = response.json()["symbolic"]["derivatives"]
    assert d["grad"] == "nan" and d["value"] == "nan"  # what PyTorch does, shown as it does it
    assert d["agrees"] is False and "no real derivative" in d["note"]
    assert d["text"] is None and d["mathml"] is None  # nothing complex, no I
    panel = client.get("/calculus", params={"expr": expression, "x": "2"})
    assert panel.status_code == 200
    note = BeautifulSoup(panel.text, "html.parser").select_one("[data-testid=symbolic-note-x]")
    assert note is not None and "no real derivative" in note.text


@pytest.mark.parametrize(
    "expression", ["maximum(log(0*x), x)", "relu(1/(x-x))+x", "clamp(log(x-x),-1,1)+x"])
def test_a_part_undefined_everywhere_falls_back_to_a_finite_difference(client, expression) -> None:
    response = graph(client, expression, {"x": 2}, symbolic=True)
    assert response.status_code == 200, response.text[:300]
    symbolic = response.json()["symbolic"]
    if symbolic["kind"] == "finite_difference":  # sympy cannot order zoo: Max(zoo, x)
        assert "infinite or undefined for every input" in symbolic["reason"]
    for d in symbolic["derivatives"]:  # else a formula, beside PyTorch's nan from inf·0
        assert d["agrees"] or d["note"]
    assert client.get("/calculus", params={"expr": expression, "x": "2"}).status_code == 200


def test_overflow_is_a_cross_with_its_float32_reason_in_both_panels(client) -> None:
    data = graph(client, "exp(x)", {"x": 100}, symbolic=True).json()
    (d,) = data["symbolic"]["derivatives"]
    assert d["grad"] == "inf" and d["value"] > 3.4e38
    assert d["agrees"] is False and "3.4e38" in d["note"]
    (rule,) = [r for s in data["steps"] for r in s["rules"] if r and r["kind"] == "local"]
    assert rule["agrees"] is False and "float32-overflow" in rule["notes"]
    page = BeautifulSoup(client.get("/", params={"expr": "exp(x)", "x": "100"}).text,
                         "html.parser")
    assert "overflows to inf" in page.text


@pytest.mark.parametrize(("expression", "inputs"), [
    ("maximum(x, y)", {"x": 1, "y": 1}), ("minimum(x, y)", {"x": 1, "y": 1}),
    ("clamp(x, 0, 1)", {"x": 1})])
def test_a_tie_or_a_bound_says_why_the_panels_differ(client, expression, inputs) -> None:
    (d, *_) = graph(client, expression, inputs, symbolic=True).json()["symbolic"]["derivatives"]
    assert d["agrees"] or "subgradient" in d["note"]


def run(program: str) -> dict:
    """Run a generated program in a fresh namespace; its names afterwards."""
    scope: dict = {}
    exec(compile(program, "<generated>", "exec"), scope)  # our own generated code, not input
    return scope


def test_training_finds_a_free_name_for_the_loss(client) -> None:
    body = {"expression": "loss = x*w\nobjective = loss*3\nf_value = objective*objective",
            "inputs": {"x": 2, "w": 0.5}, "params": ["w"], "lr": 0.01, "steps": 2}
    response = client.post("/api/train", json=body)
    assert response.status_code == 200, response.text[:300]
    code = response.json()["code"]
    assert "    loss_2 = " in code
    assert run(code)["w"].grad is not None


def test_the_program_keeps_an_alias_so_every_name_gets_its_grad(client) -> None:
    data = graph(client, "a = x*2\nb = a\nc = a*b", {"x": 2}, retain_grad=True).json()
    code = data["code"]
    assert "\nb = a\n" in code and "b = x*2" not in code
    scope = run(code)
    assert scope["a"] is scope["b"] and scope["a"].grad is not None
    assert float(scope["x"].grad) == data["gradients"]["x"] == 16.0


@pytest.mark.parametrize(("expression", "inputs"), [
    ("torch = x*2\nfloat = torch + 1\nint = float*torch", {"x": 2}),
    ("torch*int + float", {"torch": 2, "int": 3, "float": 4})])
def test_a_variable_named_like_python_s_own_names_runs_renamed(client, expression, inputs) -> None:
    data = graph(client, expression, inputs).json()
    code = data["code"]
    assert "# torch is called torch_ here" in code
    scope = run(code)
    leaves = {k: v for k, v in scope.items() if getattr(v, "is_leaf", False) and hasattr(v, "grad")}
    assert {k: float(v.grad) for k, v in leaves.items() if v.grad is not None} == {
        k + "_" if k in ("torch", "int", "float") else k: v for k, v in data["gradients"].items()}
