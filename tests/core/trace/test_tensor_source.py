"""A tensor computed in a notebook, traced as a typed function is: the second source."""

from __future__ import annotations

import copy
import re

import pytest
import torch

from autograd_playground.core.language.rules import ExprError, Limits
from autograd_playground.core.language.values import summarize
from autograd_playground.core.pipeline import compute, compute_tensor
from autograd_playground.core.result import from_json
from autograd_playground.core.teach import explain
from autograd_playground.core.trace.modules import capture
from autograd_playground.core.trace.tensor import BACKWARD_FAILED, FREED, NOT_SCALAR, trace_tensor

from .tensors import Cube, mlp

LESSON = "5*x**3 + 2*x**2 + 4*x + 8"


def lesson() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.tensor(2.0, requires_grad=True)
    return x, 5 * x**3 + 2 * x**2 + 4 * x + 8


def test_the_lesson_gives_the_typed_functions_nodes_steps_and_72():
    x, y = lesson()
    data = compute_tensor(y, {"x": x})
    typed = compute(LESSON, {"x": 2})
    assert data["gradients"] == {"x": 72.0}
    assert [(n["id"], n["name"], n["kind"], n["inputs"], n["variable"]) for n in data["nodes"]] == [
        (n["id"], n["name"], n["kind"], n["inputs"], n["variable"]) for n in typed["nodes"]]
    fields = ("index", "node", "name", "grad_outputs", "grad_inputs", "targets", "accumulated",
              "contributions", "local_derivatives")
    assert [[s[f] for f in fields] for s in data["steps"]] == [
        [s[f] for f in fields] for s in typed["steps"]]
    rules = [r for s in data["steps"] for r in s["rules"] if r is not None]
    assert len(rules) == 10 and all(r["agrees"] is True for r in rules)
    assert [r["formula"] for s in data["steps"] for r in s["rules"] if r] == [
        r["formula"] for s in typed["steps"] for r in s["rules"] if r]
    assert data["expression"] is None and data["code"] is None and data["line_values"] == {}
    assert data["lines"] == [] and data["forward"] == []


def test_the_lesson_leaves_grad_alone_and_backward_still_gives_72():
    x, y = lesson()
    trace_tensor(y, {"x": x})
    assert x.grad is None
    y.backward()
    assert x.grad.item() == 72.0


def test_an_existing_grad_is_unchanged():
    x, y = lesson()
    x.grad = torch.tensor(5.0)
    before = x.grad
    trace_tensor(y, {"x": x})
    assert x.grad is before and x.grad.item() == 5.0


def test_a_retained_grad_computed_inside_capture_is_put_back():
    x = torch.tensor(2.0, requires_grad=True)
    with capture() as captured:
        h = x * 3
        y = h * h + x
    h.retain_grad()
    trace_tensor(y, {"x": x}, captured=captured)
    assert h.grad is None
    y.backward()
    assert h.grad.item() == 2 * 6.0  # dy/dh = 2h, once, not twice


def test_a_graph_freed_by_backward_is_refused_with_a_sentence():
    x, y = lesson()
    y.backward()
    with pytest.raises(ExprError) as refused:
        trace_tensor(y, {"x": x})
    assert refused.value.template == FREED
    assert "show({y})" in FREED and "retain_graph=True" in FREED


def test_a_non_scalar_without_grad_outputs_is_refused_with_torchs_sentence():
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = w * w
    with pytest.raises(RuntimeError) as torch_says:
        y.backward(retain_graph=True)
    with pytest.raises(ExprError) as refused:
        trace_tensor(y, {"w": w})
    assert refused.value.template == NOT_SCALAR
    assert str(torch_says.value) == NOT_SCALAR


def test_a_non_scalar_with_grad_outputs_gives_autograd_grads_numbers():
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = torch.tensor(0.5, requires_grad=True)
    y = torch.sin(w) * b + w
    g = torch.tensor([1.0, -2.0, 0.5])
    data = compute_tensor(y, {"w": w, "b": b}, grad_outputs=g)
    w2, b2 = w.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    oracle = torch.autograd.grad(torch.sin(w2) * b2 + w2, [w2, b2], g)
    assert data["gradients"]["w"] == pytest.approx(oracle[0].tolist())
    assert data["gradients"]["b"] == pytest.approx(oracle[1].item())
    assert data["steps"][0]["grad_outputs"] == [g.tolist()]
    assert w.grad is None and b.grad is None


def test_grad_outputs_of_another_shape_are_refused():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ExprError, match="grad_outputs"):
        trace_tensor(w * 2, grad_outputs=torch.ones(3))


@pytest.mark.parametrize("y", [torch.tensor(1.0), torch.tensor(1.0, requires_grad=True)])
def test_a_tensor_without_a_graph_is_refused_with_a_sentence(y):
    with pytest.raises(ExprError, match="graph|require grad"):
        trace_tensor(y)


