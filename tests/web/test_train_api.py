"""POST /api/train, and CORS for the API from the sites that may frame the embed."""

from __future__ import annotations

import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.web.cors import origin_allowed
from tests.oracle import sympy_value_and_gradients

NEURON = {
    "expression": "(tanh(w*x + b) - t)^2",
    "inputs": {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1},
    "params": ["w", "b"],
    "lr": 0.1,
    "steps": 20,
    "zero_grad": True,
}


def test_the_neuron_trains_through_the_api(client) -> None:
    response = client.post("/api/train", json=NEURON)
    assert response.status_code == 200, response.text
    steps = response.json()["steps"]

    assert len(steps) == 20
    assert [s["index"] for s in steps] == list(range(1, 21))
    assert steps[-1]["loss"] < steps[0]["loss"] / 5
    tree = parse(NEURON["expression"]).tree
    for entry in (steps[0], steps[7], steps[19]):
        # Entry k: the loss and the gradient at the parameters before update k.
        at = dict(NEURON["inputs"], **entry["params"])
        loss, grads = sympy_value_and_gradients(tree, at, ["w", "b"])
        assert entry["loss"] == pytest.approx(loss, rel=1e-5)
        assert entry["grads"] == pytest.approx(grads, rel=1e-4)
    for before, after in zip(steps, steps[1:], strict=False):
        assert after["params"]["w"] == pytest.approx(before["params"]["w"] - 0.1 * before["grads"]["w"])
    assert "torch.optim.SGD([w, b], lr=0.1)" in response.json()["code"]


def test_zero_grad_false_accumulates(client) -> None:
    body = dict(NEURON, expression="(w*x - 3)^2", inputs={"w": 0, "x": 1}, params=["w"], steps=2)
    accumulated = client.post("/api/train", json=dict(body, zero_grad=False)).json()["steps"]
    cleared = client.post("/api/train", json=body).json()["steps"]
    assert cleared[1]["grads"]["w"] == pytest.approx(-4.8)
    assert accumulated[1]["grads"]["w"] == pytest.approx(-10.8)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"params": ["q"]}, "'q' is not a variable"),
        ({"params": []}, "at least one parameter"),
        ({"lr": 0}, "learning rate"),
        ({"lr": 50}, "learning rate"),
        ({"steps": 0}, "number of steps"),
        ({"steps": 101}, "number of steps"),
        ({"expression": "w*x +"}, "column"),
        ({"inputs": {"w": [1, 2], "x": 1.5, "b": 0.1, "t": 1}}, "single number"),
    ],
)
def test_a_run_that_cannot_be_made_is_refused_with_a_sentence(client, change, words) -> None:
    response = client.post("/api/train", json=dict(NEURON, **change))
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]
    # And the server goes on.
    assert client.post("/api/train", json=NEURON).status_code == 200


@pytest.mark.parametrize("bad", [{"lr": "fast"}, {"steps": 2.5}, {"zero_grad": "yes"}, {"extra": 1}])
def test_malformed_fields_are_refused(client, bad) -> None:
    assert client.post("/api/train", json=dict(NEURON, **bad)).status_code == 422


def test_a_diverging_run_says_where_it_stopped(client) -> None:
    body = {"expression": "x^2", "inputs": {"x": 1000}, "params": ["x"], "lr": 10, "steps": 100}
    data = client.post("/api/train", json=body).json()
    assert data["diverged_at"] == len(data["steps"]) < 100


# --- CORS -------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin, sources, allowed",
    [
        ("https://moodle.school.example", ["*"], True),
        ("https://moodle.school.example", ["https://moodle.school.example"], True),
        ("http://moodle.school.example", ["https://moodle.school.example"], False),
        ("https://moodle.school.example:8443", ["https://moodle.school.example"], False),
        ("https://moodle.school.example:8443", ["https://moodle.school.example:*"], True),
        ("https://a.school.example", ["*.school.example"], True),
        ("https://school.example", ["*.school.example"], False),
        ("https://evilschool.example", ["*.school.example"], False),
        ("https://x.example", ["https:"], True),
        ("http://x.example", ["https:"], False),
        ("https://x.example", ["'self'"], False),
        ("https://x.example", ["'none'"], False),
        ("null", ["https:"], False),
        ("https://x.example/path", ["*.example"], False),
        ("https://x.example:port", ["*.example"], False),
    ],
)
def test_origins_are_matched_as_frame_ancestors_are(origin, sources, allowed) -> None:
    assert origin_allowed(origin, sources) is allowed


def test_a_course_site_that_may_frame_the_embed_may_call_the_api(make_client) -> None:
    client = make_client(allowed_frame_ancestors="https://moodle.school.example")
    course = {"Origin": "https://moodle.school.example"}
    preflight = client.options(
        "/api/train",
        headers={**course, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://moodle.school.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    answer = client.post("/api/train", json=NEURON, headers=course)
    assert answer.headers["access-control-allow-origin"] == "https://moodle.school.example"
    assert "Origin" in answer.headers["vary"]

    other = {"Origin": "https://elsewhere.example"}
    refused = client.options(
        "/api/graph", headers={**other, "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    plain = client.post("/api/graph", json={"expression": "x*2", "inputs": {"x": 1}}, headers=other)
    assert "access-control-allow-origin" not in plain.headers
    # Pages are not part of it.
    page = client.get("/", headers=course)
    assert "access-control-allow-origin" not in page.headers
