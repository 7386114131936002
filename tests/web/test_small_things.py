"""The smaller things on the page, through httpx: where the plot writes its y labels, and
what a node's details call the values PyTorch saved for backward.

The names PyTorch saves across the language's ops (from the examples and EVERY_OP):
self, other, alpha, result, exponent, min, max, dim, dim0, dim1, self_sym_sizes,
self_sym_numel, self_sym_strides, tensor, vec, mat2, mat2_sym_sizes, mat2_sym_strides,
target, reduction, total_weight, ignore_index and keepdim.
templates/parts/details.html says what each one is.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
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


# One expression per family of ops in the language, so that every name PyTorch
# saves for backward turns up in some node's details.
EVERY_OP = [
    (LESSON, {"x": "2"}),
    ("x/3 - 2/x + sqrt(x) + log(x) + exp(0 - x) + cos(x)*sin(x) + tan(x) + abs(x)", {"x": "2"}),
    ("sigmoid(x) + relu(x) + tanh(x) + pow(x, 3) + x^y + 2**x + clamp(x, 0, 1)",
     {"x": "2", "y": "3"}),
    ("maximum(x, y) + minimum(x, y)", {"x": "2", "y": "3"}),
    ("sum(softmax(v)) + sum(log_softmax(v)) + logsumexp(v) + max(v) + min(v) + mean(v)",
     {"v": "[1, 2, 3]"}),
    ("cross_entropy(v, 1) + mse(v, w) + w @ v + sum(transpose(M) @ v) + sum(M @ M)",
     {"v": "[1, 2]", "w": "[3, 4]", "M": "[[1, 2], [3, 4]]"}),
    ("sum(v @ M) + sum(A @ B)", {"v": "[1, 2]", "M": "[[1, 2], [3, 4]]",
                                 "A": "[[[1, 2], [3, 4]]]", "B": "[[[1, 0], [0, 1]]]"}),
]
# PyTorch's own name heading an entry of "Saved for backward", as "alpha = 1" did.
TORCH_NAMES = re.compile(r"(?:^|[|;])\s*[a-z0-9_]+\s*=")


def saved_texts(client, expr: str, values: dict, lang: str = "en") -> dict[str, str]:
    page = soup(client.get("/", params={"expr": expr, **values, "lang": lang}))
    texts = {}
    for dd in page.select("[data-testid^=saved-]"):
        name = dd.find_parent(class_="node-details").select_one("h2").contents[0].strip()
        texts[name] = texts.get(name, "") + " | " + " ".join(dd.get_text().split())
    return texts


@pytest.mark.parametrize("expr, values", EVERY_OP, ids=[e[:20] for e, _ in EVERY_OP])
def test_node_details_name_what_was_saved_in_the_lessons_words(client, expr, values):
    texts = saved_texts(client, expr, values)
    assert texts
    for name, text in texts.items():
        assert not TORCH_NAMES.search(text), (name, text)


def test_mul_keeps_its_factors_and_add_saves_nothing_to_show(client):
    texts = saved_texts(client, "w*x + b", {"w": "0.5", "x": "1.5", "b": "0.1"})
    assert texts["MulBackward0"].strip(" |") == "one factor = 0.5; the other factor = 1.5"
    assert "AddBackward0" not in texts  # alpha = 1 changes nothing: left out
    german = saved_texts(client, "w*x + b", {"w": "0.5", "x": "1.5", "b": "0.1"}, lang="de")
    assert german["MulBackward0"].strip(" |") == "ein Faktor = 0.5; der andere Faktor = 1.5"


def test_mse_says_how_its_losses_are_combined(client):
    texts = saved_texts(client, "mse(v, w)", {"v": "[1, 2]", "w": "[3, 5]"})
    assert texts["MseLossBackward0"].strip(" |") == (
        "the prediction = [1, 2]; the target = [3, 5]; how the losses are combined = 'mean'")


def test_every_word_for_a_saved_name_has_german(client):
    from babel.messages.pofile import read_po

    from autograd_playground.web import i18n

    details = "".join((ROOT / "templates" / "parts" / name).read_text()
                      for name in ("details.html", "saved_words.html"))
    words = set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', details))
    po = Path(i18n.__file__).parent / "locale" / "de" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        german = {m.id: m.string for m in read_po(f, locale="de") if m.id}
    assert "one factor" in words
    assert [w for w in words if not german.get(w)] == []
