"""The step explanations on the page: derived formulas, checks, notes, names, caching.

One test per fault the step texts had; each asserts through selectors what a
student reads. The numbers' oracle is the calculus written out by hand.
"""

from __future__ import annotations

import math

import pytest
from bs4 import BeautifulSoup

from autograd_playground.core.trace import forms
from autograd_playground.web import state as page

SEED = page.SEED


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def steps_of(client, lang: str = "en", **params) -> list:
    """Every backward step of the page, as list items (all are in the page, one shown)."""
    headers = {"Accept-Language": lang}
    return soup(client.get("/", params=params, headers=headers)).select("li.step.backward")


def step_named(items, name: str):
    return next(li for li in items if li.select_one("h3").get_text(" ", strip=True).startswith(name))


def text(node) -> str:
    return node.get_text(" ", strip=True)


@pytest.mark.parametrize(
    "expr, values, node, formula",
    [
        ("2**x", {"x": "3"}, "PowBackward2", "2^x·ln(2) = 5.54518"),
        ("pow(3, x)", {"x": "2"}, "PowBackward2", "3^x·ln(3) = 9.88751"),
        ("2**(x*y)", {"x": "1", "y": "2"}, "PowBackward2", "2^(x*y)·ln(2) = 2.77259"),
    ],
)
def test_a_constant_base_is_written_as_its_value(client, expr, values, node, formula):
    step = step_named(steps_of(client, expr=expr, **values), node)
    local_derivative = text(step.select_one("[data-testid=local-derivative]"))
    assert formula in local_derivative
    assert "x^c" not in local_derivative and "ln(x)" not in local_derivative
    assert step.select_one("[data-testid=check]") is not None


def test_an_exponent_without_requires_grad_is_named_and_defined(client):
    items = steps_of(client, expr="x**y", x="2", y="3", rg="1", grad="x")
    shown = text(step_named(items, "PowBackward1").select_one("[data-testid=local-derivative]"))
    assert "y·x^(y − 1) = 12" in shown
    assert "where y = 3" in shown
    assert "c" not in shown.split("=")[1]  # no undefined c


def test_a_matrix_product_shows_the_rule_not_a_quotient(client):
    items = steps_of(client, expr="sum([1, 2]*(A @ v))", A="[[1, 2], [3, 4]]", v="[1, 2]")
    mv = step_named(items, "MvBackward0")
    rules = [text(r) for r in mv.select("[data-testid=tensor-rule]")]
    assert any("G·vᵀ = [[1, 2], [2, 4]]" in r for r in rules)
    assert any("Aᵀ·G = [7, 10]" in r for r in rules)  # Aᵀ·[1, 2] = [1+6, 2+8]
    whole = text(mv)
    assert "[7, 5]" not in whole and "not a single number" not in whole
    assert "Chain rule" not in whole  # no element-wise chain line for a matrix product


def test_sum_and_mean_say_how_they_fan_out(client):
    items = steps_of(client, expr="mean(v*v)", v="[1, 2, 3]")
    mean = text(step_named(items, "MeanBackward0"))
    assert "n = 3" in mean and "g·1/n" in mean
    items = steps_of(client, expr="sum(v*v)", v="[1, 2, 3]")
    total = text(step_named(items, "SumBackward0"))
    assert "g·1 = [1, 1, 1]" in total and "every element" in total


def test_the_reciprocal_has_its_rule(client):
    items = steps_of(client, expr="1/x", x="2")
    reciprocal = step_named(items, "ReciprocalBackward0")
    assert "−1/x² = -0.25" in text(reciprocal.select_one("[data-testid=local-derivative]"))
    assert text(reciprocal.select_one("h3")) != "ReciprocalBackward0"  # labelled by its part


def test_where_inf_arrives_the_arithmetic_is_the_real_one(client):
    items = steps_of(client, expr="log(sqrt(x))", x="0")
    sqrt = step_named(items, "SqrtBackward0")
    shown = text(sqrt)
    assert "1/(2·√x) = inf" in shown and "inf · inf = inf" in shown
    assert not any("nan" in text(code) for code in sqrt.select("code"))
    notes = {n["data-note"] for n in sqrt.select("[data-testid=step-note]")}
    assert {"inf-arrived", "sqrt-at-zero"} <= notes


