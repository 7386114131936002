"""Every number in the API is a JSON number: no strings, no booleans, no 2.0 for 2."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from autograd_playground.serve.settings import Settings
from autograd_playground.web.main import create_app

TRAIN = {"expression": "(w - 3)**2", "inputs": {"w": 0.0}, "params": ["w"], "lr": 0.1,
         "steps": 5}
GRAPH = {"expression": "x**3", "inputs": {"x": 2}}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(workers=0, warm_cache=False))) as client:
        yield client


@pytest.mark.parametrize("field, value", [
    ("steps", "100"), ("steps", True), ("steps", 5.0), ("lr", True), ("lr", "0.1"),
    ("lr", False),
])
def test_training_numbers_of_another_type_are_refused(client, field, value):
    response = client.post("/api/train", json={**TRAIN, field: value})
    assert response.status_code == 422
    assert f"'{field}'" in response.json()["detail"]


@pytest.mark.parametrize("value", [True, 2.0, "2"])
def test_an_order_that_is_not_the_number_is_refused(client, value):
    response = client.post("/api/graph", json={**GRAPH, "order": value})
    assert response.status_code == 422
    assert "'order'" in response.json()["detail"]


@pytest.mark.parametrize("value", [True, "2"])
def test_a_value_that_is_not_a_number_is_refused(client, value):
    response = client.post("/api/graph", json={**GRAPH, "inputs": {"x": value}})
    assert response.status_code == 422


def test_numbers_as_numbers_are_taken(client):
    trained = client.post("/api/train", json={**TRAIN, "lr": 1})  # an integer is a number
    assert trained.status_code == 200
    second = client.post("/api/graph", json={**GRAPH, "order": 2})
    assert second.status_code == 200
    assert second.json()["second_order"] is not None