def test_unnamed_leaves_are_named_in_walk_order_around_the_given_names():
    a = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(2.0, requires_grad=True)
    c = torch.tensor(3.0, requires_grad=True)
    y = a * b + c
    first = trace_tensor(y, {"t0": c})
    again = trace_tensor(y, {"t0": c})
    leaves = {n.variable: n.value for n in first.nodes if n.kind == "leaf"}
    assert leaves == {"t1": 1.0, "t2": 2.0, "t0": 3.0}
    assert [n.variable for n in first.nodes] == [n.variable for n in again.nodes]
    assert first.gradients == {"t0": 1.0, "t1": 2.0, "t2": 1.0}


def test_past_the_node_limit_there_is_no_picture_but_the_gradients():
    x, y = lesson()
    data = compute_tensor(y, {"x": x}, limits=Limits(max_graph_nodes=5))
    assert data["svg"] is None and data["dot"] is None
    assert data["too_big"] == {"count": 9, "limit": 5}
    assert data["gradients"] == {"x": 72.0} and len(data["steps"]) == 9
    assert "too_big" not in compute_tensor(y, {"x": x})


def test_the_mlp_gives_pytorchs_own_grads_and_no_formula_for_addmm():
    model = mlp()
    x, target = torch.randn(4, 2), torch.randn(4, 1)
    loss = torch.nn.functional.mse_loss(model(x), target)
    params = dict(model.named_parameters())
    data = compute_tensor(loss, params)
    twin = copy.deepcopy(model)
    torch.nn.functional.mse_loss(twin(x), target).backward()
    for name, p in twin.named_parameters():
        assert torch.allclose(torch.tensor(data["gradients"][name]), p.grad, rtol=1e-6, atol=1e-7)
    assert all(p.grad is None for p in model.parameters())
    addmm = [s for s in data["steps"] if s["name"] == "AddmmBackward0"]
    assert len(addmm) == 2 and all(list(s["rules"]) == [] for s in addmm)
    nodes = {n["id"]: n for n in data["nodes"]}
    last = addmm[0]  # the second Linear: its bias gets the sum over the batch of what arrived
    bias = [v for t, v in zip(last["targets"], last["grad_inputs"], strict=True)
            if t and nodes[t]["variable"] == "2.bias"]
    assert torch.allclose(torch.tensor(bias[0]), torch.tensor(last["grad_outputs"][0]).sum(0))
    mse = data["steps"][0]
    assert mse["name"] == "MseLossBackward0" and mse["rules"][0]["agrees"] is True
    assert [v["name"] for v in data["variables"]] == list(params)
    loss.backward()  # the user's own backward afterwards: once, as the twin's
    for (name, p), twin_p in zip(model.named_parameters(), twin.parameters(), strict=True):
        assert torch.equal(p.grad, twin_p.grad), name


def test_the_mlp_names_its_leaves_in_the_picture_as_torchviz_does():
    model = mlp()
    loss = model(torch.randn(4, 2)).sum()
    svg = compute_tensor(loss, dict(model.named_parameters()))["svg"]
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= set(texts)
    assert 'id="var-0-2e-weight"' in svg and 'id="n0"' in svg


def test_capture_groups_the_nodes_by_module_and_gives_their_values():
    model = mlp()
    x, target = torch.randn(4, 2), torch.randn(4, 1)
    with capture() as captured:
        hidden = model[1](model[0](x))
        loss = torch.nn.MSELoss()(model[2](hidden), target)
    with capture() as whole:
        loss2 = torch.nn.MSELoss()(model(x), target)
    data = compute_tensor(loss2, dict(model.named_parameters()), captured=whole)
    names = [line["name"] for line in data["lines"]]
    assert {"0", "1", "2"} <= set(names)
    nodes = {n["id"]: n for n in data["nodes"]}
    tanh = next(n for n in data["nodes"] if n["name"] == "TanhBackward0")
    line = next(line for line in data["lines"] if line["name"] == "1")
    assert line["nodes"] == [tanh["id"]] and line["text"] == "Tanh()"
    assert torch.equal(torch.tensor(tanh["value"]), hidden)
    assert all(nodes[i]["name"] in ("AddmmBackward0", "TBackward0")
               for i in next(ln for ln in data["lines"] if ln["name"] == "0")["nodes"])
    assert trace_tensor(loss, captured=captured).groups  # modules called one by one


def test_without_capture_an_op_value_is_none_unless_a_node_saved_it():
    x = torch.tensor([0.5, -1.0], requires_grad=True)
    h = x * 3  # saved by the product below
    y = (torch.exp(x + 1) * h).sum()  # x + 1 is saved by nobody: exp keeps its result
    trace = trace_tensor(y, {"x": x})
    nodes = {n.id: n for n in trace.nodes}
    total, product = nodes["n0"], nodes["n1"]  # sum(exp(x + 1) * h)
    exp, times_three = (nodes[i] for i in product.inputs)
    plus_one = nodes[exp.inputs[0]]
    assert (total.name, product.name, exp.name, times_three.name, plus_one.name) == (
        "SumBackward0", "MulBackward0", "ExpBackward0", "MulBackward0", "AddBackward0")
    assert plus_one.value is None and product.value is None  # nobody saved them
    assert exp.value == pytest.approx(torch.exp(x + 1).tolist())
    assert times_three.value == pytest.approx(h.tolist())
    assert total.value == pytest.approx(y.item())