def test_a_zero_arriving_still_shows_the_local_derivative(client):
    items = steps_of(client, expr="sin(x)*x", x="0")
    sine = step_named(items, "SinBackward0")
    assert "cos(x) = 1" in text(sine.select_one("[data-testid=local-derivative]"))
    assert "0 · 1 = 0" in text(sine)
    assert "zero arrived" not in text(sine)


@pytest.mark.parametrize(
    "expr, x, node, note, words",
    [
        ("relu(x)", "0", "ReluBackward0", "relu-at-zero", "PyTorch picks 0"),
        ("abs(x)", "0", "AbsBackward0", "abs-at-zero", "sign(0) = 0"),
        ("log(x)", "-1", "LogBackward0", "outside-domain", "outside the domain"),
        ("sqrt(x)", "0", "SqrtBackward0", "sqrt-at-zero", "no finite derivative at 0"),
    ],
)
def test_non_differentiable_points_and_domains_are_explained(client, expr, x, node, note, words):
    step = step_named(steps_of(client, expr=expr, x=x), node)
    notes = {n["data-note"]: text(n) for n in step.select("[data-testid=step-note]")}
    assert note in notes and words in notes[note]


def test_refusals_name_the_output_by_the_same_rule(client):
    data = client.post("/api/graph", json={"expression": "x*y", "inputs": {"x": [1, 2], "y": 1}})
    assert data.status_code == 422
    assert "out has shape [2]" in data.text and "y has shape" not in data.text


def test_a_variable_called_y_makes_the_output_out(client):
    response = client.get("/", params={"expr": "x*y", "x": "2", "y": "3"})
    html = soup(response)
    first = html.select_one("li.step.backward")
    assert "∂out/∂(x*y) = 1" in text(first) and "∂out/∂out = 1" in text(first)
    assert "∂y/∂y" not in response.text
    assert "out = x*y" in html.select_one("#code").text
    assert "out =" in text(html.select_one("label[for=expr]"))
    assert "out.backward()" in text(html.select_one("li.step.overview"))


def test_share_titles_use_the_same_name(client):
    oembed = client.get("/oembed", params={"url": "http://testserver/?expr=x*y&x=2&y=3"}).json()
    assert oembed["title"] == "out = x*y"
    assert 'title="Autograd Playground: out = x*y"' in oembed["html"]
    plain = client.get("/oembed", params={"url": "http://testserver/?expr=x*z&x=2&z=3"}).json()
    assert plain["title"] == "y = x*z"


def test_a_tensor_without_requires_grad_is_not_called_python_arithmetic(client):
    html = soup(client.get("/", params={
        "expr": "sum(x + w*2)", "x": "1", "w": "[1, 2]", "rg": "1", "grad": "x", "forward": "1"}))
    forward = [text(li) for li in html.select("li.step.forward")]
    tensor_step = next(t for t in forward if t.startswith("Forward pass · w*2"))
    assert "plain Python arithmetic" not in tensor_step
    assert "requires_grad" in tensor_step


def test_one_forward_step_is_one_step(client):
    html = soup(client.get("/", params={"expr": "2*x", "x": "1", "forward": "1"}))
    overview = text(html.select_one("li.step.overview"))
    assert "The first step shows the forward pass" in overview
    assert "The first 1 steps" not in overview


def test_each_spelling_shows_its_own_labels_and_positions(client):
    first = soup(client.get("/", params={"expr": "x^5 + 0.25", "x": "2", "step": "2"}))
    second = soup(client.get("/", params={"expr": "x**5+0.25", "x": "2", "step": "2"}))
    assert "x^5 + 0.25" in text(first.select_one("li.step.backward h3"))
    heading = text(second.select_one("li.step.backward h3"))
    assert "x**5+0.25" in heading and "x^5" not in heading
    api = client.post("/api/graph", json={"expression": "x**5+0.25", "inputs": {"x": 2}}).json()
    assert [(n["source"], n["start"], n["end"]) for n in api["nodes"] if n["source"]] == [
        ("x**5+0.25", 0, 9), ("x**5", 0, 4)]


