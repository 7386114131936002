"""A notebook tensor's nodes read as the page's do: labels built from the graph itself."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import torch
from bs4 import BeautifulSoup

from autograd_playground import show
from autograd_playground.core.pipeline import compute, compute_tensor
from autograd_playground.core.teach import explain
from autograd_playground.core.trace.labels import MAX_LABEL, UNKEPT
from autograd_playground.core.trace.modules import capture

from .tensors import Cube, mlp


def leaf(value) -> torch.Tensor:
    return torch.tensor(value, requires_grad=True)


def labels(data: dict) -> list[tuple[str, str | None]]:
    """Each op node's class and label, in walk order."""
    return [(n["name"], n["source"]) for n in data["nodes"] if n["kind"] != "leaf"]


# (typed, inputs, the same in torch, the labels where they differ from the page's, by node).
# Why they differ: a constant PyTorch keeps no value of (the 8 of x + 8 or 8 - x) reads
# UNKEPT; mul(x, 4) is written 4*x whichever way it was typed; the reciprocal of 8/x reads
# 1/x; matmul's unsqueeze reads as its input; cross_entropy's log_softmax reads as itself;
# the text is printed, not quoted, so "x**0.5 / 2.5" reads as unparse writes it.
V, W = [1.0, 2.0], [[1.0, 2.0], [3.0, 4.0]]
CASES: list[tuple[str, dict, Callable[[dict], torch.Tensor], dict[int, str]]] = [
    ("5*x**3 + 2*x**2 + 4*x + 8", {"x": 2.0}, lambda t: 5 * t["x"] ** 3 + 2 * t["x"] ** 2 + 4 * t["x"] + 8,
     {0: f"5*x**3 + 2*x**2 + 4*x + {UNKEPT}"}),
    ("tanh(w*x + b)", {"x": 2.0, "w": 3.0, "b": 1.0}, lambda t: torch.tanh(t["w"] * t["x"] + t["b"]), {}),
    ("x*4", {"x": 2.0}, lambda t: t["x"] * 4, {0: "4*x"}),
    ("8/x", {"x": 2.0}, lambda t: 8 / t["x"], {1: "1/x"}),
    ("8 - x", {"x": 2.0}, lambda t: 8 - t["x"], {0: f"{UNKEPT} - x"}),
    ("-x**2 + 2**x", {"x": 2.0}, lambda t: -t["x"] ** 2 + 2 ** t["x"], {}),
    ("x**0.5 / 2.5", {"x": 2.0}, lambda t: t["x"] ** 0.5 / 2.5, {0: "x**0.5/2.5"}),
    ("x - 3*y", {"x": 2.0, "y": 1.0}, lambda t: t["x"] - 3 * t["y"], {}),
    ("maximum(x, y)/x - log(y)", {"x": 2.0, "y": 3.0},
     lambda t: torch.maximum(t["x"], t["y"]) / t["x"] - torch.log(t["y"]), {}),
    ("clamp(x, -1, 1)*sigmoid(x)", {"x": 0.5}, lambda t: torch.clamp(t["x"], -1, 1) * torch.sigmoid(t["x"]), {}),
    ("sum(v @ W)", {"v": V, "W": W}, lambda t: (t["v"] @ t["W"]).sum(), {3: "v"}),
    ("sum(transpose(W) @ v)", {"v": V, "W": W}, lambda t: (t["W"].mT @ t["v"]).sum(), {}),
    ("mse(v, [1.0, 2.0])", {"v": [1.0, 3.0]},
     lambda t: torch.nn.functional.mse_loss(t["v"], torch.tensor([1.0, 2.0])), {}),
    ("cross_entropy(z, 1)", {"z": [1.0, 2.0, 3.0]},
     lambda t: torch.nn.functional.cross_entropy(t["z"], torch.tensor(1)), {1: "log_softmax(z)"}),
]


@pytest.mark.parametrize(("typed", "inputs", "made", "differ"), CASES, ids=[c[0] for c in CASES])
def test_the_labels_are_the_pages_node_by_node_but_where_stated(typed, inputs, made, differ):
    tensors = {name: leaf(value) for name, value in inputs.items()}
    page = labels(compute(typed, inputs))
    data = compute_tensor(made(tensors), tensors)
    ours = labels(data)
    assert [name for name, _ in ours] == [name for name, _ in page]
    expected = [(name, differ.get(k, text)) for k, (name, text) in enumerate(page)]
    assert ours == expected
    # The formulas printed with these labels are still checked, and agree with PyTorch.
    checks = [r["agrees"] for s in data["steps"] for r in s["rules"] if r and r["agrees"] is not None]
    assert checks and all(checks)


def test_the_lessons_rules_are_the_pages_and_agree_with_pytorch():
    x = leaf(2.0)
    data = compute_tensor(5 * x**3 + 2 * x**2 + 4 * x + 8, {"x": x})
    typed = compute("5*x**3 + 2*x**2 + 4*x + 8", {"x": 2})
    rules = [r for s in data["steps"] for r in s["rules"] if r]
    assert [r["formula"] for r in rules] == [r["formula"] for s in typed["steps"] for r in s["rules"] if r]
    assert len(rules) == 10 and all(r["agrees"] is True for r in rules)


