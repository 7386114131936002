"""Value lines: a program line ``name = number`` (or a list) sets that variable's value."""

from __future__ import annotations

import pytest

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.program import line_names, split_values, value_lines
from autograd_playground.core.language.rules import ExprError, Limits
from autograd_playground.core.language.values import literal


def refusal(text: str, limits: Limits = Limits()) -> ExprError:
    with pytest.raises(ExprError) as info:
        parse(text, limits)
    return info.value


def test_a_first_value_line_makes_its_name_a_variable_with_that_value() -> None:
    parsed = parse("x = 2\ny = x**2")
    assert parsed.variables == ("x",)
    assert parsed.normalized == "y = x**2"  # a value, not a step
    assert [(v.name, v.value, v.line) for v in parsed.values] == [("x", 2, 1)]


def test_a_value_line_in_the_middle_is_a_value_too() -> None:
    parsed = parse("z = w*x\nb = 0.5\ny = z + b")
    assert parsed.variables == ("w", "x", "b")
    assert [line.name for line in parsed.lines] == ["z", "y"]
    assert parsed.with_values({"w": 1, "x": 2}) == {"w": 1, "x": 2, "b": 0.5}


@pytest.mark.parametrize("written", ["[1, 2, 3]", "1, 2, 3", "[1,2,3]", " [1.0, 2, 3] "])
def test_a_list_is_a_value(written: str) -> None:
    parsed = parse(f"w = {written}\ny = sum(w*x)")
    assert parsed.variables == ("w", "x")
    assert parsed.values[0].value == [1, 2, 3] and parsed.values[0].text in ("[1, 2, 3]", "[1.0, 2, 3]")


def test_the_line_wins_over_a_value_given_for_the_same_name() -> None:
    parsed = parse("x = 2\ny = x**2")
    assert parsed.with_values({"x": 5.0, "t": 1}) == {"x": 2, "t": 1}


def test_a_name_used_before_its_value_line_is_refused_at_that_line() -> None:
    error = refusal("y = x**2\nx = 3")
    assert error.message == "'x' is used on line 1 before line 2 sets its value; move line 2 above line 1."
    assert (error.line, error.column) == (2, 1)


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [("x = 2\nx = w*3\ny = x", 2, 1), ("x = w*3\nx = 2\ny = x", 2, 1), ("x = 2\nx = 3\ny = x", 2, 1)],
)
def test_a_value_line_and_a_step_line_for_one_name_are_refused(text, line, first) -> None:
    error = refusal(text)
    assert f"'x' is assigned on line {first} and again on line {line}" in error.message
    assert (error.line, error.column, error.end - error.start) == (line, 1, 1)


def test_a_program_of_value_lines_only_has_nothing_to_compute() -> None:
    error = refusal("x = 2\nw = [1, 2]")
    assert "only sets values (x, w), so there is nothing to compute" in error.message
    alone = refusal("x = 2")
    assert "gives x a value" in alone.message and alone.column == 3


def test_a_value_line_is_checked_like_a_value_field_and_points_at_the_value() -> None:
    error = refusal("w = [1, [2]]\ny = w", Limits())
    assert "not rectangular" in error.message and (error.line, error.column) == (1, 5)
    assert "more than 2 numbers" in refusal("w = [1, 2, 3]\ny = w", Limits(max_elements=2)).message
    assert "not finite" in refusal("w = 1e999\ny = w").message


def test_a_decimal_comma_is_no_list_and_keeps_its_hint() -> None:
    assert "Write decimals with a point: 2.5 instead of 2,5" in refusal("x = 2,5\ny = x").message
    assert literal("2,5") is None and literal("1, 2") == [1, 2]


@pytest.mark.parametrize("text", ["2*pi", "pi", "x", "-x", "True", "[x]", "'2'", "[" * 5000])
def test_an_expression_is_no_value(text: str) -> None:
    assert literal(text) is None


def test_a_constant_expression_stays_a_step() -> None:
    parsed = parse("c = 2*3\ny = c*x")
    assert parsed.variables == ("x",) and parsed.values == ()


def test_line_breaks_of_a_text_area_read_the_same() -> None:
    crlf = parse("x = 2\r\ny = x**2\r\n")
    assert crlf.variables == ("x",) and crlf.values[0].value == 2


def test_split_values_keeps_the_other_lines_where_they_were() -> None:
    text = "x = 2\r\nz = w*x\nb = -0.5\ny = z + b"
    assert split_values(text) == ("\nz = w*x\n\ny = z + b", {"x": "2", "b": "-0.5"})
    assert [(v.line, v.name, v.text) for v in value_lines(text)] == [(1, "x", "2"), (3, "b", "-0.5")]
    assert line_names(text) == ("z", "y")
    assert split_values("5*x**2") == ("5*x**2", {})