def test_a_wrong_rule_is_marked_on_the_page(client, monkeypatch):
    import sympy

    monkeypatch.setitem(forms.FORMS, "SinBackward0", lambda: sympy.cos(forms.P[0]))
    forms.derived.cache_clear()
    try:
        step = step_named(steps_of(client, expr="sin(x)", x="0.5"), "SinBackward0")
    finally:
        forms.derived.cache_clear()
    mismatch = step.select_one("[data-testid=mismatch]")
    assert mismatch is not None and "0.877583" in text(mismatch)  # cos(0.5), PyTorch's
    assert step.select_one("[data-testid=check]") is None


def test_every_step_of_the_lesson_is_checked(client):
    items = steps_of(client, expr=SEED, x="2")
    ops = [li for li in items if "AccumulateGrad" not in text(li.select_one("h3"))]
    assert ops and all(li.select("[data-testid=check]") for li in ops)
    assert not any(li.select("[data-testid=mismatch]") for li in items)


def test_the_explanations_are_german_in_german(client):
    items = steps_of(client, "de", expr="relu(x)", x="0")
    relu = step_named(items, "ReluBackward0")
    note = text(relu.select_one("[data-testid=step-note]"))
    assert "Knick" in note and "PyTorch nimmt" in note
    items = steps_of(client, "de", expr="mean(v)", v="[1, 2]")
    assert "teilt durch n" in text(step_named(items, "MeanBackward0"))


def test_the_api_sends_a_checked_rule_per_gradient(client):
    data = client.post("/api/graph", json={"expression": "2**x", "inputs": {"x": 3}}).json()
    step = next(s for s in data["steps"] if s["name"] == "PowBackward2")
    (rule,) = step["rules"]
    assert rule["kind"] == "local" and rule["formula"] == "2^x·ln(2)"
    assert rule["agrees"] is True
    assert rule["value"] == pytest.approx(8 * 0.6931471805599453, rel=1e-6)
    assert rule["torch"] == pytest.approx(rule["value"], rel=1e-6)


@pytest.mark.parametrize(
    "expr, values, node, words, formula",
    [
        ("sum(softmax(v)*[1, 2, 4])", {"v": "[0.5, 2, -1]"}, "SoftmaxBackward0",
         "J = diag(s) − s·sᵀ", "s ⊙ (g − g·s)"),
        ("cross_entropy(v, 1)", {"v": "[0.5, 2, -1]"}, "NllLossBackward0", "k = 1", "−g at index k"),
        ("cross_entropy(v, 1)", {"v": "[0.5, 2, -1]"}, "LogSoftmaxBackward0",
         "minus softmax(v)", "g − softmax(v)·sum(g)"),
        ("logsumexp(v)", {"v": "[0.5, 2, -1]"}, "LogsumexpBackward0", "is softmax(v)", "g·softmax(v)"),
        ("max(v)", {"v": "[1, 3, 3]"}, "MaxBackward1", "splits it evenly", "g at the largest element"),
        ("min(v)", {"v": "[1, 3, 3]"}, "MinBackward1", "smallest element receives", "g at the smallest"),
        ("mse(v, w)", {"v": "[1, 2, 4]", "w": "[0, 2, 1]"}, "MseLossBackward0", "n = 3",
         "2·(v − w)/n·g"),
    ],
)
def test_the_lessons_tensor_rules_are_explained_and_checked(client, expr, values, node, words, formula):
    step = step_named(steps_of(client, expr=expr, **values), node)
    rule = text(step.select_one("[data-testid=tensor-rule]"))
    assert words in rule and formula in rule
    assert step.select_one("[data-testid=check]") is not None
    assert "?" not in rule


@pytest.mark.parametrize(
    "expr, values, node, english, german",
    [
        ("max(v)", {"v": "[1, 3, 3]"}, "MaxBackward1", "g at the largest element", "g beim größten Element"),
        ("min(v)", {"v": "[1, 3, 3]"}, "MinBackward1", "g at the smallest element", "g beim kleinsten Element"),
        ("cross_entropy(v, 1)", {"v": "[0.5, 2, -1]"}, "NllLossBackward0", "−g at index k", "−g bei Index k"),
        ("sum(A @ B)", {"A": "[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]", "B": "[[[1, 0], [0, 1]], [[2, 1], [1, 2]]]"},
         "ExpandBackward0", "sum of G over the copies", "Summe von G über die Kopien"),
    ],
)
def test_a_rule_in_words_reads_in_the_pages_language(client, expr, values, node, english, german):
    # The API keeps the formula as the core writes it; each page shows it in its language.
    for lang, shown, other in (("en", english, german), ("de", german, english)):
        step = step_named(steps_of(client, lang, expr=expr, **values), node)
        rule = text(step.select_one("[data-testid=tensor-rule]"))
        assert f"{shown} = " in rule and other not in rule


