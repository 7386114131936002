"""The lesson's notebook cell, pasted into the function field, read as a program.

By hand, the lesson: y = 5x³ + 2x² + 4x + 8 at x = 2 is 40 + 8 + 8 + 8 = 64, and
dy/dx = 15x² + 4x + 4 = 60 + 8 + 4 = 72.
"""

from __future__ import annotations

import math

import pytest
import torch

from autograd_playground.core.language import forms
from autograd_playground.core.language.cell import read_cell
from autograd_playground.core.language.expr import parse
from autograd_playground.core.language.program import line_names, value_lines
from autograd_playground.core.language.rules import ExprError
from autograd_playground.core.pipeline import compute

from .test_expr import shape

LESSON = (
    "import torch\n"
    "x = torch.tensor(2.0, requires_grad=True)\n"
    "y = 5*x**3 + 2*x**2 + 4*x + 8\n"
    "y.backward()\n"
    "print(x.grad)"
)


def refusal(text: str) -> ExprError:
    with pytest.raises(ExprError) as info:
        parse(text)
    return info.value


@pytest.mark.parametrize("ends", ["\n", "\r\n"])
def test_the_lesson_cell_is_the_typed_function_at_x_2(ends: str) -> None:
    cell = parse(LESSON.replace("\n", ends))
    typed = parse("x = 2\ny = 5*x**3 + 2*x**2 + 4*x + 8")
    assert shape(cell.tree) == shape(typed.tree)
    assert cell.normalized == typed.normalized == "y = 5*x**3 + 2*x**2 + 4*x + 8"
    assert cell.variables == ("x",) and cell.output_name == "y"
    assert [(v.name, v.value, v.line, v.requires_grad) for v in cell.values] == [("x", 2.0, 2, True)]


def test_compute_on_the_lesson_cell_gives_72() -> None:
    data = compute(LESSON.replace("\n", "\r\n"), {"x": 5})  # the line wins over x = 5
    assert data["gradients"] == {"x": 72.0}
    assert data["output"]["value"] == 64.0
    assert data["line_values"] == {"x": 2.0}
    assert "x = torch.tensor(2.0, requires_grad=True)" in data["code"]


# (the cell's form, the language's form, what PyTorch itself computes, the inputs)
V = [0.3, -1.2, 2.0]
M = [[1.0, 2.0], [3.0, -4.0]]
FORMS = [
    *[(f"torch.{f}(x)", f"{f}(x)", getattr(torch, f), {"x": 0.7}) for f in forms.ELEMENTWISE],
    *[(f"x.{f}()", f"{f}(x)", getattr(torch, f), {"x": 0.7}) for f in forms.ELEMENTWISE],
    ("torch.pow(x, 3)", "pow(x, 3)", lambda x: torch.pow(x, 3), {"x": 1.5}),
    ("x.pow(3)", "pow(x, 3)", lambda x: x.pow(3), {"x": 1.5}),
    ("torch.sum(x)", "sum(x)", torch.sum, {"x": V}),
    ("x.sum()", "sum(x)", lambda x: x.sum(), {"x": V}),
    ("torch.mean(x)", "mean(x)", torch.mean, {"x": V}),
    ("x.mean()", "mean(x)", lambda x: x.mean(), {"x": V}),
    ("torch.max(x)", "max(x)", torch.max, {"x": V}),
    ("x.max()", "max(x)", lambda x: x.max(), {"x": V}),
    ("torch.min(x)", "min(x)", torch.min, {"x": V}),
    ("x.min()", "min(x)", lambda x: x.min(), {"x": V}),
    *[(f"torch.{f}(x, dim=-1)", f"{f}(x)", lambda x, f=f: getattr(torch, f)(x, dim=-1), {"x": M})
      for f in forms.LAST_DIM],
    *[(f"x.{f}(-1)", f"{f}(x)", lambda x, f=f: getattr(x, f)(-1), {"x": M}) for f in forms.LAST_DIM],
    ("torch.maximum(x, w)", "maximum(x, w)", torch.maximum, {"x": V, "w": [1.0, -2.0, 0.5]}),
    ("x.minimum(w)", "minimum(x, w)", lambda x, w: x.minimum(w), {"x": V, "w": [1.0, -2.0, 0.5]}),
    ("torch.minimum(x, w)", "minimum(x, w)", torch.minimum, {"x": V, "w": [1.0, -2.0, 0.5]}),
    ("x.maximum(w)", "maximum(x, w)", lambda x, w: x.maximum(w), {"x": V, "w": [1.0, -2.0, 0.5]}),
    ("torch.clamp(x, -1, 1)", "clamp(x, -1, 1)", lambda x: torch.clamp(x, -1, 1), {"x": V}),
    ("x.clamp(min=-1, max=1)", "clamp(x, -1, 1)", lambda x: x.clamp(min=-1, max=1), {"x": V}),
    ("torch.matmul(W, v)", "W @ v", torch.matmul, {"W": M, "v": [0.5, -1.0]}),
    ("W.matmul(v)", "W @ v", lambda W, v: W.matmul(v), {"W": M, "v": [0.5, -1.0]}),
    ("W.mT", "transpose(W)", lambda W: W.mT, {"W": M}),
    ("torch.nn.functional.relu(x)", "relu(x)", torch.nn.functional.relu, {"x": V}),
    ("F.softmax(x, dim=-1)", "softmax(x)", lambda x: torch.nn.functional.softmax(x, dim=-1), {"x": V}),
    ("F.log_softmax(x, -1)", "log_softmax(x)", lambda x: torch.nn.functional.log_softmax(x, -1),
     {"x": V}),
    ("F.mse_loss(x, w)", "mse(x, w)", torch.nn.functional.mse_loss, {"x": V, "w": [1.0, -2.0, 0.5]}),
    ("torch.sin(x) * torch.tensor([1., 2., 3.])", "sin(x) * [1., 2., 3.]",
     lambda x: torch.sin(x) * torch.tensor([1.0, 2.0, 3.0]), {"x": V}),
]


