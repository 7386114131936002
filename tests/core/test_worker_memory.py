"""What a worker remembers between requests changes no answer, byte for byte.

Each request of the worker corpus (tests/core/worker_corpus.py: the lesson, a 20-term
polynomial, two variables, the vector MSE, the neuron, the two-layer MLP program,
relu at 0, a program with collapsed lines, every extra) is computed in a process
that has just answered it, the same function under other names and the same
function at other values, and compared with the answer a worker with nothing
remembered gives. The worker's answer has no language: German is the web's, over
the same JSON.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import torchviz

from autograd_playground.core.draw import dot, render, shape
from autograd_playground.core.draw.named import Names
from autograd_playground.core.draw.shape import Renaming
from autograd_playground.core.language.expr import checked
from autograd_playground.core.language.rules import Limits
from autograd_playground.core.trace import local
from autograd_playground.core.trace.graph import trace

from .worker_corpus import CORPUS, Request, answer

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_WORDS = {"sin", "cos", "tan", "tanh", "exp", "log", "sqrt", "abs", "relu", "sigmoid", "sum",
          "mean", "mse", "max", "min", "torch", "pow", "e", "pi"}


def forget_everything() -> None:
    """A worker that has answered nothing yet."""
    local.forget()
    render.drawn.cache_clear()
    render._NAMED.clear()
    dot._DOT_MEMORY.clear()
    dot._NAMED_DOTS.clear()
    shape._pieces.cache_clear()


def fresh(request: Request) -> bytes:
    forget_everything()
    return answer(request)


def renamed(request: Request, tag: str) -> Request:
    """The same function with every variable and line name followed by ``tag``."""
    names = set(request.inputs) | {m.group(1) for m in re.finditer(
        r"^\s*([A-Za-z_]\w*)\s*=", request.expression, re.MULTILINE)}
    names -= _WORDS

    def new(name: str) -> str:
        return name + tag if name in names else name

    return request._replace(
        expression=_NAME.sub(lambda m: new(m.group()), request.expression),
        inputs={new(k): v for k, v in request.inputs.items()},
        requires_grad=None if request.requires_grad is None
        else {new(k): v for k, v in request.requires_grad.items()},
        collapse=tuple(new(c) for c in request.collapse),
    )


def moved(value: Any, by: float) -> Any:
    """``value`` with each number moved by ``by`` (lists keep their shape)."""
    if isinstance(value, list):
        return [moved(v, by) for v in value]
    return value + by


def other_values(request: Request, by: float) -> Request:
    return request._replace(inputs={k: moved(v, by) for k, v in request.inputs.items()})


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_remembered_answer_is_a_first_computation(name: str) -> None:
    request = CORPUS[name]
    first = fresh(request)
    assert answer(request) == first  # everything remembered
    for tag in ("q7", "Zq"):  # the same shape under new names, after the first
        again = renamed(request, tag)
        assert answer(again) == fresh(again)
        answer(request)  # the first one remembered again
        assert answer(again) == fresh(again) != first


@pytest.mark.parametrize("name", ["lesson", "polynomial", "mlp", "neuron", "relu at 0", "collapsed"])
def test_new_values_after_remembered_ones_are_a_first_computation(name: str) -> None:
    request = CORPUS[name]
    fresh(request)
    answer(renamed(request, "w3"))
    for by in (0.25, -1.5, 0.25):
        again = other_values(request, by)
        expected = fresh(again)
        answer(request)
        answer(renamed(other_values(request, -by), "w3"))
        assert answer(again) == expected


def test_a_source_drawn_before_is_not_renamed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lesson at a new value has the DOT it had: its picture is the one given before,
    without splitting the DOT into placeholders again."""
    lesson = CORPUS["lesson"]
    expected = fresh(other_values(lesson, 1.0))
    forget_everything()
    answer(lesson)
    calls: list[str] = []
    real = Renaming.of
    monkeypatch.setattr(Renaming, "of", staticmethod(lambda s: calls.append(s) or real(s)))
    assert answer(other_values(lesson, 1.0)) == expected
    assert calls == []


def test_forgetting_the_layouts_forgets_the_renamed_pictures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lesson = CORPUS["lesson"]
    forget_everything()
    first = answer(lesson)
    render.drawn.cache_clear()
    calls: list[str] = []
    real = render.layout
    monkeypatch.setattr(render, "layout", lambda s, *a, **k: calls.append(s) or real(s, *a, **k))
    assert answer(lesson) == first
    assert len(calls) == 1  # laid out again, not taken from what was forgotten


def traced(text: str, values: dict[str, Any], grads: dict[str, bool] | None = None):
    parsed = checked(text, Limits())
    return trace(parsed, parsed.with_values(values), parsed.with_grads(grads))


LESSON = "5*x**3 + 2*x**2 + 4*x + 8"
PROGRAM = CORPUS["collapsed"].expression
PROGRAM_VALUES = CORPUS["collapsed"].inputs
# Names that are words of the DOT too (ids, attributes, labels), placeholders' letters,
# names of one letter and of many, with _ and digits; drawn one after the other, each
# after another name of the same shape has been remembered.
NAMES = ["x", "out", "n1", "var", "box", "cluster", "label", "filled", "B", "X", "BB", "DB",
         "BDEF", "x_1", "x__", "AccumulateGrad", "MulBackward0", "t0", "y", "line", "q" * 30]