@pytest.mark.parametrize(
    "expr, values, node, formula, note",
    [
        ("maximum(x, y)", {"x": "1.5", "y": "1.5"}, "MaximumBackward0", "[x > y] + ½·[x = y] = 0.5", "tie-split"),
        ("clamp(x, 0, 1)", {"x": "1"}, "ClampBackward1", "[x ≥ 0]·[x ≤ 1] = 1", "clamp-at-bound"),
    ],
)
def test_ties_and_bounds_name_pytorchs_subgradient(client, expr, values, node, formula, note):
    step = step_named(steps_of(client, expr=expr, **values), node)
    assert formula in text(step.select_one("[data-testid=local-derivative]"))
    shown = step.select_one(f"[data-testid=step-note][data-note={note}]")
    assert shown is not None and "PyTorch" in text(shown)


NEURON = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
NEURON_AT = {"w": "0.5", "x": "1.5", "b": "0.1", "t": "1"}


def number_after(shown: str, prefix: str) -> float:
    """The number that follows ``prefix = `` in a shown formula."""
    return float(shown.split(prefix + " = ", 1)[1].split()[0])


def test_a_programs_steps_speak_of_its_names(client):
    items = steps_of(client, expr=NEURON, **NEURON_AT)
    # By hand: z = 0.85, h = tanh(z); loss = (h − t)², so ∂loss/∂h = 2(h − 1) and
    # ∂loss/∂z = 2(h − 1)·(1 − h²).
    h = math.tanh(0.5 * 1.5 + 0.1)
    tanh = step_named(items, "TanhBackward0")
    assert text(tanh.select_one("h3")) == "TanhBackward0 · h = tanh(z)"
    arrived = text(tanh.select_one("[data-testid=arrived]"))
    assert number_after(arrived, "∂loss/∂h") == pytest.approx(2 * (h - 1), rel=1e-5)
    shown = text(tanh.select_one("[data-testid=local-derivative]"))
    assert shown.startswith("∂h/∂z = 1 − tanh(z)² = ")
    assert number_after(shown, "1 − tanh(z)²") == pytest.approx(1 - h * h, rel=1e-5)
    chain = text(tanh)
    assert "∂loss/∂z ⟵ ∂loss/∂h · ∂h/∂z" in chain
    add = step_named(items, "AddBackward0")
    assert text(add.select_one("h3")) == "AddBackward0 · z = w*x + b"
    arrived = text(add.select_one("[data-testid=arrived]"))
    assert number_after(arrived, "∂loss/∂z") == pytest.approx(2 * (h - 1) * (1 - h * h), rel=1e-5)
    # The output: backward() starts at ∂loss/∂loss = 1, and the unnamed h - t keeps its text.
    power = step_named(items, "PowBackward0")
    assert "∂loss/∂loss = 1" in text(power.select_one("[data-testid=arrived]"))
    assert "∂loss/∂(h - t) = 2·(h - t)" in text(power.select_one("[data-testid=local-derivative]"))
    sub = step_named(items, "SubBackward0")
    assert "∂loss/∂h ⟵ ∂loss/∂(h - t) · ∂(h - t)/∂h" in text(sub)


def test_a_single_function_keeps_its_labels(client):
    items = steps_of(client, expr="x**2 + 1", x="2")
    power = step_named(items, "PowBackward0")
    assert text(power.select_one("h3")) == "PowBackward0 · x**2"
    assert text(power.select_one("[data-testid=arrived]")).startswith("∂y/∂(x**2) = 1")
    assert text(power.select_one("[data-testid=local-derivative]")).startswith("∂(x**2)/∂(x) = 2·x")


def test_the_forward_pass_of_a_program_names_each_line(client):
    body = soup(client.get("/", params={"expr": NEURON, "forward": "1", **NEURON_AT}))
    heads = [text(h) for h in body.select("li.step.forward h3")]
    assert "Forward pass · h = tanh(z)" in heads and "Forward pass · z = w*x + b" in heads


