"""The notebooks the tests execute: each case a cell, as a student would write it.

Each cell's metadata names it (``case``), so that a test finds its output. A cell
that checks something prints one JSON line.
"""

from __future__ import annotations

import nbformat

CELLS = {
    "setup": """\
import json
import torch
from autograd_playground import show, capture""",
    "lesson": """\
x = torch.tensor(2.0, requires_grad=True)
y = 5*x**3 + 2*x**2 + 4*x + 8
lesson = show(y, params={"x": x})
lesson""",
    "lesson-after": """\
after_show = None if x.grad is None else x.grad.item()
y.backward()
try:
    show(y, params={"x": x})
    freed = None
except Exception as error:
    freed = str(error)
print(json.dumps({"gradients": lesson.result.gradients, "after_show": after_show,
                  "after_backward": x.grad.item(), "freed": freed}))""",
    "second": """\
w = torch.tensor(3.0, requires_grad=True)
show(w * w + torch.sin(w), params={"w": w})""",
    "mlp": """\
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
inputs, target = torch.randn(5, 3), torch.randn(5, 1)
loss = torch.nn.functional.mse_loss(model(inputs), target)
mlp = show(loss, params=dict(model.named_parameters()))
mlp""",
    "mlp-check": """\
import copy
twin = copy.deepcopy(model)
torch.nn.functional.mse_loss(twin(inputs), target).backward()
errors = {name: (torch.tensor(mlp.result.gradients[name]) - p.grad).abs().max().item()
          for name, p in twin.named_parameters()}
print(json.dumps({"errors": errors, "untouched": all(p.grad is None for p in model.parameters())}))""",
    "modules": """\
with capture() as captured:
    again = torch.nn.functional.mse_loss(model(inputs), target)
show(again, params=dict(model.named_parameters()), captured=captured)""",
    "function": """\
class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t):
        ctx.save_for_backward(t)
        return t ** 3

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        return 3 * t ** 2 * g

a = torch.tensor(1.5, requires_grad=True)
cube = show(Cube.apply(a) * 2, params={"a": a})
cube""",
    "function-check": """\
print(json.dumps({"a": cube.result.gradients["a"]}))""",
    "vector": """\
v = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
vector = show(v ** 2, params={"v": v}, grad_outputs=torch.tensor([1.0, 0.5, 2.0]))
vector""",
    "vector-check": """\
try:
    show(v ** 2, params={"v": v})
    refusal = None
except Exception as error:
    refusal = str(error)
print(json.dumps({"v": vector.result.gradients["v"], "refusal": refusal}))""",
    "big": """\
t = torch.tensor(0.5, requires_grad=True)
s = t
for _ in range(150):
    s = s * 1.01 + t
big = show(s, params={"t": t})
big""",
    "big-check": """\
print(json.dumps({"svg": big.result.svg, "t": big.result.gradients["t"],
                  "oracle": torch.autograd.grad(s, t)[0].item()}))""",
}


def notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source, metadata={"case": case}) for case, source in CELLS.items()]
    return nb
