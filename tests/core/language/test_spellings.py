"""Unicode operators a keyboard types (x², 2·x, x−1): refused with their ASCII spelling."""

from __future__ import annotations

import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import ExprError

# The text typed, the column of the character, and the ASCII the refusal must name.
TYPED = [
    ("x²", 2, "x**2 or x^2"),
    ("x³ + 1", 2, "x**3 or x^3"),
    ("2·x", 2, "2*x"),
    ("2×x", 2, "2*x"),
    ("x\u22121", 2, "x-1"),
    ("x÷2", 2, "x/2"),
]


@pytest.mark.parametrize(("text", "column", "ascii"), TYPED)
def test_each_character_names_its_ascii_spelling_and_its_column(text, column, ascii) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    error = info.value
    assert f"write {ascii} instead of" in error.message
    assert error.column == column and (error.start, error.end) == (column - 1, column)


def test_the_hint_names_only_the_operator_when_no_operand_is_beside_it() -> None:
    with pytest.raises(ExprError) as info:
        parse("(x + 1)²")
    assert "write **2 or ^2 instead of ²" in info.value.message and info.value.column == 8


def test_a_program_line_keeps_its_line_and_column() -> None:
    with pytest.raises(ExprError) as info:
        parse("z = 3*x\ny = z·x")
    error = info.value
    assert (error.line, error.column) == (2, 6)
    assert error.message == (
        "Line 2: The character '·' at column 6 is not allowed; multiply with *: write z*x "
        "instead of z·x."
    )


def test_other_unicode_keeps_the_plain_refusal() -> None:
    with pytest.raises(ExprError) as info:
        parse("x√2")
    assert "use plain ASCII" in info.value.message
