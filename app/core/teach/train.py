"""Gradient descent on a function, step by step, with real PyTorch.

The function is the loss. Some of its variables are the parameters (the ones
with ``requires_grad``); the others are data. Each step is what a training loop
does, in its order::

    optimizer.zero_grad()      # left out when gradients accumulate
    loss = f(w, b, ...)        # the forward pass
    loss.backward()            # fills w.grad, b.grad
    optimizer.step()           # w <- w - lr * w.grad

Entry k of the result holds the parameters before update k, the loss at them,
and the gradient update k uses. The update is ``p.add_(p.grad, alpha=-lr)``,
the very call ``torch.optim.SGD`` makes, so the generated program
(:func:`train_code`) prints the same numbers.

Imports torch; runs in a worker under the pool's time limit, like a trace.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch

from ..language.rules import ExprError, Limits
from ..language.tree import Parsed
from ..language.values import check_training
from ..result import Training, TrainStep
from ..trace.graph import InputValue, evaluate, make_inputs
from ..trace.model import to_value
from .code import PROGRAM_NAMES, as_floats, expression_code, rename_comments, renames


def train(
    parsed: Parsed,
    inputs: dict[str, InputValue],
    params: list[str],
    lr: float,
    steps: int,
    zero_grad: bool = True,
    limits: Limits = Limits(),
) -> Training:
    """Run ``steps`` updates of gradient descent on ``parsed`` as the loss."""
    check_training(parsed, params, lr, steps, limits)
    grads_on = {name: name in params for name in parsed.variables}
    entries: list[TrainStep] = []
    diverged_at = None
    with torch.enable_grad():
        tensors = make_inputs(parsed, inputs, grads_on, limits)
        trained = {name: tensors[name] for name in params}
        for index in range(1, steps + 1):
            if zero_grad:
                for p in trained.values():
                    p.grad = None  # what optimizer.zero_grad() does by default
            loss = _loss(parsed, tensors, limits)
            loss.backward()
            entries.append(
                TrainStep(
                    index=index,
                    loss=to_value(loss),
                    params={name: to_value(p) for name, p in trained.items()},
                    grads={
                        name: to_value(p.grad) if p.grad is not None else None
                        for name, p in trained.items()
                    },
                )
            )
            if not _finite(loss, trained):
                diverged_at = index
                break
            with torch.no_grad():
                for p in trained.values():
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-lr)
    return Training(
        expression=parsed.normalized,
        params=tuple(params),
        lr=float(lr),
        zero_grad=zero_grad,
        steps=tuple(entries),
        diverged_at=diverged_at,
        final={name: to_value(p) for name, p in trained.items()},
        code=train_code(parsed, inputs, params, lr, steps, zero_grad),
    )


def _loss(parsed: Parsed, tensors: dict[str, torch.Tensor], limits: Limits) -> torch.Tensor:
    loss = evaluate(parsed, tensors, limits)
    if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
        raise ExprError(
            "The loss does not depend on any parameter, so there is nothing to train; choose a "
            "parameter the function uses."
        )
    if loss.numel() != 1:
        raise ExprError(
            "The loss has shape {shape}, but training needs a single number. Wrap the "
            "function in sum(...) or mean(...).",
            {"shape": list(loss.shape)},
        )
    return loss


def _finite(loss: torch.Tensor, trained: dict[str, torch.Tensor]) -> bool:
    if not math.isfinite(loss.item()):
        return False
    for p in trained.values():
        if not bool(torch.isfinite(p).all()):
            return False
        if p.grad is not None and not bool(torch.isfinite(p.grad).all()):
            return False
    return True


# --- the program ------------------------------------------------------------


# The loop's own names, besides the program's (code.PROGRAM_NAMES).
TRAIN_NAMES = frozenset({"optimizer", "step", "range"})


def loss_name(parsed: Parsed) -> str:
    """``loss``, as courses write it, or the first name of ``objective``, ``f_value``,
    ``loss_2``, ``loss_3``... that no variable and no loop name has."""
    taken = set(parsed.variables) | {line.name for line in parsed.lines} | TRAIN_NAMES
    candidates = itertools.chain(("loss", "objective", "f_value"),
                                 (f"loss_{k}" for k in itertools.count(2)))
    return next(n for n in candidates if n not in taken)


def train_code(
    parsed: Parsed,
    inputs: dict[str, Any],
    params: list[str],
    lr: float,
    steps: int,
    zero_grad: bool,
) -> str:
    """The training loop as a student would write it, with torch.optim.SGD."""
    loss = loss_name(parsed)
    renamed = renames(parsed, PROGRAM_NAMES | TRAIN_NAMES)
    lines = ["import torch", "", *rename_comments(renamed)]
    for name in parsed.variables:
        value = as_floats(inputs.get(name, 1.0))
        grad = ", requires_grad=True" if name in params else ""
        lines.append(f"{renamed.get(name, name)} = torch.tensor({value!r}{grad})")
    params = [renamed.get(name, name) for name in params]
    shown = ", ".join(f"{name}.tolist(), {name}.grad.tolist()" for name in params)
    lines += [
        "",
        f"optimizer = torch.optim.SGD([{', '.join(params)}], lr={float(lr)!r})",
        f"for step in range({steps}):",
        "    optimizer.zero_grad()"
        if zero_grad
        else "    # no optimizer.zero_grad(): each backward() adds to .grad",
        f"    {loss} = {expression_code(parsed, renamed)}",
        f"    {loss}.backward()",
        f"    print(step + 1, {loss}.item(), {shown})",
        "    optimizer.step()",
    ]
    return "\n".join(lines) + "\n"

