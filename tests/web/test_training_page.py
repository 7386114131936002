"""The training view of the page: train= in the URL, its table, chart, links and refusals."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from autograd_playground.web import state as page

NEURON = {"expr": "(tanh(w*x + b) - t)^2", "w": "0.5", "x": "1.5", "b": "0.1", "t": "1",
          "rg": "1", "grad": ["w", "b"]}


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:500]
    return BeautifulSoup(response.text, "html.parser")


def test_the_training_view_shows_every_step_and_the_loss_falls(client) -> None:
    html = soup(client.get("/", params={**NEURON, "train": "w,b"}))
    rows = html.select("[data-testid=training-row]")
    assert len(rows) == 20
    losses = [float(r.select("td")[0].get_text()) for r in rows]
    assert losses[-1] < losses[0] / 5
    assert html.select_one("[data-testid=loss-chart]") is not None
    assert len(html.select("[data-testid=loss-chart] circle")) == 20
    assert "torch.optim.SGD([w, b], lr=0.1)" in html.select_one("#training-code").get_text()
    assert html.select_one("[data-testid=training]").has_attr("open")


def test_a_step_opens_the_playground_at_its_parameters_with_the_same_gradient(client) -> None:
    html = soup(client.get("/", params={**NEURON, "train": "w,b", "steps": "6"}))
    row = html.select("[data-testid=training-row]")[4]
    w_grad = float(row.select("td")[2].get_text())
    link = html.select_one("[data-testid=training-open-5]")["href"]
    query = parse_qs(urlsplit(link).query)
    assert "train" not in query
    opened = client.get(link)
    data = client.post("/api/graph", json={
        "expression": NEURON["expr"],
        "inputs": {k: float(v[0]) for k, v in query.items() if k in ("w", "x", "b", "t")},
    }).json()
    assert opened.status_code == 200
    assert data["gradients"]["w"] == pytest.approx(w_grad, rel=1e-5)


def test_accumulate_leaves_zero_grad_out_and_says_why(client) -> None:
    params = {"expr": "(w*x - 3)^2", "w": "0", "x": "1", "rg": "1", "grad": "w", "train": "w",
              "steps": "2"}
    plain = soup(client.get("/", params=params))
    added = soup(client.get("/", params={**params, "accumulate": "1"}))
    grad = lambda html: float(html.select("[data-testid=training-row]")[1].select("td")[2].get_text())
    assert grad(plain) == pytest.approx(-4.8)
    assert grad(added) == pytest.approx(-10.8)
    assert "zero_grad()" in added.select_one("[data-testid=training]").get_text()
    assert "optimizer.zero_grad()\n" not in added.select_one("#training-code").get_text()


@pytest.mark.parametrize(
    "change, words",
    [({"lr": "fast"}, "not a number"), ({"lr": "50"}, "learning rate"), ({"train": "q"}, "'q'")],
)
def test_a_run_that_cannot_be_made_says_why_and_the_rest_stays(client, change, words) -> None:
    html = soup(client.get("/", params={**NEURON, "train": "w", **change}))
    assert words in html.select_one("[data-testid=training-error]").get_text()
    assert html.select_one("#stepper") is not None  # the walk-through is still there


def test_a_diverging_run_says_so(client) -> None:
    html = soup(client.get("/", params={"expr": "x^2", "x": "1000", "train": "x", "lr": "10",
                                        "steps": "100"}))
    assert html.select_one("[data-testid=training-diverged]") is not None


def test_the_view_round_trips_through_the_url() -> None:
    state = page.from_query({"expr": "w*x", "w": "1", "x": "2", "train": "w", "lr": "0,05",
                             "steps": "7", "accumulate": "1"})
    assert (state.train, state.lr, state.steps, state.accumulate) == (("w",), "0,05", 7, True)
    again = page.from_query(parse_qs(urlsplit(state.url()).query))
    assert again == state
    assert page.read_params(["w,b", "c", "1bad,__x__,ä"]) == ("w", "b", "c", "__x__")


def test_an_embed_shows_the_training_read_only_and_hide_removes_it(client) -> None:
    embed = soup(client.get("/embed", params={**NEURON, "train": "w,b", "readonly": "1"}))
    assert len(embed.select("[data-testid=training-row]")) == 20
    assert embed.select_one("[data-testid=training-form]") is None
    hidden = soup(client.get("/embed", params={**NEURON, "train": "w,b", "hide": "training"}))
    assert hidden.select_one("[data-testid=training]") is None


@pytest.mark.parametrize(
    "hostile",
    [
        {"train": ",".join(["w"] * 500)},
        {"train": "w", "steps": "99999"},
        {"train": "w", "lr": "1e309"},
        {"train": "w", "lr": "nan"},
        {"train": "w", "lr": "-0"},
        {"train": "__class__,w"},
        {"train": "w", "lr": "٠٫١"},
        {"train": "w", "steps": "²"},
    ],
)
def test_hostile_training_parameters_leave_the_server_serving(client, hostile) -> None:
    response = client.get("/", params={**NEURON, **hostile})
    assert response.status_code == 200
    # A new computation still works afterwards.
    fresh = client.post("/api/train", json={"expression": "(w - 2)^2", "inputs": {"w": 0},
                                            "params": ["w"], "lr": 0.25, "steps": 2})
    assert fresh.json()["steps"][1]["params"]["w"] == pytest.approx(1.0)


def test_by_default_only_the_parameters_are_ticked_and_the_page_says_why(client) -> None:
    html = soup(client.get("/", params={k: v for k, v in NEURON.items() if k not in ("rg", "grad")}))
    ticked = {box["value"] for box in html.select("[data-testid^=train-] input[name=train], input[name=train]")
              if box.has_attr("checked")}
    assert ticked == {"w", "b"}
    assert "inputs and targets" in html.select_one("[data-testid=train-rule]").get_text()


def test_a_function_of_data_alone_ticks_its_variables(client) -> None:
    html = soup(client.get("/", params={"expr": "(x - 3)**2", "x": "0"}))
    assert [b["value"] for b in html.select("input[name=train]") if b.has_attr("checked")] == ["x"]


@pytest.mark.parametrize(("name", "data"), [("x", True), ("X", True), ("x1", True), ("y_true", True),
                                             ("t", True), ("target", True), ("w", False), ("b1", False),
                                             ("W2", False), ("tau", False), ("xi", False)])
def test_which_names_read_as_data(name: str, data: bool) -> None:
    from autograd_playground.web.training import is_data
    assert is_data(name) is data


def test_open_links_carry_the_shortest_decimal_of_each_float32(client) -> None:
    html = soup(client.get("/", params={**NEURON, "train": "w,b", "steps": "3"}))
    link = html.select_one("[data-testid=training-open-1]")["href"]
    query = parse_qs(urlsplit(link).query)
    assert query["b"] == ["0.1"] and query["w"] == ["0.5"]
    later = parse_qs(urlsplit(html.select_one("[data-testid=training-open-3]")["href"]).query)
    assert len(later["b"][0]) <= 11, later["b"]


def test_float32_text_reads_back_as_the_same_float32() -> None:
    import struct

    from autograd_playground.web.training import float32_text
    for value in (0.1, 1 / 3, 123456.789, -2.5e-7, 3.0, 1e30):
        f32 = struct.unpack("f", struct.pack("f", value))[0]
        text = float32_text(f32)
        assert struct.unpack("f", struct.pack("f", float(text)))[0] == f32
        assert len(text) <= 15
