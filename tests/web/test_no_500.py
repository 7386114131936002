"""Programs and functions that once failed the whole request with a 500 (issues 23 and 29).

Each answers 200 with the right numbers, or a 4xx with a sentence; the pages too.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup


def graph(client, expression: str, inputs: dict, **extras):
    return client.post("/api/graph", json={"expression": expression, "inputs": inputs, **extras})


def test_a_list_as_a_program_line_is_a_tensor_intermediate(client) -> None:
    response = graph(client, "a = [1,2]\nb = x*2", {"x": 2})
    assert response.status_code == 200, response.text[:300]
    data = response.json()
    assert data["gradients"] == {"x": 2.0}
    (a,) = data["intermediates"]
    assert (a["name"], a["value"], a["shape"]) == ("a", [1.0, 2.0], [2])


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_the_pages_show_a_program_with_a_list_line(client, path: str) -> None:
    response = client.get(path, params={"expr": "a = [1,2]\nb = x*2", "x": "2"})
    assert response.status_code == 200
    assert BeautifulSoup(response.text, "html.parser").find("svg") is not None
