"""The page state: one table of fields, read from the query and written back into links."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from autograd_playground.core.draw import render
from autograd_playground.web import embedding, state


def test_the_views_are_the_cores():
    # One list of views: a view the core draws is one the page can ask for.
    assert state.VIEWS is render.VIEWS
    for view in render.VIEWS:
        assert state.from_query({"expr": "x", "view": view}).view == view
    assert state.from_query({"expr": "x", "view": "other"}).view == "torchviz"


# A value other than the default for every field of the table.
SAMPLES = {
    "step": 3,
    "view": "annotated",
    "forward": True,
    "lang": "de",
    "theme": "dark",
    "readonly": True,
    "hide": ("values", "code"),
    "autoplay": True,
    "exercise": True,
    "order": 2,
    "accumulate": True,
    "retain": True,
    "train": ("w", "b"),
    "lr": "0.05",
    "steps": 7,
    "present": True,
    "collapse": ("z", "h"),
}
PROGRAM = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"


def read_back(url: str) -> state.PageState:
    split = urlsplit(url)
    return state.from_query(parse_qs(split.query, keep_blank_values=True), path=split.path)


def test_every_field_has_a_sample_and_reads_missing_as_its_default():
    assert set(SAMPLES) == {f.name for f in state.FIELDS}
    default = state.PageState()
    for f in state.FIELDS:
        assert f.read([]) == getattr(default, f.name), f.name
        assert SAMPLES[f.name] != getattr(default, f.name), f.name


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_field_written_then_read_is_the_same_state(name):
    values = {"w": "0.5", "x": "1.5", "b": "0.1", "t": "1"}
    written = state.PageState(expr=PROGRAM, values=values, grads={"w": True, "x": False,
                              "b": True, "t": False}, train=("w",) if name in ("lr", "steps") else ())
    written = replace(written, **{name: SAMPLES[name]})
    assert read_back(written.url()) == written


def test_every_field_at_once_written_then_read_is_the_same_state():
    written = state.PageState(expr=PROGRAM, values={"w": "2", "x": "[1, 2]", "b": "-1", "t": "0"},
                              **SAMPLES)
    assert read_back(written.url()) == written
    assert read_back(written.url("/embed")) == replace(written, path="/embed")


def test_hide_is_read_alike_from_a_link_and_from_the_share_form():
    # Repeated, as a form sends checkboxes; the share panel read both, the page only the first.
    params = {"expr": "x", "hide": ["code", "values,graph"], "options": "1"}
    shown = state.from_query(params)
    assert shown.hide == ("values", "graph", "code")
    assert embedding.embed_options(params, shown).hide == shown.hide


def test_the_share_options_are_the_option_fields_of_the_table():
    options = {f.name for f in state.FIELDS if f.share == "option"}
    assert options == {f.name for f in dataclasses.fields(embedding.EmbedOptions)}


def test_a_frame_keeps_the_state_takes_the_options_and_resets_the_rest():
    shared = state.PageState(expr=PROGRAM, values={"w": "2", "x": "1", "b": "0", "t": "1"},
                             **SAMPLES)
    options = embedding.EmbedOptions(readonly=False, lang="en", step=1, hide=("graph",))
    framed = read_back(embedding.embed_url(shared, options))
    for f in state.FIELDS:
        expected = {"option": getattr(options, f.name, None), "kept": getattr(shared, f.name),
                    "reset": f.read([])}[f.share]
        assert getattr(framed, f.name) == expected, f.name
    assert (framed.expr, framed.values, framed.path) == (shared.expr, shared.values, "/embed")


def frame_src(snippet_html: str) -> str:
    return BeautifulSoup(snippet_html, "html.parser").select_one("iframe")["src"]


def test_the_share_link_and_oembed_keep_the_star_encoded(client):
    page = state.PageState(expr="5*x**3", values={"x": "2"})
    assert "expr=5%2Ax%2A%2A3" in page.query()
    panel = BeautifulSoup(client.get("/share", params={"state": page.query()}).text, "html.parser")
    shared = [frame_src(t.get_text()) for t in panel.select("textarea") if "<iframe" in t.get_text()]
    link = "https://playground.example/?" + page.query()
    shared.append(frame_src(client.get("/oembed", params={"url": link}).json()["html"]))
    assert len(shared) == 2
    for src in shared:
        assert "expr=5%2Ax%2A%2A3" in src and "*" not in src