def test_a_custom_function_keeps_pytorchs_numbers_without_a_formula():
    a = torch.tensor(1.5, requires_grad=True)
    y = Cube.apply(a) * 2
    data = compute_tensor(y, {"a": a})
    step = next(s for s in data["steps"] if s["name"] == "CubeBackward")
    assert list(step["rules"]) == [] and step["grad_outputs"] == [2.0]
    assert step["grad_inputs"] == [pytest.approx(3 * 1.5**2 * 2.0)]
    assert data["gradients"] == {"a": pytest.approx(13.5)}


def test_the_explanations_read_a_tensor_trace_by_names_and_labels_from_the_graph():
    model = mlp()
    loss = model(torch.randn(3, 2)).pow(2).mean()
    result = from_json(compute_tensor(loss, dict(model.named_parameters())))
    views = explain.steps(result)
    labels = {v.label for v in views}
    assert {"0.weight", "2.bias", "addmm(0.bias, …, t(0.weight))", "t(2.weight)"} <= labels
    assert not any("Backward" in label for label in labels)
    leaf = next(v for v in views if v.variable == "0.weight")
    assert leaf.parts and leaf.accumulated is not None
    details = explain.node_views(result, views)
    assert len(details) == len(result.nodes)


def test_a_big_tensor_is_summarized_as_values_summarize_summarizes_its_list():
    torch.manual_seed(3)
    layer = torch.nn.Linear(300, 10)
    with torch.no_grad():
        layer.weight[0, :3] = torch.tensor([float("nan"), float("inf"), -float("inf")])
    loss = layer(torch.randn(2, 300)).sum()
    limits = Limits(max_shown_elements=1000)
    data = compute_tensor(loss, dict(layer.named_parameters()), limits=limits)
    weight = next(v for v in data["variables"] if v["name"] == "weight")
    assert weight["value"] == summarize(layer.weight.tolist(), 1000)
    assert weight["value"]["first"][:3] == ["nan", "inf", "-inf"]
    assert data["variables"][1]["value"] == pytest.approx(layer.bias.tolist())  # 10 numbers


def test_nested_modules_keep_their_cluster_and_box_ids_in_the_svg():
    torch.manual_seed(4)
    model = torch.nn.Sequential()
    model.add_module("layer1", torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh()))
    model.add_module("out", torch.nn.Linear(2, 1))
    with capture() as captured:
        loss = model(torch.randn(3, 2)).sum()
    params = dict(model.named_parameters())
    data = compute_tensor(loss, params, captured=captured, collapse=("layer1.0",))
    assert {"layer1.0", "layer1.1", "out"} <= {line["name"] for line in data["lines"]}
    box = next(line["box"] for line in data["lines"] if line["name"] == "layer1.0")
    assert box == "box-layer1-2e-0"
    assert f'id="{box}"' in data["svg"] and 'id="line-layer1-2e-1"' in data["svg"]
    assert 'id="var-layer1-2e-0-2e-weight"' in data["svg"]  # leaves stay outside, as a line's
    assert 'id="var-out-2e-weight"' in data["svg"]


def test_the_annotated_picture_leaves_out_a_value_nothing_kept():
    x, y = lesson()
    dot = compute_tensor(y, {"x": x}, view="annotated")["dot"]
    assert "None" not in dot
    assert "AddBackward0\n5*x**3 + 2*x**2 + 4*x + const = 64\ngrad in 1" in dot  # the output's
    assert "PowBackward0\nx**3\ngrad in 5" in dot  # its label, and no value


def test_the_output_takes_the_name_it_is_given_in_the_picture_and_the_refusals():
    x, y = lesson()
    svg = compute_tensor(y, {"x": x}, output_name="loss")["svg"]
    assert "loss" in re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    with pytest.raises(ExprError) as refused:
        compute_tensor(x * 0 + torch.ones(2), output_name="loss")
    assert refused.value.template == NOT_SCALAR
    with pytest.raises(ExprError) as refused:
        compute_tensor(torch.ones(2).sum(), output_name="loss")
    assert refused.value.params == {"y": "loss"}


def test_a_backward_pytorch_refuses_is_refused_with_its_reason():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    y = torch.sin(a).sum()  # sin saves a
    a.mul_(3)
    with pytest.raises(RuntimeError) as torch_says:
        torch.autograd.grad(y, [x], retain_graph=True)
    with pytest.raises(ExprError) as refused:
        trace_tensor(y, {"x": x})
    assert refused.value.template == BACKWARD_FAILED
    assert refused.value.params["reason"] == str(torch_says.value).split("\n")[0]
    assert "inplace" in refused.value.params["reason"]