def cell(expression: str, inputs: dict) -> str:
    """A cell that computes ``expression`` of the inputs, each a tensor line of its own."""
    lines = ["import torch", "import torch.nn.functional as F"]
    lines += [f"{k} = torch.tensor({v}, requires_grad=True)" for k, v in inputs.items()]
    return "\n".join([*lines, f"out = sum({expression})", "out.backward()"])


def torch_oracle(function, inputs: dict) -> tuple[float, dict[str, list | float]]:
    """PyTorch's own output and .grad, summed to a number as the cell sums it."""
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in inputs.items()}
    out = function(*leaves.values()).sum()
    out.backward()
    return out.item(), {k: t.grad.tolist() for k, t in leaves.items()}


@pytest.mark.parametrize(("torch_form", "language", "function", "inputs"), FORMS,
                         ids=[f[0] for f in FORMS])
def test_each_torch_form_is_its_language_function(torch_form, language, function, inputs) -> None:
    read = parse(cell(torch_form, inputs))
    typed = parse("\n".join([*(f"{k} = {v}" for k, v in inputs.items()), f"out = sum({language})"]))
    assert shape(read.tree) == shape(typed.tree)
    ours, theirs = compute(read.text, {}), compute(typed.text, {})
    assert ours["output"]["value"] == theirs["output"]["value"]
    assert ours["gradients"] == theirs["gradients"]
    value, grads = torch_oracle(function, inputs)
    assert math.isclose(ours["output"]["value"], value, rel_tol=1e-6, abs_tol=1e-6)
    for name, grad in grads.items():
        assert torch.allclose(torch.tensor(ours["gradients"][name]), torch.tensor(grad), atol=1e-6)


def test_every_form_of_the_tables_is_checked_above() -> None:
    checked = " ".join(f[0] for f in FORMS)
    for name in forms.TORCH:
        assert f"torch.{name}(" in checked and f".{name}(" in checked.replace(f"torch.{name}(", "")
    for name in forms.NN_FUNCTIONAL:
        assert f".{name}(" in checked


@pytest.mark.parametrize("grad", ["False", None])
def test_a_tensor_without_requires_grad_has_it_off_as_in_pytorch(grad) -> None:
    # By hand: y = w*x at w = 3, x = 2: dy/dx = w = 3; w keeps no gradient.
    keyword = "" if grad is None else f", requires_grad={grad}"
    text = f"x = torch.tensor(2.0, requires_grad=True)\nw = torch.tensor(3.0{keyword})\ny = w*x"
    parsed = parse(text)
    assert parsed.with_grads({"x": True, "w": True}) == {"x": True, "w": False}
    data = compute(text, {})
    assert data["gradients"] == {"x": 3.0, "w": None}
    assert "w = torch.tensor(3.0)" in data["code"]


def test_a_plain_value_line_leaves_requires_grad_as_given() -> None:
    parsed = parse("x = 2\ny = x**2")
    assert parsed.values[0].requires_grad is None
    assert parsed.with_grads({"x": False}) == {"x": False}
    assert parsed.with_grads(None) is None


@pytest.mark.parametrize(("written", "value"), [
    ("torch.tensor([1., 2.])", [1.0, 2.0]),
    ("torch.tensor([[1, 2], [3, 4]], dtype=torch.float32, requires_grad=True)", [[1, 2], [3, 4]]),
    ("torch.tensor(-0.5, dtype=torch.float)", -0.5),
])
def test_a_tensor_line_is_a_value_line(written: str, value) -> None:
    text = f"w = {written}\ny = sum(w*x)"
    assert [(v.name, v.value) for v in value_lines(text)] == [("w", value)]
    assert line_names(text) == ("y",)
    assert parse(text).values[0].value == value


