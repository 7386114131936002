"""A program's lines collapsed to one box: the URL, the share panel, the API and the page."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from bs4 import BeautifulSoup
from starlette.datastructures import QueryParams

from autograd_playground.web import state as page

NEURON = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
VALUES = {"w": "0.5", "x": "1.5", "b": "0.1", "t": "1"}
INPUTS = {k: float(v) for k, v in VALUES.items()}


def soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.text[:300]
    return BeautifulSoup(response.text, "html.parser")


def query(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(html.unescape(link)).query)


# --- the URL ------------------------------------------------------------------------------


def test_collapse_round_trips_through_the_page_state():
    state = page.from_query(QueryParams(urlencode({"expr": NEURON, **VALUES, "collapse": "h,z"})))
    assert state.collapse == ("z", "h")  # in line order
    again = page.from_query(QueryParams(state.query()))
    assert again == state
    assert ("collapse", "z,h") in state.pairs()
    assert "collapse" not in dict(page.from_query(QueryParams(urlencode({"expr": NEURON}))).pairs())


@pytest.mark.parametrize(
    "given, kept",
    [
        ("h,h,h", ("h",)),
        ("q,h,<b>,", ("h",)),
        ("ħ,z̈,h", ("h",)),
        ("loss", ("loss",)),  # the output's line too
        (",".join(["h"] * 10_000), ("h",)),
        ("x" * 5000, ()),
    ],
)
def test_names_that_are_not_lines_are_left_out_on_the_page(given, kept):
    state = page.from_query(QueryParams(urlencode({"expr": NEURON, **VALUES, "collapse": given})))
    assert state.collapse == kept


def test_a_single_function_has_nothing_to_collapse():
    state = page.from_query(QueryParams(urlencode({"expr": "x**2", "x": "3", "collapse": "y,x"})))
    assert state.collapse == ()


def test_the_share_link_snippet_and_oembed_carry_collapse(client):
    params = {"expr": NEURON, **VALUES, "collapse": "h"}
    shown = soup(client.get("/", params=params))
    assert query(shown.select_one("[data-testid=share-link]")["value"])["collapse"] == ["h"]
    snippet = shown.select_one("[data-testid=share-snippet]").get_text()
    src = re.search(r'src="([^"]+)"', snippet).group(1)
    assert query(src)["collapse"] == ["h"] and urlsplit(html.unescape(src)).path == "/embed"
    # The share panel's form makes the snippet from the state it carries.
    state = shown.select_one("form.share-options input[name=state]")["value"]
    made = soup(client.get("/share", params={"state": state, "options": "1", "readonly": "1"}))
    assert "collapse=h" in made.select_one("[data-testid=share-snippet]").get_text()
    link = "http://testserver/?" + urlencode(params)
    embedded = client.get("/oembed", params={"url": link}).json()["html"]
    assert "collapse=h" in embedded
    # The form keeps it for the next Compute.
    assert shown.select_one("form#playground input[name=collapse]")["value"] == "h"


# --- the API -----------------------------------------------------------------------------


def test_the_api_collapses_only_the_picture(client):
    plain = client.post("/api/graph", json={"expression": NEURON, "inputs": INPUTS}).json()
    boxed = client.post(
        "/api/graph", json={"expression": NEURON, "inputs": INPUTS, "collapse": ["h"]}
    ).json()
    for key in ("nodes", "steps", "gradients", "variables", "output", "forward", "intermediates",
                "code"):
        assert boxed[key] == plain[key], key
    assert 'id="box-h"' in boxed["svg"] and 'id="box-h"' not in plain["svg"]
    tanh = next(n["id"] for n in plain["nodes"] if n["name_of"] == "h")
    assert f'id="{tanh}"' in plain["svg"] and f'id="{tanh}"' not in boxed["svg"]
    lines = {line["name"]: line for line in boxed["lines"]}
    assert lines["h"] == {"name": "h", "text": "h = tanh(z)", "nodes": [tanh], "box": "box-h"}
    assert lines["z"]["box"] is None and lines["loss"]["box"] is None
    assert [line["box"] for line in plain["lines"]] == [None, None, None]
    # Without collapse, the lines are there too: a course page can map steps to lines.
    assert [line["name"] for line in plain["lines"]] == ["z", "h", "loss"]


def test_the_collapsed_picture_has_its_own_cache_entry(client):
    body = {"expression": NEURON, "inputs": INPUTS, "view": "annotated"}
    first = client.post("/api/graph", json=body).json()
    second = client.post("/api/graph", json={**body, "collapse": ["z", "loss"]}).json()
    third = client.post("/api/graph", json=body).json()
    assert 'id="box-z"' in second["svg"] and 'id="box-loss"' in second["svg"]
    assert 'id="box-z"' not in first["svg"] and third["svg"] == first["svg"]
    # The order asked in does not matter: the same picture.
    fourth = client.post("/api/graph", json={**body, "collapse": ["loss", "z", "z"]}).json()
    assert fourth["svg"] == second["svg"]


def test_a_single_function_has_no_lines(client):
    data = client.post("/api/graph", json={"expression": "x**2", "inputs": {"x": 3}}).json()
    assert data["lines"] == []


@pytest.mark.parametrize(
    "collapse, says",
    [
        (["q"], "collapse names 'q', which is not a line of the program; its lines are z, h, loss."),
        (["h", "<b>"], "collapse names '<b>', which is not a line"),
        (["ħ"], "collapse names 'ħ'"),
    ],
)
def test_the_api_refuses_a_name_that_is_not_a_line(client, collapse, says):
    response = client.post(
        "/api/graph", json={"expression": NEURON, "inputs": INPUTS, "collapse": collapse}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith(says)


def test_the_api_refuses_collapse_on_a_single_function(client):
    response = client.post(
        "/api/graph", json={"expression": "x**2", "inputs": {"x": 3}, "collapse": ["y"]}
    )
    assert response.status_code == 422
    assert "only the lines of a program can be collapsed" in response.json()["detail"]


@pytest.mark.parametrize(
    "collapse",
    [["h"] * 10_000, ["h" * 100_000], "h", [1, 2], [["h"]], {"h": True}],
)
def test_hostile_collapse_gets_a_sentence_and_the_next_request_works(client, collapse):
    response = client.post(
        "/api/graph", json={"expression": NEURON, "inputs": INPUTS, "collapse": collapse}
    )
    assert response.status_code == 422
    assert "collapse" in response.json()["detail"]
    after = client.post("/api/graph", json={"expression": NEURON, "inputs": INPUTS,
                                            "collapse": ["h"]})
    assert after.status_code == 200 and 'id="box-h"' in after.json()["svg"]


def test_a_few_repeated_names_are_one(client):
    response = client.post(
        "/api/graph", json={"expression": NEURON, "inputs": INPUTS, "collapse": ["h"] * 50}
    )
    assert response.status_code == 200
    assert response.json()["svg"].count('id="box-h"') == 1


# --- the page ----------------------------------------------------------------------------


def steps_inside(shown: BeautifulSoup) -> list[int]:
    return [int(li["data-step"]) for li in shown.select("li.step.backward")
            if li.select_one("[data-testid=boxed-note]")]


def test_the_lines_menu_toggles_each_line_keeping_the_rest(client):
    shown = soup(client.get("/", params={"expr": NEURON, **VALUES, "step": "3"}))
    toggles = {a["data-testid"]: a for a in shown.select(".lines-menu a.line-toggle")}
    assert set(toggles) == {"line-toggle-z", "line-toggle-h", "line-toggle-loss"}
    h = toggles["line-toggle-h"]
    assert h.select_one(".line-action").get_text() == "Collapse h"
    assert h.select_one("code").get_text() == "h = tanh(z)"
    assert h["href"] == h["hx-get"] and h["hx-push-url"] == "true"
    assert query(h["href"])["collapse"] == ["h"] and query(h["href"])["step"] == ["3"]
    collapsed = soup(client.get(h["href"]))
    again = collapsed.select_one("[data-testid=line-toggle-h]")
    assert again.select_one(".line-action").get_text() == "Expand h"
    assert "collapse" not in query(again["href"])
    assert query(collapsed.select_one("[data-testid=line-toggle-z]")["href"])["collapse"] == ["z,h"]
    assert collapsed.select_one("[data-testid=lines-expand-all]") is not None
    everything = collapsed.select_one("[data-testid=lines-collapse-all]")["href"]
    assert query(everything)["collapse"] == ["z,h,loss"]


def test_a_single_function_has_no_lines_menu(client):
    shown = soup(client.get("/", params={"expr": "x**2", "x": "3"}))
    assert shown.select_one("[data-testid=lines-menu]") is None
    hidden = soup(client.get("/", params={"expr": NEURON, **VALUES, "hide": "lines"}))
    assert hidden.select_one("[data-testid=lines-menu]") is None
    assert hidden.select_one("[data-testid=graph]") is not None


def test_a_step_inside_a_collapsed_line_paints_its_box_and_says_so(client):
    api = client.post("/api/graph", json={"expression": NEURON, "inputs": INPUTS}).json()
    tanh = next(n["id"] for n in api["nodes"] if n["name_of"] == "h")
    k = next(s["index"] for s in api["steps"] if s["node"] == tanh)
    shown = soup(client.get("/", params={"expr": NEURON, **VALUES, "collapse": "h",
                                         "step": str(k)}))
    # The same steps as without collapse: the engine's order, every node.
    assert len(shown.select("li.step.backward")) == len(api["steps"])
    assert steps_inside(shown) == [k]
    item = shown.select_one(f"li.step[data-step='{k}']")
    assert item["data-node"] == "box-h"
    assert "box-h" not in item["data-done"].split()
    box = shown.select_one("#graph g#box-h")
    assert "current" in box["class"]
    note = item.select_one("[data-testid=boxed-note]")
    # The line is kept on one row (no-break spaces).
    assert "This step runs inside the collapsed line h\xa0=\xa0tanh(z)." in note.get_text()
    expand = note.select_one("[data-testid=expand-h]")
    assert expand.get_text() == "Expand h"
    assert "collapse" not in query(expand["href"]) and query(expand["href"])["step"] == [str(k)]
    # Later steps count the box as done; the box has details of its own.
    later = shown.select_one(f"li.step[data-step='{k + 1}']")
    assert "box-h" in later["data-done"].split()
    details = shown.select_one(".node-details[data-node=box-h]")
    assert "TanhBackward0" in details.get_text()


def test_the_german_page_says_it_in_german(client):
    shown = soup(client.get("/", params={"expr": NEURON, **VALUES, "collapse": "h",
                                         "lang": "de"}))
    assert shown.select_one("[data-testid=line-toggle-h] .line-action").get_text() == "h aufklappen"
    assert shown.select_one("[data-testid=line-toggle-z] .line-action").get_text() == "z zuklappen"
    note = shown.select_one("[data-testid=boxed-note]").get_text().replace("\xa0", " ")
    assert "Dieser Schritt läuft in der zugeklappten Zeile h = tanh(z)." in note


@pytest.mark.parametrize(
    "collapse", [",".join(["h"] * 10_000), "h" * 20_000, "ħ,\u202e,\x00,h", "loss,z,h,loss"]
)
def test_hostile_collapse_on_the_page_is_ignored_or_kept(client, collapse):
    response = client.get("/", params={"expr": NEURON, **VALUES, "collapse": collapse})
    assert response.status_code in (200, 414, 431), response.status_code
    if response.status_code == 200:
        assert "box-" in response.text or "h" * 20_000 == collapse
    again = client.get("/", params={"expr": NEURON, **VALUES, "collapse": "z"})
    assert again.status_code == 200 and 'id="box-z"' in again.text


def test_collapse_on_a_single_function_page_is_ignored(client):
    shown = soup(client.get("/", params={"expr": "x**2", "x": "3", "collapse": "y,x"}))
    assert shown.select_one("[data-testid=gradient-x]").get_text().strip() == "x.grad = 6"
    assert "box-" not in str(shown.select_one("#graph"))


def test_a_line_that_made_no_node_has_no_toggle_and_no_box(client):
    # h only names z's value: no node is computed on its line.
    program = "z = w*x\nh = z\nloss = h**2"
    shown = soup(client.get("/", params={"expr": program, "w": "2", "x": "3", "collapse": "h"}))
    assert shown.select_one("[data-testid=line-toggle-h]") is None
    assert shown.select_one("[data-testid=line-toggle-z]") is not None
    assert shown.select_one(".lines-count") is None  # nothing is drawn collapsed
    assert "box-" not in str(shown.select_one("#graph"))
    assert shown.select_one("[data-testid=gradient-w]").get_text().strip() == "w.grad = 36"  # 2·w·x²
