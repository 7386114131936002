"""The page's faster paths write exactly what the plain way writes.

Each part of the result block made faster is computed here both ways, on a corpus of
the lesson's requests (the lesson, the 20-term polynomial, x**2*y + sin(y), the vector
MSE, the neuron, the two-layer MLP program, relu at 0, a program with a collapsed line,
German), and the two must be equal.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from jinja2 import Environment
from jinja2.nodes import EvalContext
from markupsafe import Markup

from autograd_playground.core.language.rules import Extras, Limits
from autograd_playground.core.language.values import format_value
from autograd_playground.core.pipeline import compute
from autograd_playground.core.result import GraphResult, from_json
from autograd_playground.core.teach import explain
from autograd_playground.web import i18n
from autograd_playground.web import state as page
from autograd_playground.web.links import quote_param
from autograd_playground.web.pages import parse_value
from autograd_playground.web.templating import remembered_gettext

from ..core.worker_corpus import MLP, MLP_VALUES, POLYNOMIAL

SEED = "5*x**3 + 2*x**2 + 4*x + 8"

# (query parameters, what the page is asked for): the corpus of requests.
CORPUS: list[dict[str, str]] = [
    {"expr": SEED, "x": "2"},
    {"expr": SEED, "x": "-1.25", "lang": "de"},
    {"expr": POLYNOMIAL, "x": "0.5"},
    {"expr": "x**2*y + sin(y)", "x": "3", "y": "0.5"},
    {"expr": "mean((w*x - t)**2)", "w": "1.5", "x": "[1, 2, 3]", "t": "[2, 4, 6]",
     "rg": "1", "grad": "w"},
    {"expr": "sigmoid(sum(w*x) + b)", "w": "[0.5, -1, 2]", "x": "[1, 2, 3]", "b": "0.1"},
    {"expr": MLP, **{k: json.dumps(v) for k, v in MLP_VALUES.items()}},
    {"expr": MLP, **{k: json.dumps(v) for k, v in MLP_VALUES.items()}, "collapse": "h",
     "lang": "de", "step": "4"},
    {"expr": "relu(x)*3", "x": "0"},
    {"expr": SEED, "x": "2", "exercise": "1", "step": "2"},
    {"expr": SEED, "x": "2", "view": "annotated", "forward": "1", "step": "3", "lang": "de"},
    {"expr": "a*b", "a": "2", "b": "3", "train": "a,b", "lr": "0.5", "hide": "code,steps",
     "theme": "dark", "present": "1"},
]

# The changes the templates write links with.
CHANGES: list[dict[str, Any]] = [
    {}, {"step": 0}, {"step": 3}, {"view": "torchviz"}, {"view": "annotated"},
    {"lang": "en"}, {"lang": "de"}, {"forward": True, "step": 0}, {"collapse": ("h",)},
    {"collapse": ()}, {"retain": True}, {"present": True}, {"expr": "y = a*b", "step": 0},
    {"exercise": True, "order": 1, "accumulate": False, "step": 0},
    {"train": (), "lr": "0.1", "steps": 20, "accumulate": False, "step": 0},
    {"values": {"x": "1 & 2"}}, {"grads": {"x": False}},
    {"readonly": False, "hide": (), "autoplay": False, "present": False},
]


def plain_pairs(state: page.PageState) -> list[tuple[str, str]]:
    """The state's query parameters as the link writer wrote them before its faster path."""
    pairs: list[tuple[str, str]] = [("expr", state.expr)]
    pairs += list(state.values.items())
    if any(not on for on in state.grads.values()):
        pairs.append(("rg", "1"))
        pairs += [("grad", name) for name, on in state.grads.items() if on]
    for f in page.FIELDS:
        if f.after and not getattr(state, f.after):
            continue
        text = f.write(getattr(state, f.name))
        if text is not None:
            pairs.append((f.key, text))
    return pairs


def states() -> list[page.PageState]:
    out = []
    for params in CORPUS:
        state = page.from_query(params)
        names, error = page.variables_of(state.expr, Limits())
        assert error is None, params
        out.append(page.with_variables(state, names))
    return out


