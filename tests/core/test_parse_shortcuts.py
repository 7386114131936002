"""The parser's shortcuts: a text without a dot before a name skips the torch forms'
rewrite, and a tree is walked once for all its readers. Each gives what the long way
gives: the same tree, the same refusal, the same answer."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from autograd_playground.core.language import expr
from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.forms import may_have_forms
from autograd_playground.core.language.rules import ExprError
from autograd_playground.core.language.tree import WALKS_KEPT, Var, children, post_order

from .worker_corpus import CORPUS, answer

TEXTS = [
    *(request.expression for request in CORPUS.values()),
    "x.sum()", "x . sum()", "(w*x). sum() + b", "torch.sin(x)", "torch.nn.functional.relu(x)",
    "w.mT @ x", "x.T", "x.grad", "1 .real", "x..sum()", "torch.foo(x)", "x.pow(2) + 1.5e3*x",
    "import torch\nimport torch.nn.functional as F\nx = torch.tensor(2.0, requires_grad=True)\n"
    "y = F.relu(x).sum()",
    "2,5*x", "x**2 +", "sin x", "1.5*x + .5 + 2.",
]


def outcome(text: str) -> object:
    try:
        parsed = parse(text)
    except ExprError as refused:
        return ("refused", refused.message, refused.start, refused.end)
    return (parsed.tree, parsed.variables, parsed.lines, parsed.values, parsed.normalized)


@pytest.mark.parametrize("text", TEXTS)
def test_the_shortcut_parses_as_the_rewrite_does(text: str, monkeypatch: pytest.MonkeyPatch):
    quick = outcome(text)
    monkeypatch.setattr(expr, "may_have_forms", lambda source: True)
    assert outcome(text) == quick


@hypothesis_settings(max_examples=400, deadline=None)
@given(st.text(alphabet="x1.e (),+*Tsum_ ", max_size=14))
def test_every_attribute_python_reads_has_a_dot_before_a_name(text: str):
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return
    if any(isinstance(node, ast.Attribute) for node in ast.walk(tree)):
        assert may_have_forms(text)


def test_a_text_without_a_dot_before_a_name_skips_the_rewrite():
    assert not may_have_forms("5*x**3 + 2.5*x**2 + 1e3*x + 8.")
    assert may_have_forms("x .sum()") and may_have_forms("F.relu(x)")


def test_a_walk_is_the_fresh_walk_and_belongs_to_its_own_tree():
    walk = post_order.__wrapped__  # type: ignore[attr-defined]
    for request in CORPUS.values():
        tree = parse(request.expression).tree
        for node in post_order(tree):
            assert post_order(node) == walk(node) and post_order(node)[-1] is node
        assert post_order(tree) is post_order(tree)
    # Trees made and dropped, past the walks kept: an id used again is never another's walk.
    for k in range(3 * WALKS_KEPT):
        tree = parse(f"x{k}*y + {k}").tree
        assert post_order(tree)[-1] is tree
        assert [n.name for n in post_order(tree) if isinstance(n, Var)] == [f"x{k}", "y"]
        del tree


def test_a_program_s_shared_value_is_walked_once():
    parsed = parse("a = x*2\nb = a + a\ny = b*a")
    order = post_order(parsed.tree)
    assert len({id(n) for n in order}) == len(order)
    assert all(order.index(kid) < order.index(n) for n in order for kid in children(n))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_answer_is_the_same_with_every_walk_made_anew(name: str):
    warm = answer(CORPUS[name])
    post_order.cache_clear()  # type: ignore[attr-defined]
    expr.checked.cache_clear()
    assert answer(CORPUS[name]) == warm
