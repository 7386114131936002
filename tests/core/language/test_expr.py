"""autograd_playground.core.language.expr.parse: the function language a student types.

Grouped like the feature list: what the language accepts, how a tree prints
back (``normalized``), what it refuses and where it points, that parsing never
runs anything, and two Hypothesis properties (arbitrary text only ever gives a
tree or an ExprError; generated valid functions round-trip).

Expected trees, values and columns are written by hand from the text (a
column is found with ``text.index(...)``), never copied from the parser's output.
"""

from __future__ import annotations

import ast
import builtins
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import FUNCTIONS, ExprError, Limits, TooLong
from autograd_playground.core.language.tree import BinOp, Call, ListConst, Num, Parsed, Unary, Var, unparse

ROOT = Path(__file__).resolve().parents[2]

# Generous limits for re-parsing and for generated functions: these tests are
# about the grammar, not about the size limits (which have their own tests).
ROOMY = Limits(max_length=100_000, max_depth=10_000, max_operations=100_000)


# --- helpers ----------------------------------------------------------------


def shape(node) -> tuple:
    """The tree without positions, as nested tuples (numbers by repr, so 1 != 1.0)."""
    if isinstance(node, Num):
        return ("num", repr(node.value))
    if isinstance(node, Var):
        return ("var", node.name)
    if isinstance(node, ListConst):
        return ("list", repr(node.value))
    if isinstance(node, Unary):
        return ("unary", node.op, shape(node.operand))
    if isinstance(node, BinOp):
        return ("binop", node.op, shape(node.left), shape(node.right))
    if isinstance(node, Call):
        return ("call", node.func, tuple(shape(a) for a in node.args))
    raise TypeError(f"not a tree node: {node!r}")


