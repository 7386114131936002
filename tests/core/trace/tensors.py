"""Tensors the notebook's source is tested on: a small model and a custom Function."""

from __future__ import annotations

import torch


def mlp() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))


class Cube(torch.autograd.Function):
    """a³, with its own backward: a node no formula here knows."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a**3

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return 3 * a**2 * g
