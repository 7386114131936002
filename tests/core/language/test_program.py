"""Programs: lines ``name = expression``, traced as the program PyTorch would run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograd_playground.core.draw.render import render
from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.rules import ExprError, Limits
from autograd_playground.core.pipeline import compute
from autograd_playground.core.trace.graph import trace
from tests.oracle import finite_difference_gradients, sympy_value_and_gradients

NEURON = "z = w*x + b\nh = tanh(z)\nloss = (h - t)^2"
NEURON_INPUTS = {"w": 0.5, "x": 1.5, "b": 0.1, "t": 1}


def test_the_neuron_program_reads_as_three_named_lines() -> None:
    parsed = parse(NEURON)
    assert parsed.variables == ("w", "x", "b", "t")
    assert [line.name for line in parsed.lines] == ["z", "h", "loss"]
    assert parsed.normalized == "z = w*x + b\nh = tanh(z)\nloss = (h - t)**2"
    # It reads back to the same program.
    assert parse(parsed.normalized).normalized == parsed.normalized


def test_its_gradients_are_the_functions_gradients() -> None:
    parsed = parse(NEURON)
    result = trace(parsed, NEURON_INPUTS)
    value, grads = sympy_value_and_gradients(parsed.tree, NEURON_INPUTS, list(NEURON_INPUTS))
    assert result.output.value == pytest.approx(value, rel=1e-6)
    for name, grad in grads.items():
        assert result.gradients[name] == pytest.approx(grad, rel=1e-5), name


def test_the_nodes_carry_the_names_of_the_values_they_compute() -> None:
    result = trace(parse(NEURON), NEURON_INPUTS)
    named = {n.name_of: n.name for n in result.nodes if n.name_of}
    assert named == {"z": "AddBackward0", "h": "TanhBackward0", "loss": "PowBackward0"}
    assert result.nodes[0].name_of == "loss"  # the output's grad_fn
    for view in ("torchviz", "annotated"):
        svg = render(result, view).svg
        for name in ("z", "h", "loss"):
            assert f">{name}<" in svg or f"{name} = " in svg, (view, name)


def test_a_name_used_twice_is_computed_once_as_in_python() -> None:
    result = trace(parse("a = x*x\nb = a + a\nout = b*a"), {"x": 2.0})
    x = torch.tensor(2.0, requires_grad=True)
    a = x * x
    b = a + a
    out = b * a
    out.backward()
    assert result.output.value == out.item()
    assert result.gradients["x"] == x.grad.item()
    ops = [n.name for n in result.nodes if n.kind != "leaf"]
    assert sorted(ops) == ["AddBackward0", "MulBackward0", "MulBackward0"]  # one MulBackward0 for a


def test_a_program_over_tensors_matches_finite_differences() -> None:
    text = "h = relu(W @ x + b)\nout = mean((h - t)^2)"
    inputs = {"W": [[1.0, -2.0], [0.5, 1.0]], "x": [1.0, 0.5], "b": [0.1, -0.3], "t": [0.0, 1.0]}
    parsed = parse(text)
    result = trace(parsed, inputs)
    expected = finite_difference_gradients(parsed.tree, inputs, ["W", "b"])
    assert np.allclose(result.gradients["W"], expected["W"], rtol=1e-4, atol=1e-6)
    assert np.allclose(result.gradients["b"], expected["b"], rtol=1e-4, atol=1e-6)


def test_the_generated_program_keeps_the_lines() -> None:
    code = compute(NEURON, NEURON_INPUTS)["code"]
    assert "z = w*x + b\nh = torch.tanh(z)\nloss = (h - t)**2\nprint(loss)" in code
    assert "loss.backward()" in code


@pytest.mark.parametrize(
    "text, words, line",
    [
        ("z = w*x\nz = 2*w", "assigned on line 1 and again on line 2", 2),
        ("h = z*2\nz = w", "used on line 1 before it is assigned on line 2", 2),
        ("a = a + 1", "its own line", 1),
        ("z = w*x\nz + 1", "Line 2 must assign a name", 2),
        ("sin = x", "function or constant", 1),
        ("pi = x", "function or constant", 1),
        ("_z = x", "may not start with '_'", 1),
        ("a = w*x\nb = a + q.real", "attribute access", 2),
        ("a = w*x\nb = tanh(a", "cannot be read", 2),
        ("a = w*x\nb = a = 2", "cannot be read", 2),
        ("a = 2*3\nb = a*3", "no input variable", None),
        ("a = w\nb = [[1, 2], [3]] @ a", "not rectangular", 2),
    ],
)
def test_hostile_programs_are_refused_with_the_line_and_column(text, words, line) -> None:
    with pytest.raises(ExprError) as refused:
        trace(parse(text), {"w": 1.0, "x": 2.0, "q": 1.0})
    error = refused.value
    assert words in error.message
    if "\n" in text and line is not None:
        assert error.line == line
        assert text.split("\n")[line - 1]  # the line exists
        assert 1 <= error.column <= len(text.split("\n")[line - 1]) + 1


def test_the_number_of_lines_and_operations_is_bounded() -> None:
    many = "\n".join(f"a{i} = x*{i}" for i in range(13))
    with pytest.raises(ExprError, match="13 lines; the limit is 12"):
        parse(many)
    parse(many, Limits(max_lines=13, max_length=10_000))
    hundreds = "\n".join(f"a{i} = x*{i}" for i in range(400))
    with pytest.raises(ExprError):
        parse(hundreds)
    heavy = "\n".join(f"a{i} = " + "+".join(["x"] * 40) for i in range(5))
    with pytest.raises(ExprError, match="more than 150 operations"):
        parse(heavy, Limits(max_length=10_000))


def test_a_line_that_builds_a_huge_tensor_is_refused() -> None:
    text = "a = v @ transpose(v)\nb = sum(a*a)"
    with pytest.raises(ExprError) as refused:
        trace(parse(text), {"v": [[1.0]] * 150})
    assert refused.value.line == 1
    assert "larger than the limit" in refused.value.message


def test_a_single_expression_broken_over_lines_is_still_told_to_stay_on_one() -> None:
    with pytest.raises(ExprError, match="one line"):
        parse("x\n+ 1")
