"""The smaller things on the page, through httpx: where the plot writes its y labels, and
what a node's details call the values PyTorch saved for backward.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"
MONO_CHARACTER = 6.1  # SVG units a character of the 10px monospace labels takes, at most


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


# --- the plot -----------------------------------------------------------------


@pytest.mark.parametrize("expr, x", [(LESSON, "2"), ("x**2 - 4", "0"), ("exp(x) - 30", "-3"),
                                     ("0 - 123456*x**2", "7")])
def test_the_y_labels_stand_left_of_the_frame_inside_the_picture(client, expr, x):
    svg = soup(client.get("/calculus", params={"expr": expr, "x": x})).select_one(
        "[data-testid=plot] svg")
    view_x, _, view_w, _ = (float(v) for v in svg["viewbox"].split())
    frame = svg.select_one(".plot-frame")
    left, top = float(frame["x"]), float(frame["y"])
    bottom = top + float(frame["height"])
    labels = [t for t in svg.select("text.plot-label") if t.text.startswith("y = ")]
    assert len(labels) == 2
    if expr == LESSON:
        assert labels[1].text == "y = -21.44"  # where the x axis and the tangent crossed it
    for label in labels:
        assert "end" in label["class"]  # anchored at its right end ...
        right = float(label["x"])
        assert right <= left - 3  # ... clear of the frame, where the axes and the tangent are
        assert right - MONO_CHARACTER * len(label.text) >= view_x  # and not cut off
        assert top <= float(label["y"]) <= bottom
    assert view_x + view_w >= float(frame["x"]) + float(frame["width"])
    assert float(svg["width"]) == pytest.approx(view_w)


def test_the_plot_names_the_output_of_a_program_in_its_labels(client):
    svg = soup(client.get("/calculus", params={"expr": "h = 2*x\nloss = h**2", "x": "1"})).select_one(
        "[data-testid=plot] svg")
    texts = [t.text for t in svg.select("text.plot-label")]
    assert sum(t.startswith("loss = ") for t in texts) == 2, texts
    assert not any(re.match(r"y = ", t) for t in texts)


# --- what a node saved for backward -------------------------------------------


def saved_of(client, expression: str, inputs: dict) -> dict[str, dict]:
    response = client.post("/api/graph", json={"expression": expression, "inputs": inputs})
    assert response.status_code == 200, response.text[:300]
    return {n["name"]: n["saved"] for n in response.json()["nodes"] if n.get("saved")}


def test_a_saved_dimension_in_a_list_reads_as_python_counts_it(client):
    # PyTorch hands dim=-1 over as 2**64 - 1, in a list for logsumexp as alone for softmax.
    saved = saved_of(client, "logsumexp(v) + sum(softmax(v))", {"v": [1, 2, 3]})
    assert saved["LogsumexpBackward0"]["dim"] == [-1]
    assert saved["SoftmaxBackward0"]["dim"] == -1
