"""Line breaks in a program: exactly \\n, \\r\\n or \\r; every other separator is refused."""

from __future__ import annotations

import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import ExprError

LINES = ["z = w*x + b", "h = tanh(z)", "loss = (h - t)**2"]


@pytest.mark.parametrize("br", ["\n", "\r\n", "\r"])
def test_each_line_break_reads_the_same_program(br: str) -> None:
    parsed = parse(br.join(LINES) + br)
    assert parsed.output_name == "loss"
    assert set(parsed.variables) == {"w", "x", "b", "t"}
    assert parsed.normalized == parse("\n".join(LINES)).normalized


@pytest.mark.parametrize("sep", ["\x0b", "\x85", "\u2028", "\x0c", "\u2029"])
def test_other_separators_stay_refused(sep: str) -> None:
    with pytest.raises(ExprError):
        parse(sep.join(LINES))
