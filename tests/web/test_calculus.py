"""The calculus around a result, through httpx: the API's new fields, /calculus, exercise mode,
the share panel's links and snippets for the new modes.

The lesson: 5*x**3 + 2*x**2 + 4*x + 8 at x = 2; by hand y = 64, dy/dx = 15x² + 4x + 4 = 72,
d²y/dx² = 30x + 4 = 64, and a second backward() without zeroing leaves x.grad = 144.
"""

from __future__ import annotations

import asyncio
import html
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from autograd_playground.core.language.rules import Extras, Limits
from autograd_playground.core.result import Step
from autograd_playground.serve.jobs import make_job
from autograd_playground.web import state as page

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"
EXTRAS = {"symbolic", "plot", "second_order", "accumulation"}


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def post(client, **body):
    return client.post("/api/graph", json={"expression": LESSON, "inputs": {"x": 2}, **body})


# --- the API ----------------------------------------------------------------------


def test_the_default_answer_is_unchanged(client):
    data = post(client).json()
    assert not EXTRAS & set(data)
    assert data["gradients"] == {"x": 72.0}


def test_symbolic_adds_dy_dx_beside_x_grad_and_the_plot(client):
    data = post(client, symbolic=True).json()
    (d,) = data["symbolic"]["derivatives"]
    assert (d["variable"], d["text"], d["value"], d["grad"], d["agrees"]) == (
        "x", "15*x**2 + 4*x + 4", 72.0, 72.0, True)
    assert data["plot"]["slope"] == 72.0
    assert "second_order" not in data and "accumulation" not in data


def test_order_2_adds_the_second_derivative_and_its_graph(client):
    data = post(client, order=2).json()
    assert data["second_order"]["second"] == {"x": 64.0}
    assert data["second_order"]["graph"]["steps"]
    assert "symbolic" not in data


def test_accumulate_adds_x_grad_after_two_backward_calls(client):
    assert post(client, accumulate=True).json()["accumulation"]["twice"] == {"x": 144.0}


