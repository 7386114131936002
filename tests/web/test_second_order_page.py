"""The second-order panel as the page renders it (issue 22): d²y/dx² as a formula beside
its value, and the walk through the gradient's graph on a stage like the first order's,
each step with its local derivative, its check and its chain rule.

The lesson's function is 5*x**3 + 2*x**2 + 4*x + 8 at x = 2: dy/dx = 15x² + 4x + 4 = 72,
d²y/dx² = 30x + 4 = 64.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"


def panel(client, lang: str = "en", expr: str = LESSON, **inputs: str) -> BeautifulSoup:
    response = client.get("/calculus", params={
        "expr": expr, "order": "2", "lang": lang, **(inputs or {"x": "2"})})
    assert response.status_code == 200
    section = BeautifulSoup(response.text, "html.parser").select_one("[data-testid=second-order]")
    assert section is not None
    return section


def words(tag) -> str:
    return " ".join(tag.get_text(" ").split())


def test_the_second_derivative_reads_as_a_formula_beside_its_value_and_pytorch_s(client):
    section = panel(client)
    formula = section.select_one("[data-testid=second-formula-x]")
    assert formula["data-text"] == "30*x + 4" and formula.select_one("math")
    assert section.select_one("[data-testid=second-formula-value-x]").text == "64"
    assert section.select_one("[data-testid=second-x]").text == "64"  # PyTorch's number
    assert "✓" in section.select_one("[data-testid=second-agree-x]").text


def test_the_walk_sits_on_a_stage_of_graph_and_step_like_the_first_order(client):
    stage = panel(client).select_one("[data-testid=second-stage]")
    assert "stage" in stage["class"]
    graph_pane, step_pane = stage.find_all(recursive=False)
    assert "graph-panel" in graph_pane["class"] and graph_pane.select_one("#second-graph svg")
    assert "stepper" in step_pane["class"] and step_pane["id"] == "second-stepper"


def test_each_step_of_the_walk_has_its_local_derivative_check_and_chain_rule(client):
    steps = panel(client).select("#second-stepper ol.steps > li.step.backward")
    assert len(steps) == 9  # 8 op nodes, then x's AccumulateGrad
    ops = [s for s in steps if s.select_one("dl.explain")]
    assert len(ops) == 8
    for step in ops:
        locals_ = step.select("[data-testid=second-local]")
        assert locals_ and all("✓" in words(d) for d in locals_), words(step)
        assert step.select("[data-testid=second-chain]"), words(step)
        assert "receives 1 and sends 1" not in words(step) or step.select("[data-testid=second-local]")
    texts = [words(s) for s in steps]
    # The Mul node of 15x² = 5·(3x²): ∂(15*x**2)/∂(3*x**2) = 5, and the chain rule 1 · 5 = 5.
    mul = next(t for t in texts if t.startswith("MulBackward0 · 15*x**2"))
    assert "∂(15*x**2)/∂(3*x**2) = 5 ✓" in mul
    assert "∂(dy/dx)/∂(3*x**2) ⟵ ∂(dy/dx)/∂(15*x**2) · ∂(15*x**2)/∂(3*x**2) = 1 · 5 = 5" in mul
    power = next(t for t in texts if t.startswith("PowBackward0 · x**2"))
    assert "∂(x**2)/∂(x) = 2·x = 4 ✓" in power  # (x): as the first order writes it
    assert "x.grad = ∂²y/∂x² = 64" in texts[-1]


def test_no_step_names_a_node_class_as_an_operand(client):
    for step in panel(client).select("#second-stepper ol.steps > li.step.backward"):
        for code in step.select("dd code"):
            assert "Backward" not in code.text, words(step)


@pytest.mark.parametrize("lang, words_de", [("de", ("Lokale Ableitung", "Kettenregel"))])
def test_the_walk_reads_in_german(client, lang, words_de):
    text = words(panel(client, lang))
    assert all(w in text for w in words_de)


def test_a_backward_of_a_backward_without_a_form_says_whose_numbers_it_shows(client):
    # tanh's backward (tanh_backward) has no form here: its step shows PyTorch's numbers,
    # and its node still reads as its value, x·(1 − tanh(x)²), not as its class.
    section = panel(client, expr="tanh(x)*x", x="0.5")
    step = next(s for s in section.select("#second-stepper li.step.backward")
                if s.select_one("h3").text.startswith("TanhBackwardBackward0"))
    assert step.select_one("h3 code").text == "x*(1 - tanh(x)**2)"
    sent = [words(d) for d in step.select("dl.explain dd.sent")]
    assert sent and all("PyTorch's own numbers" in t and any(c.isdigit() for c in t) for t in sent)
    assert all("?" not in words(d) and "p0" not in words(d) for d in section.select("dl.explain dd"))


def float32_product_holds(line: str) -> bool:
    """``… = a · b = c`` (or ``≈``) holds in float32, to the printed digits."""
    import math

    import numpy as np

    numbers = line.rsplit("= ", 2) if "≈" not in line else line.replace("≈", "=").rsplit("= ", 2)
    a, b = (float(t) for t in numbers[-2].strip().split(" · "))
    c = float(numbers[-1])
    product = float(np.float32(a) * np.float32(b))
    if math.isnan(c) or math.isinf(c):
        return product == c or (math.isnan(c) and math.isnan(product))
    return math.isclose(product, c, rel_tol=1e-5, abs_tol=1e-30)


@pytest.mark.parametrize(("expr", "x"), [
    ("exp(x)*x", "100"),  # exp(100) overflows float32: PyTorch multiplies by inf
    ("x**3", "-1e20"),
    (LESSON, "2"),
    ("sqrt(x)*x", "2"),
])
def test_each_chain_line_of_the_gradients_graph_is_float32_arithmetic(client, expr, x):
    """As in the first order: the factor shown is the one PyTorch multiplied, not the formula's
    float64 value (which printed 101 · 2.68812e+43 = inf for exp(x)*x at 100)."""
    lines = [words(d) for d in panel(client, expr=expr, x=x).select("[data-testid=second-chain]")]
    assert lines
    for line in lines:
        assert float32_product_holds(line), line


def test_a_value_past_float32_keeps_its_name_in_the_gradients_graph(client):
    """exp(100) is inf in float32: the node still computes exp(x), and reads so, not as
    PyTorch's class name (the step's own mark and note say that float32 overflowed)."""
    section = panel(client, expr="exp(x)*x", x="100")
    lines = [words(d) for d in section.select("[data-testid=second-chain]")]
    assert lines and not [line for line in lines if "Backward" in line], lines
    assert any("exp(x)" in line for line in lines)
    # No formula agrees with an overflowed inf: those steps give PyTorch's own numbers.
    rules = [words(d) for d in section.select("[data-testid=second-local]")]
    assert not [r for r in rules if "inf" in r and "✓" in r], rules
    assert any("PyTorch's own numbers: inf" in r for r in rules), rules
