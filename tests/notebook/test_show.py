"""show() called directly: its name for the output, and its refusals in either language."""

from __future__ import annotations

import pytest
import torch

from autograd_playground import show
from autograd_playground.core.language.rules import ExprError


def test_a_vector_without_grad_outputs_is_refused_in_german() -> None:
    v = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ExprError) as english:
        show(v * 3, params={"v": v})
    with pytest.raises(ExprError) as german:
        show(v * 3, params={"v": v}, lang="de")
    assert str(english.value) == "grad can be implicitly created only for scalar outputs"
    assert str(german.value) != str(english.value) and "skalare Ausgabe" in str(german.value), str(german.value)


def test_a_freed_graph_is_refused_with_the_name_the_user_gives() -> None:
    x = torch.tensor(2.0, requires_grad=True)
    loss = x * x
    loss.backward()
    with pytest.raises(ExprError) as refused:
        show(loss, params={"x": x}, name="loss")
    assert "Call show(loss) before loss.backward()" in str(refused.value)


def test_the_output_says_the_users_name() -> None:
    x = torch.tensor(2.0, requires_grad=True)
    out = show(x * x, params={"x": x}, name="loss")
    assert "print(loss)" in out.html and "∂loss/∂" in out.html
    assert out.result.gradients == {"x": 4.0}


def test_an_unknown_language_is_refused() -> None:
    x = torch.tensor(2.0, requires_grad=True)
    with pytest.raises(ValueError, match="lang must be one of en, de"):
        show(x * x, lang="fr")


def test_unnamed_leaves_get_stable_names_in_the_leaf_table() -> None:
    from bs4 import BeautifulSoup

    x = torch.tensor(2.0, requires_grad=True)
    w = torch.tensor(3.0, requires_grad=True)
    out = show(x * w + x)
    assert out.result.gradients == {"t0": 4.0, "t1": 2.0}  # d/dx = w + 1, d/dw = x
    table = BeautifulSoup(out.html, "html.parser").select_one('[data-testid="param-table"]')
    rows = {tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.select("td")]
            for tr in table.select("tbody tr")}
    assert rows == {"t0": ["()", "2", "4"], "t1": ["()", "3", "2"]}
    assert x.grad is None and w.grad is None