@pytest.mark.parametrize("body, field", [
    ({"order": 3}, "order"),
    ({"order": 0}, "order"),
    ({"order": "2"}, "order"),
    ({"symbolic": "yes"}, "symbolic"),
    ({"accumulate": 1}, "accumulate"),
])
def test_bad_values_of_the_new_fields_are_refused_with_a_sentence(client, body, field):
    response = post(client, **body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and field in detail


def test_symbolic_on_a_huge_function_falls_back_to_finite_differences(client):
    expression = " + ".join(["sin(x)*x"] * 30)  # 149 nodes; dy/dx = 30(sin x + x cos x)
    response = client.post("/api/graph", json={
        "expression": expression, "inputs": {"x": 1}, "symbolic": True, "order": 2})
    assert response.status_code == 200
    data = response.json()
    assert data["symbolic"]["kind"] == "finite_difference"
    (d,) = data["symbolic"]["derivatives"]
    import math
    assert d["value"] == pytest.approx(30 * (math.sin(1) + math.cos(1)), rel=1e-5)
    assert data["second_order"]["graph"] is None and data["second_order"]["note"]


def test_the_extras_have_their_own_cache_key_and_the_default_keeps_its_own():
    limits = Limits()
    plain = make_job(LESSON, {"x": 2}, None, "torchviz", limits)
    again = make_job(LESSON, {"x": 2}, None, "torchviz", limits, Extras())
    symbolic = make_job(LESSON, {"x": 2}, None, "torchviz", limits, Extras(symbolic=True))
    second = make_job(LESSON, {"x": 2}, None, "torchviz", limits, Extras(order=2))
    assert plain.key == again.key
    assert len({plain.key, symbolic.key, second.key}) == 3


def test_the_schema_documents_the_new_fields(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    request = schema["GraphRequest"]["properties"]
    assert {"symbolic", "order", "accumulate"} <= set(request)
    assert request["order"]["enum"] == [1, 2] or "enum" in str(request["order"])


# --- the page's calculus block ---------------------------------------------------------


def test_the_page_loads_the_calculus_after_the_result(client):
    page_ = soup(client.get("/", params={"expr": LESSON, "x": "2", "order": "2"}))
    loader = page_.select_one("[data-testid=derivative]")
    assert loader["hx-trigger"] == "load"
    query = parse_qs(urlsplit(loader["hx-get"]).query)
    assert urlsplit(loader["hx-get"]).path == "/calculus"
    assert query["expr"] == [LESSON] and query["order"] == ["2"]
    # The page itself did not wait for it.
    assert page_.select_one("[data-testid=symbolic-x]") is None


def test_calculus_shows_dy_dx_its_value_and_the_agreement(client):
    block = soup(client.get("/calculus", params={"expr": LESSON, "x": "2"}))
    formula = block.select_one("[data-testid=symbolic-x]")
    assert formula["data-text"] == "15*x**2 + 4*x + 4"
    assert formula.select_one("math") is not None
    assert [mn.text for mn in formula.select("mn")] == ["15", "2", "4", "4"]
    assert block.select_one("[data-testid=symbolic-value-x]").text == "72"
    assert "agree" in block.select_one("[data-testid=agree-x]")["class"][1:] or \
        "yes" in block.select_one("[data-testid=agree-x]")["class"]
    plot = block.select_one("[data-testid=plot] svg")
    assert plot["role"] == "img" and plot.select_one("title").text
    assert "72" in plot.select_one("desc").text
    assert not block.select("[style]")  # the CSP allows no inline styles


def test_a_step_in_dy_dx_reads_as_the_step_panel_writes_it(client):
    # maximum(x, y) at a tie: sympy's Heaviside(x − y), which its printer writes Θ(x − y, 1/2),
    # reads [x > y] + ½·[x = y], as the step panel writes it; both give PyTorch's ½.
    block = soup(client.get("/calculus", params={"expr": "maximum(x, y)", "x": "1", "y": "1"}))
    formula = block.select_one("[data-testid=symbolic-x]")
    assert formula["data-text"] == "[x > y] + [x = y]/2"
    assert "Θ" not in formula.text and "Heaviside" not in formula.text
    assert [mo.text for mo in formula.select("mo")] == ["[", ">", "]", "+", "⁢", "[", "=", "]"]
    assert block.select_one("[data-testid=symbolic-value-x]").text == "0.5"
    assert "yes" in block.select_one("[data-testid=agree-x]")["class"]
    page_ = soup(client.get("/", params={"expr": "maximum(x, y)", "x": "1", "y": "1"}))
    shown = [li.get_text(" ", strip=True) for li in page_.select("[data-testid=local-derivative]")]
    assert any("[x > y] + ½·[x = y] = 0.5" in s for s in shown)


def test_calculus_shows_second_order_and_accumulation(client):
    block = soup(client.get("/calculus", params={
        "expr": LESSON, "x": "2", "order": "2", "accumulate": "1"}))
    assert block.select_one("[data-testid=second-x]").text == "64"
    graph = block.select_one("[data-testid=second-graph] svg")
    ids = [g["id"] for g in graph.select("g.node")]
    assert ids and all(i.startswith("second-") for i in ids)  # unique beside the first graph
    steps = block.select("#second-stepper ol.steps > li")
    assert len(steps) == int(block.select_one("#second-stepper")["data-total"]) + 1
    assert all(li["data-node"] in ids for li in steps[1:])
    assert "64" in steps[-1].text  # the last step fills x.grad with d²y/dx²
    assert block.select_one("[data-testid=accumulated-value-x]").text == "144"
    assert "zero_grad()" in block.select_one("[data-testid=accumulation]").text


def test_calculus_speaks_german(client):
    block = soup(client.get("/calculus", params={
        "expr": LESSON, "x": "2", "order": "2", "accumulate": "1", "lang": "de"}))
    text = block.get_text(" ")
    assert "Die Ableitung neben Autograd" in text
    assert "stimmen überein" in text
    assert "Zweite Ableitung" in text and "Gradienten summieren sich" in text
    assert block.select_one("[data-testid=plot] title").text.startswith("y als Funktion von x")


def test_a_tensor_function_says_why_it_has_no_formula(client):
    block = soup(client.get("/calculus", params={
        "expr": "sum(x*x)", "x": "[1, 2]", "lang": "de"}))
    assert "Differenzenquotienten" in block.select_one("[data-testid=symbolic-reason]").text
    assert block.select_one("[data-testid=plot]") is None


def test_hide_derivative_removes_the_panel(client):
    page_ = soup(client.get("/", params={"expr": LESSON, "x": "2", "hide": "derivative"}))
    assert page_.select_one("[data-testid=derivative]") is None


def test_an_embed_loads_the_derivative_only_when_asked(client):
    page_ = soup(client.get("/embed", params={"expr": LESSON, "x": "2"}))
    button = page_.select_one("[data-testid=show-derivative]")
    assert button is not None and not page_.select("[hx-trigger=load]")
    page_ = soup(client.get("/embed", params={"expr": LESSON, "x": "2", "order": "2"}))
    assert page_.select_one("[data-testid=derivative]")["hx-trigger"] == "load"


def test_calculus_of_a_bad_function_is_the_error_sentence(client):
    block = client.get("/calculus", params={"expr": "x +", "x": "2"})
    assert block.status_code == 200
    assert BeautifulSoup(block.text, "html.parser").select_one("[data-testid=derivative]") is None


# --- the URL state -------------------------------------------------------------------


def test_the_new_modes_round_trip_through_the_url():
    state = page.from_query({"expr": LESSON, "x": "2", "exercise": "1", "order": "2",
                             "accumulate": "1"})
    assert (state.exercise, state.order, state.accumulate) == (True, 2, True)
    again = page.from_query(parse_qs(state.query()))
    assert (again.exercise, again.order, again.accumulate) == (True, 2, True)
    assert page.from_query({"expr": LESSON, "order": "3"}).order == 1


def test_the_form_keeps_the_modes_for_a_recomputation(client):
    form = soup(client.get("/", params={
        "expr": LESSON, "x": "2", "exercise": "1", "order": "2", "accumulate": "1"}
    )).select_one("form#playground")
    assert {i["name"]: i["value"] for i in form.select("input[type=hidden]")
            if i["name"] in ("exercise", "order", "accumulate")} == {
        "exercise": "1", "order": "2", "accumulate": "1"}


# --- exercise mode -------------------------------------------------------------------


def test_exercise_mode_asks_for_every_steps_outgoing_gradient(client):
    page_ = soup(client.get("/", params={"expr": LESSON, "x": "2", "exercise": "1"}))
    assert page_.select_one("#stepper")["data-exercise"] == "1"
    forms = page_.select("div.exercise")
    assert len(forms) == 9  # every step of the lesson sends single numbers
    expected = {f["data-testid"]: [float(i["data-expect"]) for i in f.select("input")]
                for f in forms}
    # By hand: y = (5x³ + 2x² + 4x) + 8, so the output's AddBackward0 sends 1 to the sum
    # (the constant 8 gets nothing); the leaf's x.grad is 72.
    leaf = page_.select_one("li.step.backward:last-of-type div.exercise")
    assert [float(i["data-expect"]) for i in leaf.select("input")] == [72.0]
    assert expected["exercise-1"] == [1.0]
    assert page_.select_one("[data-testid=exercise-summary]")["data-template"].count("{k}") == 1


def test_without_exercise_there_are_no_questions(client):
    page_ = soup(client.get("/", params={"expr": LESSON, "x": "2"}))
    assert not page_.select("div.exercise") and not page_.select_one("#stepper").has_attr(
        "data-exercise")


def test_exercise_mode_speaks_german(client):
    page_ = soup(client.get("/", params={"expr": LESSON, "x": "2", "exercise": "1",
                                         "lang": "de"}))
    text = page_.select_one(".exercise-text")
    assert text["data-right"] == "Richtig!"
    assert "1/2" in text["data-unreadable"]
    assert "Welchen Wert hat x.grad?" in page_.get_text(" ")


@pytest.mark.parametrize("step, expected", [
    (Step(1, "n0", "AddBackward0", (1.0,), (1.0, 1.0), ("n1", "n2"), (1.0, 1.0)), [1.0, 1.0]),
    (Step(2, "n1", "MulBackward0", (1.0,), (12.0, None), ("n3", None), (12.0, None)), [12.0]),
    (Step(3, "n4", "AccumulateGrad", (72.0,), (), (), (), accumulated=72.0), [72.0]),
    (Step(4, "n1", "MulBackward0", ([1.0, 1.0],), ([2.0, 2.0],), ("n3",), (None,)), None),
    (Step(5, "n1", "DivBackward0", (1.0,), ("inf",), ("n3",), (None,)), None),
])
def test_the_questions_are_the_single_finite_numbers_a_step_sends(step, expected):
    assert page.exercise_answers(step) == expected


# --- sharing ------------------------------------------------------------------------------


def test_the_share_panel_links_to_each_new_mode(client):
    share = soup(client.get("/", params={"expr": LESSON, "x": "2"})).select_one(
        "[data-testid=share]")
    for testid, name, value in [("share-link-exercise", "exercise", "1"),
                                ("share-link-order", "order", "2"),
                                ("share-link-accumulate", "accumulate", "1")]:
        query = parse_qs(urlsplit(share.select_one(f"[data-testid={testid}]")["href"]).query)
        assert query[name] == [value] and query["expr"] == [LESSON]


@pytest.mark.parametrize("name, value", [("exercise", "1"), ("order", "2"), ("accumulate", "1")])
def test_the_share_snippet_carries_each_new_mode(client, name, value):
    state = f"expr={LESSON}&x=2".replace("+", "%2B")
    snippet = soup(client.get("/share", params={"state": state, "options": "1", "readonly": "1",
                                                name: value}))
    code = html.unescape(snippet.select_one("[data-testid=share-snippet]").text)
    src = BeautifulSoup(code, "html.parser").select_one("iframe")["src"]
    assert parse_qs(urlsplit(src).query)[name] == [value]
    other = {"exercise", "order", "accumulate"} - {name}
    assert not other & set(parse_qs(urlsplit(src).query))


def test_the_share_options_start_from_the_modes_on_screen(client):
    share = soup(client.get("/", params={"expr": LESSON, "x": "2", "exercise": "1"})).select_one(
        "[data-testid=share]")
    assert share.select_one("[data-testid=share-exercise]").has_attr("checked")
    assert not share.select_one("[data-testid=share-order]").has_attr("checked")
    src = BeautifulSoup(html.unescape(share.select_one("[data-testid=share-snippet]").text),
                        "html.parser").select_one("iframe")["src"]
    assert parse_qs(urlsplit(src).query)["exercise"] == ["1"]


def test_hostile_values_of_the_new_parameters_leave_the_modes_off(client):
    params = {"expr": LESSON, "x": "2", "order": "3", "exercise": "<script>",
              "accumulate": "1' or 1=1"}
    page_ = soup(client.get("/", params=params))
    assert not page_.select("div.exercise")
    block = soup(client.get("/calculus", params=params))
    assert block.select_one("[data-testid=second-order]") is None
    assert block.select_one("[data-testid=accumulation]") is None
    assert block.select_one("[data-testid=symbolic-x]") is not None
    assert "<script>" not in block.decode()


def test_new_modes_are_reserved_names_a_variable_cannot_take(client):
    page_ = soup(client.get("/", params={"expr": "order*2", "order": "2"}))
    assert "reserved" in page_.select_one("[data-testid=error]").text


def test_the_panels_call_the_output_out_when_a_variable_is_called_y(client):
    block = soup(client.get("/calculus", params={
        "expr": "x**2*y", "x": "3", "y": "2", "order": "2", "accumulate": "1"}))
    text = block.get_text(" ")
    assert "∂out/∂x" in text and "∂²out/∂x²" in text and "out.backward()" in text
    assert "∂y/∂x" not in text
    # By hand: d/dx x²y = 2xy = 12, d/dy = x² = 9; second: 2y = 4 and 0.
    assert block.select_one("[data-testid=symbolic-value-x]").text == "12"
    assert block.select_one("[data-testid=symbolic-value-y]").text == "9"
    assert block.select_one("[data-testid=second-x]").text == "4"


# --- a quick panel comes with the result ------------------------------------------


def derivative_of(response) -> tuple[BeautifulSoup, BeautifulSoup | None]:
    block = soup(response)
    return block, block.select_one("[data-testid=derivative]")


def test_once_its_panel_was_quick_a_function_s_result_carries_it(client):
    hx = {"HX-Request": "true", "HX-Target": "result"}
    before, loader = derivative_of(client.get("/", params={"expr": LESSON, "x": "3"}, headers=hx))
    assert loader["hx-trigger"] == "load" and before.select_one("[data-testid=symbolic-x]") is None

    soup(client.get("/calculus", params={"expr": LESSON, "x": "2"}))

    # Another student's value: the result carries the panel, worked out for x = 4
    # (by hand: 15·16 + 4·4 + 4 = 260), and nothing is left to load.
    block, panel = derivative_of(client.get("/", params={"expr": LESSON, "x": "4"}, headers=hx))
    assert panel is not None and not panel.has_attr("hx-get")
    assert block.select_one("[data-testid=symbolic-x]")["data-text"] == "15*x**2 + 4*x + 4"
    assert block.select_one("[data-testid=symbolic-value-x]").text == "260"
    assert "yes" in block.select_one("[data-testid=agree-x]")["class"]
    assert "x.grad = 260" in block.text  # PyTorch's own number, beside it
    # The whole page too; another function, or other switches, still load theirs.
    _, panel = derivative_of(client.get("/", params={"expr": LESSON, "x": "-1"}))
    assert panel.select_one("[data-testid=symbolic-x]") is not None
    for params in ({"expr": "x**2*y", "x": "3", "y": "2"}, {"expr": LESSON, "x": "3", "order": "2"}):
        _, panel = derivative_of(client.get("/", params=params, headers=hx))
        assert panel["hx-trigger"] == "load", params


def test_an_embed_keeps_its_panel_closed_even_for_a_quick_function(client):
    soup(client.get("/calculus", params={"expr": LESSON, "x": "2"}))
    embed, panel = derivative_of(client.get("/embed", params={"expr": LESSON, "x": "3"}))
    assert panel.has_attr("hidden") and not panel.contents
    assert embed.select_one("[data-testid=symbolic-x]") is None


def test_a_slow_panel_does_not_come_with_the_result(client, monkeypatch):
    from autograd_playground.web import pages

    monkeypatch.setattr(pages, "QUICK_CALCULUS_SECONDS", 0.0)  # every panel counts as slow
    soup(client.get("/calculus", params={"expr": LESSON, "x": "2"}))
    _, loader = derivative_of(client.get("/", params={"expr": LESSON, "x": "3"},
                                         headers={"HX-Request": "true", "HX-Target": "result"}))
    assert loader["hx-trigger"] == "load"


def test_a_program_s_second_order_panel_and_api_answer(client):
    program = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
    values = {"w": "0.5", "x": "1.5", "b": "0.1", "t": "1"}
    block = soup(client.get("/calculus", params={"expr": program, **values, "order": "2"}))
    assert block.select_one("[data-testid=derivative]") is not None
    response = client.post("/api/graph", json={
        "expression": program, "inputs": {k: float(v) for k, v in values.items()}, "order": 2})
    assert response.status_code == 200, response.text
    assert set(response.json()["second_order"]["second"]) == set(values)


def slow_panel(monkeypatch, seconds: float) -> None:
    """sympy's part of the panel takes ``seconds`` longer (in-process computing)."""
    from autograd_playground.core.teach import calculus

    real = calculus.derivatives

    def slow(*args, **kwargs):
        import time

        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(calculus, "derivatives", slow)


def test_a_panel_from_the_result_cache_does_not_count_as_quick(client, monkeypatch):
    hx = {"HX-Request": "true", "HX-Target": "result"}
    slow_panel(monkeypatch, 0.4)
    soup(client.get("/calculus", params={"expr": LESSON, "x": "2"}))  # 0.4 s: not quick
    # The same values by another address: the engine's cache answers at once.
    soup(client.get("/calculus", params={"expr": LESSON, "x": "2", "step": "1"}))
    _, loader = derivative_of(client.get("/", params={"expr": LESSON, "x": "4"}, headers=hx))
    assert loader["hx-trigger"] == "load"


def test_a_panel_that_waited_for_a_worker_counts_by_the_worker_s_time(client, monkeypatch):
    """A panel aside waits its turn in a class's first seconds (Engine.aside_slots): whether
    it is quick is what its worker took, not the wait."""
    from autograd_playground.serve.engine import Engine

    real = Engine.compute

    async def after_a_wait(self, job, **kwargs):
        await asyncio.sleep(0.4)  # a wait longer than QUICK_CALCULUS_SECONDS
        return await real(self, job, **kwargs)

    monkeypatch.setattr(Engine, "compute", after_a_wait)
    soup(client.get("/calculus", params={"expr": LESSON, "x": "2"}))
    monkeypatch.setattr(Engine, "compute", real)
    _, panel = derivative_of(client.get("/", params={"expr": LESSON, "x": "4"},
                                        headers={"HX-Request": "true", "HX-Target": "result"}))
    assert panel is not None and not panel.has_attr("hx-get")  # carried: marked quick


def test_a_carried_panel_that_overruns_leaves_the_result_and_loads_apart(client, monkeypatch):
    from autograd_playground.serve.engine import Engine, Overrun

    hx = {"HX-Request": "true", "HX-Target": "result"}
    soup(client.get("/calculus", params={"expr": LESSON, "x": "2"}))  # quick: marked
    real = Engine.compute

    async def overrun_with_panel(self, job, **kwargs):
        if job.extras.symbolic:
            raise Overrun("timeout")
        return await real(self, job, **kwargs)

    monkeypatch.setattr(Engine, "compute", overrun_with_panel)
    block, loader = derivative_of(client.get("/", params={"expr": LESSON, "x": "4"}, headers=hx))
    assert "x.grad = 260" in block.text  # the result itself, by hand 15·16 + 16 + 4
    assert loader["hx-trigger"] == "load"
    assert block.select_one("[data-testid=error]") is None


def test_a_worker_new_to_the_function_sends_the_result_and_the_panel_loads_apart(
    client, monkeypatch
):
    """A carried panel is computed only where the formula is known: a worker started
    after the panel was marked quick (and lent nothing) answers the result at once."""
    from autograd_playground.core.teach import calculus
    from autograd_playground.serve.formulas import Formulas

    hx = {"HX-Request": "true", "HX-Target": "result"}
    soup(client.get("/calculus", params={"expr": LESSON, "x": "2"}))  # quick: marked
    monkeypatch.setattr(calculus, "_FORMS", calculus.new_forms_cache(10**6))
    client.app.state.engine.formulas = Formulas()
    block, loader = derivative_of(client.get("/", params={"expr": LESSON, "x": "4"}, headers=hx))
    assert "x.grad = 260" in block.text  # by hand: 15·16 + 4·4 + 4
    assert loader["hx-trigger"] == "load" and block.select_one("[data-testid=error]") is None
    panel = soup(client.get(loader["hx-get"]))
    assert panel.select_one("[data-testid=symbolic-x]")["data-text"] == "15*x**2 + 4*x + 4"
    assert panel.select_one("[data-testid=symbolic-value-x]").text == "260"
    # Derived now: the next student's result carries it again.
    _, carried = derivative_of(client.get("/", params={"expr": LESSON, "x": "1"}, headers=hx))
    assert carried.select_one("[data-testid=symbolic-value-x]").text == "23"


def test_the_exercise_submits_no_form_and_hints_at_the_rule_not_the_value(client):
    """A frame sandboxed without allow-forms blocks every form submission, so the
    question is no form; its hint names the op and its local derivative."""
    page_ = soup(client.get("/", params={"expr": LESSON, "x": "2", "exercise": "1"}))
    assert not page_.select("#stepper form")
    assert all(b["type"] == "button" for b in page_.select(".exercise button"))
    hint = page_.select_one("[data-testid=exercise-8]")["data-hint"]
    sent = [float(i["data-expect"]) for i in page_.select("[data-testid=exercise-8] input")]
    assert "Backward0" in hint and "∂" in hint
    assert not any(f"{v:g}" in hint.split("=")[-1] for v in sent if v not in (0, 1)), hint
    assert "exercise" in page_.select_one("[data-testid=exercise-intro]").get_text()
    assert not page_.select("[data-testid=view-annotated]")  # it would write every gradient