# (the cell, its line at fault, a phrase the sentence holds)
HEAD = "import torch\nx = torch.tensor(2.0, requires_grad=True)\n"
HOSTILE = [
    ("attribute-data", HEAD + "y = x.data*2", 3, "attribute access"),
    ("dunder", HEAD + "y = x.__class__", 3, "attribute access"),
    ("dunder-of-torch", HEAD + "y = torch.__dict__", 3, "attribute access"),
    ("autograd-grad", HEAD + "y = torch.autograd.grad(x, x)", 3,
     "torch.autograd.grad at column 5 is not one of the torch functions"),
    ("other-torch-function", HEAD + "y = torch.erf(x)", 3, "torch.erf at column 5 is not one"),
    ("import-os", "import os\n" + HEAD + "y = x*2", 1, "Only import torch"),
    ("import-from", "from os import system\n" + HEAD + "y = x*2", 1, "Only import torch"),
    ("import-as", "import torch as t\nx = t.tensor(2.0)\ny = x*2", 1, "Only import torch"),
    ("exec-line", HEAD + "exec('import os')\ny = x*2", 3, "must assign a name"),
    ("exec-call", HEAD + "y = exec('import os')", 3, "Unknown function 'exec'"),
    ("lambda", HEAD + "y = (lambda: x)()", 3, "lambda"),
    ("comprehension", HEAD + "y = sum([v for v in x])", 3, "list comprehension"),
    ("backward-not-last", HEAD + "y = x*2\ny.backward()\nz = y*2", 5, "Only print lines may follow"),
    ("two-backward", HEAD + "y = x*2\ny.backward()\ny.backward()", 5, "Only print lines may follow"),
    ("backward-not-output", HEAD + "y = x*2\nz = y*3\ny.backward()", 5,
     "must be called on the output of the lines above it, z"),
    ("backward-first", HEAD + "y.backward()\ny = x*2", 3, "comes before any line that computes"),
    ("backward-arguments", HEAD + "y = x*2\ny.backward(retain_graph=True)", 4, "without arguments"),
    ("grad-assigned", HEAD + "y = x*2\nx.grad = 5", 4, "Only names can be assigned"),
    ("grad-read", HEAD + "y = x.grad*2", 3, "attribute access"),
    ("print-dunder", HEAD + "y = x*2\nprint(x.__class__)", 4, "print(...) may show names"),
    ("dtype", HEAD + "w = torch.tensor(2.0, dtype=torch.float64)\ny = x*w", 3, "float32"),
    ("device", HEAD + "w = torch.tensor(2.0, device='cuda')\ny = x*w", 3, "float32 on the CPU"),
    ("tensor-of-a-name", HEAD + "w = torch.tensor(x)\ny = x*w", 3, "one number or one list"),
    ("grad-inside", HEAD + "y = x*torch.tensor(3.0, requires_grad=True)", 3, "a line of its own"),
    ("softmax-dim-0", HEAD + "y = torch.softmax(x, dim=0)", 3, "over the last dimension"),
    ("softmax-no-dim", HEAD + "y = torch.softmax(x)", 3, "torch.softmax(input, dim=-1)"),
    ("sum-dim", HEAD + "y = x.sum(dim=0)", 3, "is read as x.sum()"),
    ("T", HEAD + "y = x.T", 3, "write x.mT or transpose(x)"),
    ("F-not-imported", HEAD + "y = F.mse_loss(x, x)", 3, "attribute access"),
]


@pytest.mark.parametrize(("text", "line", "phrase"), [h[1:] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])
def test_a_hostile_cell_is_refused_with_a_sentence_naming_the_line(text, line, phrase) -> None:
    error = refusal(text)
    assert phrase in error.message
    assert error.line == line and f"ine {line}" in error.message
    assert error.column is not None and error.column >= 1


@pytest.mark.parametrize(("flat", "token"), [
    (LESSON.replace("\n", " "), "import torch"),  # a one-line field's paste: breaks as spaces
    (LESSON.replace("\n", " ").replace("import torch ", ""), "y.backward()"),
])
def test_a_cell_pasted_on_one_line_is_told_where_to_paste_it(flat: str, token: str) -> None:
    error = refusal(flat)
    assert error.message.startswith("This is a notebook cell on one line")
    assert 'Choose "Write it as a program of several lines"' in error.message
    assert flat[error.start:error.end] == token


def test_the_cell_as_the_page_tells_it() -> None:
    assert read_cell(LESSON) == read_cell(LESSON.replace("\n", "\n  ")) is not None
    told = read_cell(LESSON)
    assert told is not None
    assert (told.values, told.steps, told.output, told.backward) == (
        (("x", "2.0", True),), (("y", "5*x**3 + 2*x**2 + 4*x + 8"),), "y", True)
    assert told.skipped == ("import torch", "print(x.grad)")
    assert read_cell("x = 2\ny = x**2") is None
    assert read_cell("w = torch.tensor([1., 2.])\ny = sum(w)") is not None