# --- the chain rule's line is float32's own arithmetic (issue 23) -----------------------


@pytest.mark.parametrize(
    "expr, values, node, line",
    [
        ("exp(x)", {"x": "100"}, "ExpBackward0", "1 · inf = inf"),
        ("0*exp(x)", {"x": "100"}, "ExpBackward0", "0 · inf = nan"),
        ("x**3", {"x": "-1e20"}, "PowBackward0", "1 · inf = inf"),
        ("1/x", {"x": "1e-30"}, "ReciprocalBackward0", "1 · -inf = -inf"),
    ],
)
def test_the_chain_line_shows_the_float32_numbers_pytorch_multiplied(client, expr, values, node, line):
    # The float64 formula gives 2.68812e+43 for e^100: the line showed "1 · 2.68812e+43 = inf".
    step = step_named(steps_of(client, expr=expr, **values), node)
    shown = text(step.select_one("dd.sent.chain code"))
    assert shown.endswith(line), shown
    # The local derivative's own line keeps the mathematics, with its ✗ and why.
    assert step.select_one("[data-testid=mismatch]") is not None
    assert "float32-overflow" in [n["data-note"] for n in step.select("[data-testid=step-note]")]


def test_every_chain_line_is_the_step_datas_float32_product_as_the_number_writer_prints_it(client):
    import numpy as np

    from autograd_playground.core.teach.explain import brief

    # At x = 2, y = 3 sqrt's and sigmoid's kernels round otherwise (checked below, not assumed).
    params = {"expr": "3*sqrt(x)*exp(y) + log(x)/y + 1.37*sigmoid(x*y)", "x": "2", "y": "3"}
    data = client.post("/api/graph", json={"expression": params["expr"],
                                           "inputs": {"x": 2, "y": 3}}).json()
    items = steps_of(client, **params)
    checked, approximate = 0, 0
    for step, item in zip(data["steps"], items, strict=True):
        lines = item.select("dd.sent.chain code")
        rules = [(r, s) for r, s in zip(step["rules"], step["grad_inputs"], strict=False)
                 if r and r["kind"] == "local" and "broadcast" not in r["notes"]]
        assert len(lines) == len(rules)
        for line, (rule, sent) in zip(lines, rules, strict=True):
            arrived = step["grad_outputs"][0]
            product = np.float32(float(arrived)) * np.float32(float(rule["torch"]))
            equal = "≈" not in text(line)
            assert (product == np.float32(float(sent))) == equal
            assert ("kernel-order" in rule["notes"]) == (not equal)
            assert "kernel-own" not in rule["notes"]
            sign = "=" if equal else "≈"
            assert text(line).endswith(f"{brief(arrived)} · {brief(rule['torch'])} {sign} {brief(sent)}")
            checked += 1
            approximate += not equal
    assert checked >= 10 and approximate == 2


def test_a_kernel_that_divides_is_said_in_a_note_in_english_and_german(client):
    # sqrt sends arrived/(2·√x): with 3 arriving at x = 2, one rounding from 3 · 0.353553.
    for lang, words in (("en", "its own order"), ("de", "eigenen Reihenfolge")):
        step = step_named(steps_of(client, lang, expr="3*sqrt(x)", x="2"), "SqrtBackward0")
        assert text(step.select_one("dd.sent.chain code")).endswith("3 · 0.353553 ≈ 1.06066")
        note = step.select_one("[data-note=kernel-order]")
        assert note is not None and words in text(note)


def test_a_kernel_that_sets_what_it_sends_is_said_and_no_product_shown(client):
    # relu at −1 with −inf arriving (log(0)): PyTorch sends 0, where −inf · 0 would be nan.
    step = step_named(steps_of(client, expr="relu(x)*log(y)", x="-1", y="0"), "ReluBackward0")
    line = text(step.select_one("dd.sent.chain code"))
    assert line.endswith("∂(relu(x))/∂(x) = 0") and "·  0" not in line and "-inf ·" not in line
    notes = [n["data-note"] for n in step.select("[data-testid=step-note]")]
    assert "kernel-own" in notes and "inf-arrived" not in notes
    assert "sets what it sends itself" in text(step.select_one("[data-note=kernel-own]"))