def nodes(tree):
    """Every node of a tree, parents first."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, BinOp):
            stack.extend((node.left, node.right))
        elif isinstance(node, Call):
            stack.extend(node.args)


def refusal(text: str, limits: Limits = Limits()) -> ExprError:
    with pytest.raises(ExprError) as info:
        parse(text, limits)
    return info.value


# Hand-written shapes.
def num(v):
    return ("num", repr(v))


def var(n):
    return ("var", n)


def binop(op, a, b):
    return ("binop", op, a, b)


def unary(op, a):
    return ("unary", op, a)


X, Y, Z = var("x"), var("y"), var("z")


# --- 1. the accepted language -----------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [("2", 2), ("2.5", 2.5), ("1e-3", 0.001), (".5", 0.5), ("1E2", 100.0), ("0", 0)],
)
def test_a_number_is_a_num_spanning_the_text(text, value):
    tree = parse(text).tree
    assert tree == Num(value, 0, len(text))
    assert type(tree.value) is type(value)


def test_integers_stay_integers_and_decimals_stay_floats():
    assert isinstance(parse("2").tree.value, int)
    assert isinstance(parse("2.0").tree.value, float)


@pytest.mark.parametrize("name", ["x", "w1", "learning_rate", "X", "inf", "nan", "grad"])
def test_a_name_is_a_variable(name):
    parsed = parse(name)
    assert parsed.tree == Var(name, 0, len(name))
    assert parsed.variables == (name,)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**", "@"])
def test_each_binary_operator(op):
    text = f"x {op} y"
    assert parse(text).tree == BinOp(op, Var("x", 0, 1), Var("y", len(text) - 1, len(text)), 0, len(text))


@pytest.mark.parametrize("op", ["-", "+"])
def test_unary_minus_and_plus(op):
    assert parse(f"{op}x").tree == Unary(op, Var("x", 1, 2), 0, 2)


def test_multiplication_binds_tighter_than_addition():
    assert shape(parse("1 + 2*x").tree) == binop("+", num(1), binop("*", num(2), X))


def test_parentheses_group():
    assert shape(parse("(1 + 2)*x").tree) == binop("*", binop("+", num(1), num(2)), X)


def test_redundant_parentheses_leave_no_trace():
    assert parse("((x))").tree == Var("x", 2, 3)


def test_minus_applies_after_power():
    assert shape(parse("-x**2").tree) == unary("-", binop("**", X, num(2)))


def test_power_is_right_associative():
    assert shape(parse("x**y**z").tree) == binop("**", X, binop("**", Y, Z))


def test_spaces_between_and_after_tokens_are_free():
    assert shape(parse("5 * x ** 3  ").tree) == binop("*", num(5), binop("**", X, num(3)))


@pytest.mark.parametrize("text", [" x + 1", "  5*x**3"])
def test_leading_spaces_are_free(text):
    assert parse(text).variables == ("x",)


def test_the_seed_example():
    five_x3 = binop("*", num(5), binop("**", X, num(3)))
    two_x2 = binop("*", num(2), binop("**", X, num(2)))
    four_x = binop("*", num(4), X)
    expected = binop("+", binop("+", binop("+", five_x3, two_x2), four_x), num(8))
    parsed = parse("5*x**3 + 2*x**2 + 4*x + 8")
    assert shape(parsed.tree) == expected
    assert parsed.variables == ("x",)


class TestCaretMeansPower:
    def test_caret_binds_like_power_not_like_xor(self):
        assert shape(parse("x^2+1").tree) == binop("+", binop("**", X, num(2)), num(1))
        assert shape(parse("x^2+1").tree) == shape(parse("x**2+1").tree)

    @pytest.mark.parametrize(
        "caret, power",
        [("2*x^3", "2*x**3"), ("x^y^z", "x**y**z"), ("-x^2", "-x**2"), ("2^-1", "2**-1"),
         ("(x+1)^2", "(x+1)**2"), ("x ^ 2", "x ** 2")],
    )
    def test_caret_is_the_same_tree_as_double_star(self, caret, power):
        assert shape(parse(caret).tree) == shape(parse(power).tree)

    def test_columns_refer_to_the_text_as_typed(self):
        text = "x^2 + 1"
        tree = parse(text).tree
        assert tree.right == Num(1, text.index("1"), text.index("1") + 1)
        assert text[tree.left.start : tree.left.end] == "x^2"
        assert tree.left.right == Num(2, text.index("2"), text.index("2") + 1)
        assert (tree.start, tree.end) == (0, len(text))

    def test_columns_after_several_carets(self):
        text = "x^2^3 + y"
        tree = parse(text).tree
        assert tree.right == Var("y", text.index("y"), text.index("y") + 1)


class TestLists:
    def test_a_flat_list_is_one_constant(self):
        assert parse("[1, 2, 3]").tree == ListConst((1, 2, 3), 0, 9)

    def test_nested_lists_with_negative_numbers_are_nested_tuples(self):
        tree = parse("[[1, -2], [3.5, +4]]").tree
        assert isinstance(tree, ListConst)
        assert tree.value == ((1, -2), (3.5, 4))
        assert all(type(row) is tuple for row in tree.value)
        assert type(tree.value[0][1]) is int

    def test_four_dimensions_are_allowed(self):
        assert parse("[[[[7]]]]").tree.value == ((((7,),),),)

    def test_a_list_is_an_operand(self):
        tree = parse("sum([1, 2]*x)").tree
        assert tree.args[0].left == ListConst((1, 2), 4, 10)

    def test_a_list_has_no_variables(self):
        assert parse("[1, 2]").variables == ()


class TestFunctions:
    @pytest.mark.parametrize("name, arity", sorted(FUNCTIONS.items()))
    def test_each_function_with_its_arity(self, name, arity):
        args = ["x", "y", "z"][:arity]
        text = f"{name}({', '.join(args)})"
        tree = parse(text).tree
        assert tree == Call(name, tuple(tree.args), 0, len(text))
        assert [shape(a) for a in tree.args] == [var(a) for a in args]

    def test_the_functions_a_lesson_needs_are_there(self):
        assert {"sin", "cos", "exp", "log", "tanh", "sigmoid", "relu", "sum", "mean"} <= set(FUNCTIONS)
        assert FUNCTIONS["pow"] == 2

    def test_calls_nest(self):
        assert shape(parse("sin(exp(x))").tree) == ("call", "sin", (("call", "exp", (X,)),))

    def test_a_function_name_is_not_a_variable(self):
        assert parse("sin(x) + pow(y, 2)").variables == ("x", "y")


class TestVariables:
    def test_in_order_of_first_appearance_without_duplicates(self):
        assert parse("y*x + x*z + y").variables == ("y", "x", "z")

    def test_order_follows_the_text_not_the_tree(self):
        assert parse("b + (a + c)").variables == ("b", "a", "c")
        assert parse("pow(b, a)*c").variables == ("b", "a", "c")

    def test_a_constant_function_has_none(self):
        assert parse("2 + 3").variables == ()

    def test_parsed_keeps_the_text_as_typed(self):
        parsed = parse("x^2 + 1")
        assert isinstance(parsed, Parsed)
        assert parsed.text == "x^2 + 1"


# --- 2. printing back: unparse / normalized ---------------------------------


@pytest.mark.parametrize(
    "text, normalized",
    [
        ("5*x**3 + 2*x**2 + 4*x + 8", "5*x**3 + 2*x**2 + 4*x + 8"),
        ("x - (y - z)", "x - (y - z)"),
        ("(x - y) - z", "x - y - z"),
        ("(-x)**2", "(-x)**2"),
        ("-x**2", "-x**2"),
        ("-(x**2)", "-x**2"),
        ("(x**y)**z", "(x**y)**z"),
        ("x**y**z", "x**y**z"),
        ("x**(y**z)", "x**y**z"),
        ("x**(y + 1)", "x**(y + 1)"),
        ("2**(x*y)", "2**(x*y)"),
        ("2**-1", "2**-1"),
        ("a/(b*c)", "a/(b*c)"),
        ("a*b/c", "a*b/c"),
        ("(a*b)/c", "a*b/c"),
        ("-(x + y)", "-(x + y)"),
        ("x^2+1", "x**2 + 1"),
        ("((x))", "x"),
        ("x@y", "x @ y"),
        ("x*(y @ z)", "x*(y @ z)"),
        ("sin( x )", "sin(x)"),
        ("pow(x,2)", "pow(x, 2)"),
        ("[1,-2]", "[1, -2]"),
        ("1e-3*x", "0.001*x"),
        ("x--y", "x - -y"),
    ],
)
def test_normalized_text(text, normalized):
    assert parse(text).normalized == normalized


@pytest.mark.parametrize(
    "text",
    ["5*x**3 + 2*x**2 + 4*x + 8", "x - (y - z)", "(-x)**2", "-x**2", "(x**y)**z", "x**y**z",
     "2**-1", "a/(b*c)", "x**(y - 1)", "x**-(y*z)", "-(-x)", "x**-y**z", "(x@y)@z", "x@(y@z)", "2*-x", "-x*y", "-(x*y)",
     "sum([[1.5, -2], [3, 4]]*x)", "pow(x + 1, -y)", "(2.5)**x", "[-0.0]"],
)
def test_normalized_parses_back_to_the_same_tree(text):
    parsed = parse(text)
    again = parse(parsed.normalized)
    assert shape(again.tree) == shape(parsed.tree)
    assert again.normalized == parsed.normalized
    assert again.variables == parsed.variables


def test_unparse_prints_a_hand_built_tree():
    # Positions do not matter for printing.
    tree = BinOp("-", Var("x", 0, 0), BinOp("-", Var("y", 0, 0), Var("z", 0, 0), 0, 0), 0, 0)
    assert unparse(tree) == "x - (y - z)"
    assert unparse(Unary("-", BinOp("**", Var("x", 0, 0), Num(2, 0, 0), 0, 0), 0, 0)) == "-x**2"
    assert unparse(BinOp("**", Unary("-", Var("x", 0, 0), 0, 0), Num(2, 0, 0), 0, 0)) == "(-x)**2"


def test_unparse_handles_a_tree_deeper_than_the_recursion_limit():
    tree = Var("x", 0, 1)
    for _ in range(sys.getrecursionlimit() + 100):
        tree = Unary("-", tree, 0, 1)
    assert unparse(tree) == "-" * (sys.getrecursionlimit() + 100) + "x"


def balanced_sum(n: int) -> str:
    """x+x+...+x with n terms as a balanced tree (shallow), minimal parentheses."""
    if n == 1:
        return "x"
    left, right = balanced_sum(n // 2), balanced_sum(n - n // 2)
    return f"{left}+({right})" if n - n // 2 > 1 else f"{left}+{right}"


def test_normalized_of_a_long_function_parses_back_to_the_same_tree():
    # normalized is longer than the text (spaces around + - @), so it is read back
    # without the length limit: it is the app's output, not a student's input.
    text = balanced_sum(128)  # 127 operations, depth 8, about 380 characters
    parsed = parse(text, Limits())
    assert len(parsed.normalized) > Limits().max_length
    assert shape(parse(parsed.normalized, Limits(max_length=10_000)).tree) == shape(parsed.tree)


# --- 3. refusals: status, a message that names the problem, the column ------

# (id, text, the offending text, a phrase the message must contain)
REFUSALS = [
    ("attribute-dunder", "x.__class__", "x.__class__", "attribute"),
    ("attribute-grad", "2*x.grad", "x.grad", "attribute"),
    ("list-comprehension", "[i for i in x]", "[i for i in x]", "list comprehension"),
    ("set-comprehension", "{i for i in x}", "{i for i in x}", "set comprehension"),
    ("dict-comprehension", "{i: i for i in x}", "{i: i for i in x}", "dict comprehension"),
    ("generator-expression", "1 + (i for i in x)", "(i for i in x)", "generator"),
    ("lambda", "lambda: 1", "lambda: 1", "lambda"),
    ("string", "'a'", "'a'", "quotes"),
    ("string-in-call", 'sin("x")', '"x"', "quotes"),
    ("f-string", "f'{x}'", "f'{x}'", "f-string"),
    ("bytes", "b'a'", "b'a'", "not a number"),
    ("keyword-argument", "sin(x=1)", "x=1", "keyword"),
    ("keyword-unpacking", "sin(**x)", "**x", "keyword"),
    ("walrus", "(y:=2)", "y:=2", "assignment"),
    ("starred-argument", "sin(*x)", "*x", "starred"),
    ("too-many-arguments", "sin(x, y)", "sin(x, y)", "takes 1 argument(s) but got 2"),
    ("too-few-arguments", "pow(x)", "pow(x)", "takes 2 argument(s) but got 1"),
    ("unknown-function", "2*foo(x)", "foo", "unknown function 'foo'"),
    ("variable-called", "x(1)", "x", "unknown function 'x'"),
    ("import", "__import__('os')", "__import__", "unknown function"),
    ("eval", "eval('1')", "eval", "unknown function"),
    ("lambda-called", "(lambda: 1)()", "lambda: 1", "lambda"),
    ("method-call", "x.y()", "x.y", "attribute"),
    ("call-of-a-call", "sin(x)(y)", "sin(x)", "only the listed functions"),
    ("dunder-name", "__builtins__", "__builtins__", "may not start with '_'"),
    ("underscore-name", "1 + _x", "_x", "may not start with '_'"),
    ("comparison", "x < 1", "x < 1", "comparison"),
    ("chained-comparison", "1 < x < 2", "1 < x < 2", "comparison"),
    ("and", "x and y", "x and y", "and/or"),
    ("or", "x or y", "x or y", "and/or"),
    ("not", "not x", "not", "operator 'not'"),
    ("conditional", "x if y else z", "x if y else z", "conditional"),
    ("modulo", "x % 2", "%", "operator '%'"),
    ("modulo-after-parentheses", "(x+1) % 2", "%", "operator '%'"),
    ("floor-division", "x // 2", "//", "operator '//'"),
    ("left-shift", "x << 2", "<<", "operator '<<'"),
    ("right-shift", "x >> 2", ">>", "operator '>>'"),
    ("bitwise-or", "x | 2", "|", "operator '|'"),
    ("bitwise-and", "x & 2", "&", "operator '&'"),
    ("invert", "~x", "~", "operator '~'"),
    ("complex", "1j", "1j", "complex"),
    ("complex-in-sum", "2 + 3j", "3j", "complex"),
    ("true", "True", "True", "not a number"),
    ("none", "x + None", "None", "not a number"),
    ("ellipsis", "...", "...", "not a number"),
    ("tuple", "(1, 2)", "(1, 2)", "tuple"),
    ("dict", "{1: 2}", "{1: 2}", "dict"),
    ("set", "{1}", "{1}", "set"),
    ("ragged-list", "[[1, 2], [3]]", "[[1, 2], [3]]", "not rectangular"),
    ("number-beside-row", "[1, [2]]", "[1, [2]]", "not rectangular"),
    ("empty-list", "[]", "[]", "empty list"),
    ("name-in-list", "[x, 1]", "x", "only hold numbers"),
    ("expression-in-list", "[1, 1+1]", "1+1", "only hold numbers"),
    ("function-without-call", "sin + x", "sin", "is a function"),
    ("await", "await x", "await x", "await"),
    ("yield", "(yield x)", "yield x", "yield"),
    ("huge-float", "1e400", "1e400", "too large"),
    ("huge-integer", "100000000000000000000", "100000000000000000000", "too large"),
    ("huge-number-in-list", "[1, -1e400]", "1e400", "too large"),
]


@pytest.mark.parametrize(
    "text, offending, phrase", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusal_names_the_problem_and_points_at_it(text, offending, phrase):
    err = refusal(text)
    column = text.index(offending) + 1
    assert not isinstance(err, TooLong)
    assert phrase.lower() in err.message.lower()
    assert err.start == column - 1
    assert err.column == column
    assert f"column {column}" in err.message
    assert err.params["token"] == offending


def test_refused_binary_operator_spans_exactly_the_operator():
    text = "(x+1) // 2"
    err = refusal(text)
    assert text[err.start : err.end] == "//"


def test_unknown_function_lists_the_available_ones():
    err = refusal("foo(x)")
    for name in FUNCTIONS:
        assert name in err.message
    assert err.end == 3


def test_subscript_is_refused_and_its_span_covers_the_brackets():
    text = "x[0]"
    err = refusal(text)
    assert not isinstance(err, TooLong)
    assert "indexing" in err.message.lower()
    assert err.start <= text.index("[") < err.end


def test_subscript_refusal_points_at_the_brackets():
    text = "x[0]"
    assert refusal(text).start == text.index("[")


class TestSyntaxErrors:
    @pytest.mark.parametrize(
        "text, offending, phrase",
        [("x +* 2", "*", "cannot be read"), ("(x", "(", "unclosed '('"),
         ("sin(x", "(", "unclosed '('"), ("x)", ")", "unmatched"), ("x y", "y", "cannot be read"),
         ("x^^2", "^", "cannot be read")],
    )
    def test_points_at_the_offending_character(self, text, offending, phrase):
        err = refusal(text)
        assert not isinstance(err, TooLong)
        assert phrase in err.message
        assert err.start == text.rindex(offending)
        assert err.params["token"] == offending

    @pytest.mark.parametrize("text", ["x +", "2*", "x^"])
    def test_a_trailing_operator_is_reported_at_the_end(self, text):
        err = refusal(text)
        assert "ends too early" in err.message
        assert err.start == len(text) - 1  # the dangling operator itself


class TestSlips:
    """The common slips get a sentence that says what to type instead, and where."""

    @pytest.mark.parametrize(
        "text, token, fix",
        [("5x^3 + 2", "5x", "5*x"), ("x + 2.5y", "2.5y", "2.5*y"), ("1e3w", "1e3w", "1e3*w")],
    )
    def test_a_number_against_a_name_asks_for_a_star(self, text, token, fix):
        err = refusal(text)
        assert err.message.startswith("Write * between a number and a name")
        assert (err.params["token"], err.params["fix"]) == (token, fix)
        assert text[err.start:err.end] == token

    @pytest.mark.parametrize("text, fix", [("sin x", "sin(x)"), ("x*cos 2", "cos(2)")])
    def test_a_function_without_parentheses_asks_for_them(self, text, fix):
        err = refusal(text)
        assert "in parentheses" in err.message and err.params["fix"] == fix
        assert err.start == text.index(fix[:3])

    def test_a_decimal_comma_asks_for_a_point(self):
        err = refusal("2,5*x")
        assert err.message == "Write decimals with a point: 2.5 instead of 2,5 (column 1)."

    @pytest.mark.parametrize("text", ["x2 + 1e3*x", "pow(x,2)", "sin (x)", "sum([1,2] * x)"])
    def test_correct_text_is_not_taken_for_a_slip(self, text):
        parse(text)


class TestCharacters:
    @pytest.mark.parametrize(
        "text, char",
        [("ｘ", "ｘ"), ("ᵉval", "ᵉ"), ("x + é", "é"), ("2*𝑥", "𝑥")],
        ids=["fullwidth-x", "modifier-e", "accented", "math-italic-x"],
    )
    def test_non_ascii_is_refused_at_its_column(self, text, char):
        err = refusal(text)
        assert not isinstance(err, TooLong)
        assert err.start == text.index(char)
        assert err.params["char"] == char
        assert "ascii" in err.message.lower()

    @pytest.mark.parametrize(
        "text, char",
        [("x\u00a0+ 1", "\u00a0"), ("x\u202e+1", "\u202e"), ("\ufeffx", "\ufeff"),
         ("x\u200b*2", "\u200b")],
        ids=["no-break-space", "right-to-left-override", "byte-order-mark", "zero-width-space"],
    )
    def test_invisible_characters_are_named_by_code_point_never_shown(self, text, char):
        err = refusal(text)
        assert err.start == text.index(char)
        assert f"U+{ord(char):04X}" in err.message
        assert char not in err.message

    def test_a_letter_that_folds_into_ascii_is_refused_not_folded(self):
        # NFKC turns 'ᵉval' into 'eval' and 'ｘ' into 'x'; Python's own parser would accept both.
        assert ast.parse("ᵉval", mode="eval").body.id == "eval"
        err = refusal("ᵉval")
        assert err.column == 1

    @pytest.mark.parametrize(
        "text, code", [("x\x00", "U+0000"), ("x\t+ 1", "U+0009"), ("x\x7f", "U+007F"), ("\x1bx", "U+001B")]
    )
    def test_control_characters_including_tab_are_refused(self, text, code):
        err = refusal(text)
        assert not isinstance(err, TooLong)
        assert "control character" in err.message.lower()
        assert code in err.message
        assert err.start == len(text) - len(text.lstrip("x"))  # the first non-'x' character

    @pytest.mark.parametrize("text", ["x\n+ 1", "x\r+ 1", "x\r\n"])
    def test_a_line_break_is_refused(self, text):
        err = refusal(text)
        assert "one line" in err.message
        assert err.start == 1


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_empty_or_blank_text_asks_for_a_function(text):
    err = refusal(text)
    assert not isinstance(err, TooLong)
    assert "type a function" in err.message.lower()
    assert err.start is None


def test_something_other_than_text_is_refused():
    with pytest.raises(ExprError, match="text"):
        parse(None)  # type: ignore[arg-type]


class TestSizeLimits:
    def test_too_long_text_is_413_and_points_past_the_limit(self):
        text = "x+" * 250 + "x"
        err = refusal(text)
        assert isinstance(err, TooLong)
        assert err.params == {"length": 501, "limit": 500}
        assert "501" in err.message and "500" in err.message
        assert err.start == 500

    def test_text_at_the_length_limit_is_accepted(self):
        assert parse("x" * 500).variables == ("x" * 500,)

    def test_length_limit_is_configurable(self):
        assert isinstance(refusal("x + 1 + 2", Limits(max_length=8)), TooLong)
        assert parse("x + 1 + 2", Limits(max_length=9)).variables == ("x",)

    def test_nested_calls_deeper_than_the_limit(self):
        text = "sin(" * 60 + "x" + ")" * 60
        err = refusal(text, Limits(max_depth=40))
        assert not isinstance(err, TooLong)
        assert "nested too deeply" in err.message
        assert "40" in err.message

    def test_depth_limit_is_configurable(self):
        assert parse("sin(sin(x))", Limits(max_depth=3)).variables == ("x",)
        assert "nested too deeply" in refusal("sin(sin(sin(x)))", Limits(max_depth=3)).message

    def test_a_long_chain_of_unary_minus_is_an_error_not_a_recursion_error(self):
        text = "-" * 400 + "x"
        err = refusal(text)
        assert "nested too deeply" in err.message
        limit = Limits().max_depth
        assert err.start == limit  # the first level over the limit

    def test_deeper_than_pythons_own_parser_is_still_an_expr_error(self):
        err = refusal("-" * 100_000 + "x", Limits(max_length=200_000))
        assert "nested too deeply" in err.message

    def test_more_parentheses_than_python_allows_is_an_expr_error(self):
        text = "(" * 250 + "x" + ")" * 250
        err = refusal(text, Limits(max_length=1_000))
        assert not isinstance(err, TooLong)
        assert "parentheses" in err.message

    def test_operations_over_the_limit(self):
        small = Limits(max_operations=5)
        assert parse("x+x+x+x+x+x", small).variables == ("x",)  # 5 operations
        err = refusal("x+x+x+x+x+x+x", small)  # 6
        assert not isinstance(err, TooLong)
        assert "more than 5 operations" in err.message

    def test_calls_and_unary_minus_count_as_operations(self):
        small = Limits(max_operations=2)
        assert "operations" in refusal("sin(sin(sin(x)))", small).message
        assert "operations" in refusal("---x", small).message
        assert parse("-sin(x)", small).variables == ("x",)

    def test_constant_at_the_limit_is_accepted_and_just_over_is_refused(self):
        assert parse("1000000000000000").tree.value == 10**15
        assert parse("1e15").tree.value == 1e15
        err = refusal("x + 1000000000000001")
        assert "too large" in err.message and "1e+15" in err.message
        assert err.start == 4

    def test_constant_limit_is_configurable(self):
        assert "too large" in refusal("1001", Limits(max_constant=1000)).message
        assert "too large" in refusal("[1, -1001]", Limits(max_constant=1000)).message

    def test_list_with_more_numbers_than_the_limit(self):
        small = Limits(max_elements=3)
        assert parse("[1, 2, 3]", small).tree.value == (1, 2, 3)
        err = refusal("[1, 2, 3, 4]", small)
        assert "more than 3 numbers" in err.message
        assert err.start == 0

    def test_element_limit_counts_all_dimensions(self):
        err = refusal("[[1, 2], [3, 4]]", Limits(max_elements=3))
        assert "more than 3 numbers" in err.message

    def test_list_nested_deeper_than_max_dims(self):
        text = "[[[[[1]]]]]"
        err = refusal(text)
        assert "nested at most 4 deep" in err.message
        assert err.start == 4  # the fifth '['
        assert parse("[[1]]", Limits(max_dims=2)).tree.value == ((1,),)
        assert "at most 2" in refusal("[[[1]]]", Limits(max_dims=2)).message


# --- 4. nothing runs --------------------------------------------------------


def test_parsing_never_evaluates_or_compiles_code(monkeypatch):
    real_compile = builtins.compile
    compiled = []

    def forbidden(*args, **kwargs):
        raise AssertionError("parse() must not evaluate anything")

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("parse() compiled code, not just a syntax tree")
        compiled.append(source)
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    monkeypatch.setattr(os, "system", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)

    assert parse("5*x^3 + 2*x**2 + 4*x + 8").variables == ("x",)
    assert compiled == ["5*x**3 + 2*x**2 + 4*x + 8"]  # only the syntax tree was asked for
    with pytest.raises(ExprError):
        parse("__import__('os').system('echo hi')")
    with pytest.raises(ExprError):
        parse("[c for c in ().__class__.__base__.__subclasses__()]")


@pytest.mark.parametrize(
    "template",
    [
        "__import__('os').system('touch {marker}')",
        "sin(__import__('os').system('touch {marker}'))",
        "[__import__('os').system('touch {marker}')]",
        "(lambda: __import__('os').system('touch {marker}'))()",
        "open('{marker}', 'w')",
        "exec(\"open('{marker}', 'w')\")",
    ],
)
def test_an_injection_is_refused_and_leaves_no_trace(tmp_path, template):
    marker = tmp_path / "pwned_marker"
    with pytest.raises(ExprError):
        parse(template.format(marker=marker))
    assert not marker.exists()


def test_the_module_imports_neither_torch_nor_the_web_layer():
    code = (
        "import sys, autograd_playground.core.language.expr; "
        "print([m for m in ('torch', 'fastapi', 'jinja2', 'autograd_playground.core.trace.graph', 'autograd_playground.web.main') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, check=True, timeout=60,
    )
    assert out.stdout.strip() == "[]"


# --- 5. properties ------------------------------------------------------------

TOKENS = [
    "x", "y", "sin", "pow", "mean", "(", ")", "[", "]", ",", " ", "+", "-", "*", "/", "**", "^",
    "@", "%", "//", "<", "==", "=", ":=", ":", ".", "_", "__import__", "'", '"', "lambda", "for",
    "in", "if", "else", "not", "and", "1", "2.5", "1e400", "1e-3", "1j", "0x1F", "#", "\\", "{",
    "}", "~", "\t", "\n", "\x00", "ｘ", "é", "ᵉ", "\u00a0", "True", "None", "...", "f'", "b'",
    "100000000000000000000",
]
ASCII = "".join(chr(c) for c in range(32, 127))

ANY_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=ASCII, max_size=300),
    st.lists(st.sampled_from(TOKENS), max_size=120).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_any_text_gives_a_tree_or_an_expr_error(text):
    try:
        # Python's parser warns about e.g. '1if'; as an error that must still be an ExprError.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = parse(text)
    except ExprError as err:
        assert isinstance(err, ExprError)
        assert isinstance(err.message, str) and err.message
        if err.start is not None:
            assert 0 <= err.start <= err.end <= len(text)
            # In a program of several lines, columns count from the start of the line.
            line_start = text.rfind("\n", 0, err.start) + 1 if err.line else 0
            assert err.column == err.start - line_start + 1
            assert err.line is None or err.line == text.count("\n", 0, err.start) + 1
        return
    assert isinstance(parsed, Parsed)
    assert shape(parse(parsed.normalized, ROOMY).tree) == shape(parsed.tree)


NUMBERS = st.one_of(
    st.sampled_from(["2", "2.5", "1e-3", ".5", "3.", "0", "10", "1E2", "0.125"]),
    st.integers(0, 10**6).map(str),
    st.floats(0, 1e6, allow_nan=False, allow_infinity=False).map(repr),
)
LEAVES = st.one_of(NUMBERS, st.sampled_from(["x", "y"]), st.sampled_from(["[1, 2]", "[[1, -2], [3, 4.5]]", "[-1]"]))
SPACE = st.sampled_from(["", " "])
ONE_ARGUMENT = sorted(name for name, arity in FUNCTIONS.items() if arity == 1)


def _extend(inner):
    operand = st.one_of(inner, inner.map("({})".format))
    return st.one_of(
        st.builds(lambda a, s1, op, s2, b: f"{a}{s1}{op}{s2}{b}",
                  operand, SPACE, st.sampled_from(["+", "-", "*", "/", "**", "^", "@"]), SPACE, operand),
        st.builds(lambda op, a: f"{op}{a}", st.sampled_from(["-", "+"]), operand),
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(ONE_ARGUMENT), inner),
        st.builds(lambda a, b: f"pow({a}, {b})", inner, inner),
    )


VALID = st.recursive(LEAVES, _extend, max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALID)
def test_a_valid_function_parses_and_prints_back_to_the_same_tree(text):
    parsed = parse(text, ROOMY)
    again = parse(parsed.normalized, ROOMY)
    assert shape(again.tree) == shape(parsed.tree)
    assert again.normalized == parsed.normalized
    assert again.variables == parsed.variables
    # The same tree as Python reads it with ^ spelled as **.
    assert shape(parse(text.replace("^", "**"), ROOMY).tree) == shape(parsed.tree)
    # Every node's span is exactly its own text in what the student typed.
    for node in nodes(parsed.tree):
        assert shape(parse(text[node.start : node.end], ROOMY).tree) == shape(node)
