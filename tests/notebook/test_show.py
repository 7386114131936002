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