@pytest.mark.parametrize("state", states(), ids=lambda s: s.expr[:20])
def test_every_link_is_the_changed_state_urlencoded(state: page.PageState) -> None:
    # In the order a page writes them, twice: the state's encoded function and values
    # are kept between links, and a link that changes them must not reuse them.
    for _ in range(2):
        for changes in CHANGES:
            changed = dataclasses.replace(state, **changes)
            expected = urlencode(plain_pairs(changed), quote_via=quote_param)
            assert state.query(**changes) == expected, changes
            assert state.url(**changes) == f"{state.path}?{expected}"
            assert state.url("/embed", **changes) == f"/embed?{expected}"
            assert state.pairs(**changes) == plain_pairs(changed)
    assert state.playground_url() == "/?" + urlencode(
        plain_pairs(dataclasses.replace(
            state, readonly=False, hide=(), autoplay=False, present=False, path="/")),
        quote_via=quote_param)


def test_the_kept_encoding_is_no_field_of_the_state() -> None:
    state = states()[0]
    before = repr(state)
    state.query(step=2)
    assert repr(state) == before
    assert state == page.with_variables(page.from_query(CORPUS[0]), ["x"])
    assert dataclasses.replace(state, values={"x": "9"}).query() == f"expr={quote_param(SEED)}&x=9"


def test_a_change_of_no_field_is_refused_as_replace_refuses_it() -> None:
    with pytest.raises(TypeError):
        states()[0].query(colour="red")


def computed(params: dict[str, str]) -> tuple[page.PageState, GraphResult]:
    """A corpus request's state and its result, computed here as a worker computes it."""
    state = page.from_query(params)
    names, _ = page.variables_of(state.expr, Limits())
    state = page.with_variables(state, names)
    inputs = {name: parse_value(name, text) for name, text in state.values.items()}
    grads = {name: state.grad_on(name) for name in state.values}
    view = "torchviz" if state.exercise else state.view
    data = compute(state.expr, inputs, grads, view, Limits(), 10.0, Extras(), state.collapse)
    return state, from_json(json.loads(json.dumps(data)))


RESULTS = [computed(params) for params in CORPUS]


@pytest.mark.parametrize("state, result", RESULTS, ids=lambda x: getattr(x, "expr", "")[:20])
def test_node_details_read_every_value_in_full(state: page.PageState, result: GraphResult) -> None:
    # The plain way: each value the step showed, formatted again in full.
    steps = explain.steps(result)
    by_node = {s.node: s for s in steps}
    records = {r.node: r for r in result.steps}
    for view in explain.node_views(result, steps):
        step, record = by_node.get(view.id), records.get(view.id)
        if step is None or record is None:
            assert (view.arrived, view.sent) == (None, ())
            continue
        full = [format_value(v) for t, v in zip(record.targets, record.grad_inputs, strict=False)
                if t is not None and v is not None]
        assert view.arrived == (format_value(record.grad_outputs[0]) if record.grad_outputs
                                else step.arrived)
        assert view.sent == tuple(dataclasses.replace(o, value=v)
                                  for o, v in zip(step.sent, full, strict=True))


@pytest.mark.parametrize("lang", ["en", "de"])
def test_a_sentence_with_placeholders_is_what_jinjas_gettext_makes(lang: str) -> None:
    translations = i18n.translations(lang)
    ours = remembered_gettext(translations)
    context = EvalContext(Environment(autoescape=True))
    texts = [
        ("%(name)s (%(label)s) receives %(arrived)s and sends %(sent)s.",
         {"name": "MulBackward0", "label": "x<y & 'z'", "arrived": "1", "sent": "2, 3"}),
        ("Step %(k)s of %(n)s", {"k": 3, "n": 9}),
        ("Expand %(name)s", {"name": Markup("<b>h</b>")}),
    ]
    for _ in range(2):  # the second time from the memo
        for text, variables in texts:
            expected = Markup(translations.gettext(text)) % variables
            assert ours(context, text, **variables) == expected
            assert isinstance(ours(context, text, **variables), Markup)


@pytest.mark.parametrize("state, result", RESULTS, ids=lambda x: getattr(x, "expr", "")[:20])
def test_a_step_names_its_node_and_operands_as_each_node_is_named(
    state: page.PageState, result: GraphResult
) -> None:
    # The plain way: each name worked out from its node where it is used.
    nodes = {n.id: n for n in result.nodes}
    program = any(n.name_of for n in result.nodes)
    views = explain.steps(result)
    assert [v.index for v in views] == [s.index for s in result.steps]
    for view in views:
        node = nodes[view.node]
        assert (view.label, view.of, view.heading) == (
            explain.label_of(node), explain.of(node, program), explain.heading_of(node))
        for out in view.sent:
            target = nodes[out.target]
            assert (out.label, out.of) == (explain.label_of(target), explain.of(target, program))
        assert [p.label for p in view.parts] == [explain.label_of(nodes[p.node]) for p in view.parts]