@pytest.mark.parametrize("name", NAMES)
def test_a_renamed_dot_is_the_dot_torchviz_writes(name: str) -> None:
    forget_everything()
    for other in ("v", name, "u", name):
        lesson = traced(LESSON.replace("x", other), {other: 2.0})
        assert dot.remembered_torchviz_dot(lesson) == dot.torchviz_dot(lesson)
        if other in PROGRAM_VALUES:
            continue
        program = re.sub(r"\bh\b", other, PROGRAM)  # the line h = tanh(z) named anew
        for collapse in ((), (other,), ("z",)):
            drawn = traced(program, PROGRAM_VALUES)
            shown = dot.collapsed_lines(drawn, collapse)
            assert dot.remembered_torchviz_dot(drawn, shown) == dot.torchviz_dot(drawn, shown)


def test_names_that_cannot_be_placeholders_are_drawn_as_they_are() -> None:
    many = " + ".join(f"{chr(97 + i)}*{chr(97 + i)}" for i in range(17))  # 17 of one letter
    drawn = traced(many, {chr(97 + i): 1.0 for i in range(17)})
    assert Names.of(drawn) is None
    assert dot.remembered_torchviz_dot(drawn) == dot.torchviz_dot(drawn)


def renamed_polynomials() -> tuple[list[Request], list[bytes]]:
    """The polynomial under three other names of its name's length, and their answers
    computed fresh; then the polynomial itself answered, so that its shape is known."""
    polynomial = CORPUS["polynomial"]
    others = [polynomial._replace(expression=re.sub(r"\bx\b", name, polynomial.expression),
                                  inputs={name: 0.5}) for name in ("v", "w", "q")]
    expected = [fresh(other) for other in others]
    forget_everything()
    answer(polynomial)
    return others, expected


def test_a_renamed_trace_is_drawn_without_make_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    """The polynomial under names of its name's length: one make_dot for them all."""
    others, expected = renamed_polynomials()
    calls: list[object] = []
    real = torchviz.make_dot
    monkeypatch.setattr(torchviz, "make_dot", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert [answer(other) for other in others] == expected
    assert calls == []


@pytest.mark.parametrize("name", NAMES)
def test_a_renaming_made_from_the_placeholders_dot_is_the_dots_own(name: str) -> None:
    forget_everything()
    checked_ones = 0
    for other in ("v", name, "u", name):
        drawings = [traced(LESSON.replace("x", other), {other: 2.0})]
        if other not in PROGRAM_VALUES:
            drawings.append(traced(re.sub(r"\bh\b", other, PROGRAM), PROGRAM_VALUES))
        for drawn in drawings:
            for collapse in ((), ("z",)):
                dot._NAMED_DOTS.clear()  # drawn from the placeholders' DOT each time
                source, hidden = dot.named_torchviz_dot(drawn, collapse)
                assert hidden is not None
                derived = Renaming.named(*hidden)
                if derived is not None:  # None: a name that is also a word of the DOT
                    assert derived == Renaming.of(source)
                    checked_ones += 1
    assert checked_ones > 0


def test_a_renamed_dot_is_not_split_into_placeholders_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    others, expected = renamed_polynomials()
    calls: list[str] = []
    real = Renaming.of
    monkeypatch.setattr(Renaming, "of", staticmethod(lambda s: calls.append(s) or real(s)))
    assert [answer(other) for other in others] == expected
    assert calls == []


@pytest.mark.parametrize("params", [("w", "b"), ("t0", "qq"), ("t1", "t0"), None])
def test_a_notebooks_tensor_is_drawn_as_torchviz_draws_it(params: tuple[str, str] | None) -> None:
    """A notebook's leaves that were given no name are t0, t1, ...: their ids hold those,
    and the same shape may call its unnamed leaf t0 once and t1 the next time."""
    import torch

    from autograd_playground.core.trace.tensor import trace_tensor

    forget_everything()
    for given in (("pp", "qq"), params):
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        b = torch.tensor(0.5, requires_grad=True)
        u = torch.tensor(3.0, requires_grad=True)
        y = torch.tanh((w * u).sum() + b)
        drawn = trace_tensor(y, None if given is None else dict(zip(given, (w, b), strict=True)))
        assert dot.remembered_torchviz_dot(drawn) == dot.torchviz_dot(drawn)


def test_the_new_memories_are_bounded_by_their_characters() -> None:
    forget_everything()
    lesson = CORPUS["lesson"]
    answer(lesson)
    answer(renamed(lesson, "q"))
    assert dot._NAMED_DOTS.maxsize == dot.NAMED_DOT_BYTES
    assert dot._NAMED_DOTS.currsize == sum(len(source) for _, source in dot._NAMED_DOTS.values())
    assert render._NAMED.maxsize == render.NAMED_CHARS
    assert render._NAMED.currsize == sum(len(a) + len(b) for a, b in render._NAMED.values())
    renamings = shape._renaming_of.cache  # type: ignore[attr-defined]
    assert renamings.maxsize == shape.RENAMINGS_CHARS
    assert renamings.currsize == sum(len(r.source) for r in renamings.values()) > 0