def test_an_mlps_labels_name_its_parameters_and_its_ops():
    model, x, target = mlp(), torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5]])
    loss = torch.nn.functional.mse_loss(model(x), target)
    data = compute_tensor(loss, dict(model.named_parameters()), output_name="loss")
    named = {n["source"]: n["name_of"] for n in data["nodes"] if n["kind"] != "leaf"}
    assert named == {
        # Too long to be written into its consumers: named as a program names a line.
        "mse(addmm(2.bias, h1, t(2.weight)), target)": "loss",
        "addmm(2.bias, h1, t(2.weight))": None,
        "tanh(addmm(0.bias, …, t(0.weight)))": "h1",
        "addmm(0.bias, …, t(0.weight))": None,  # its x needs no grad: no node, read as …
        "t(0.weight)": None,
        "t(2.weight)": None,
    }
    formulas = [r["formula"] for s in data["steps"] for r in s["rules"] if r and r["kind"] == "mse"]
    assert formulas == ["2·(addmm(2.bias, h1, t(2.weight)) − target)/n·g"]  # no doubled parentheses


def test_a_captured_mlp_reads_its_modules_and_its_rules_still_agree():
    model, x, target = mlp(), torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5]])
    with capture() as captured:
        loss = torch.nn.MSELoss()(model(x), target)
    data = compute_tensor(loss, dict(model.named_parameters()), captured=captured, output_name="loss")
    assert labels(data) == [
        ("MseLossBackward0", "mse(Linear 2, target)"), ("AddmmBackward0", "Linear 2"),
        ("TanhBackward0", "tanh(Linear 0)"), ("AddmmBackward0", "Linear 0"),
        ("TBackward0", "t(0.weight)"), ("TBackward0", "t(2.weight)")]
    rules = {r["formula"]: r["agrees"] for s in data["steps"] for r in s["rules"] if r and r["kind"] != "own"}
    assert rules["2·(Linear 2 − target)/n·g"] is True
    assert rules["1 − tanh(Linear 0)²"] is True


def test_a_custom_function_reads_as_its_class_and_its_consumer_over_it():
    x = leaf(2.0)
    data = compute_tensor(torch.sin(Cube.apply(x)), {"x": x})
    assert labels(data) == [("SinBackward0", "sin(Cube(x))"), ("CubeBackward", "Cube(x)")]


def test_a_long_label_is_named_and_no_label_written_into_another_passes_the_cap():
    assert MAX_LABEL == explain.MAX_OPERAND
    x = leaf(1.0)
    y = x
    for _ in range(12):  # each value used twice: written out, the text would double each time
        y = y * y + 1
    nodes = [n for n in compute_tensor(y, {"x": x})["nodes"] if n["kind"] != "leaf"]
    names = [n["name_of"] for n in nodes if n["name_of"]]
    # Every second level: (h*h + const)*(h*h + const) + const passes the cap.
    assert names[0] == "y" and sorted(names[1:], key=lambda h: int(h[1:])) == [f"h{k}" for k in range(1, 6)]
    for n in nodes:  # what a consumer writes: the name, or a label within the cap
        assert len(n["name_of"] or n["source"]) <= MAX_LABEL
        assert n["name_of"] or len(n["source"]) <= MAX_LABEL
    assert max(len(n["source"]) for n in nodes) < 4 * MAX_LABEL


def test_a_named_label_skips_a_leafs_name():
    h1, x = leaf(1.0), leaf(2.0)
    y = torch.tanh(torch.tanh(torch.tanh(torch.tanh(x * h1 + 3 * x))))
    y = y * y
    data = compute_tensor(y, {"h1": h1, "x": x})
    assert "h1" not in {n["name_of"] for n in data["nodes"]} and "h2" in {n["name_of"] for n in data["nodes"]}


def test_the_labels_are_the_same_on_every_run():
    def once() -> list:
        torch.manual_seed(1)
        model = mlp()
        loss = model(torch.randn(4, 2)).pow(2).mean()
        return labels(compute_tensor(loss, dict(model.named_parameters())))

    assert once() == once()


def test_the_lessons_steps_in_show_read_no_class_name_as_a_label():
    x = leaf(2.0)
    out = show(5 * x**3 + 2 * x**2 + 4 * x + 8, params={"x": x})
    soup = BeautifulSoup(out.html, "html.parser")
    texts = [tr.get_text(" ", strip=True) for tr in soup.select('[data-testid="step-table"] tr.step')]
    assert len(texts) == 9
    joined = " ".join(texts)
    # The page's sentence names the class, then the label: never a class in the label's place.
    assert not re.search(r"\((\w+)?Backward0\)|∂\(\w*Backward", joined), joined
    assert "MulBackward0 (4*x) receives 1 and sends 4." in joined
    assert "∂y/∂(4*x) = 1" in joined
