"""The equivalent PyTorch program, in the lesson's style.

Printed from the checked tree (never from the student's text), so running it
builds the very graph the app traced and prints the same numbers.
"""

from __future__ import annotations

from typing import Any

from app.core.expr import _PRECEDENCE, Call, ListConst, Num, Parsed, Unary, Var, post_order

_ATOM = 9


def torch_code(parsed: Parsed, inputs: dict[str, Any], requires_grad: dict[str, bool] | None) -> str:
    requires_grad = requires_grad or {}
    lines = ["import torch", ""]
    on = []
    for name in parsed.variables:
        value = _floats(inputs.get(name, 1.0))
        if requires_grad.get(name, True):
            lines.append(f"{name} = torch.tensor({value!r}, requires_grad=True)")
            on.append(name)
        else:
            lines.append(f"{name} = torch.tensor({value!r})")
    y = output_name(parsed)
    lines += [f"{y} = {expression_code(parsed)}", f"print({y})", "", f"{y}.backward()"]
    lines += [f"print({name}.grad)" for name in on]
    return "\n".join(lines) + "\n"


def output_name(parsed: Parsed) -> str:
    """``y``, as in the lesson, unless a variable already has that name."""
    return next(n for n in ("y", "out", "result", "f_x") if n not in parsed.variables)


def _floats(value: Any) -> Any:
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return float(value)


def expression_code(parsed: Parsed) -> str:
    """The expression as Python over torch: functions become torch.<name>(...)."""
    out: dict[int, tuple[str, int, bool]] = {}  # id -> (text, precedence, is a Python number)
    for node in post_order(parsed.tree):
        out[id(node)] = _one(node, out)
    return out[id(parsed.tree)][0]


def _one(node: Any, out: dict[int, tuple[str, int, bool]]) -> tuple[str, int, bool]:
    if isinstance(node, Num):
        return repr(node.value), _ATOM, True
    if isinstance(node, Var):
        return node.name, _ATOM, False
    if isinstance(node, ListConst):
        return f"torch.tensor({_floats(_lists(node.value))!r})", _ATOM, False
    if isinstance(node, Call):
        args = [out[id(a)] for a in node.args]
        if node.func == "pow":
            (base, _, base_num), (exp, _, exp_num) = args
            if base_num and exp_num:
                return f"{_wrap(args[0], _PRECEDENCE['**'], True)}**{_wrap(args[1], 3, False)}", _PRECEDENCE["**"], True
            return f"torch.pow({base}, {exp})", _ATOM, False
        text, _, is_num = args[0]
        if is_num:
            text = f"torch.tensor(float({text}))"
        return f"torch.{node.func}({text})", _ATOM, False
    if isinstance(node, Unary):
        operand = out[id(node.operand)]
        mine = _PRECEDENCE["unary"]
        return f"{node.op}{_wrap(operand, mine, False)}", mine, operand[2]
    left, right = out[id(node.left)], out[id(node.right)]
    mine = _PRECEDENCE[node.op]
    if node.op == "**":
        text = f"{_wrap(left, mine, True)}**{_wrap(right, _PRECEDENCE['unary'], False)}"
    else:
        sep = f" {node.op} " if node.op in "+-@" else node.op
        text = f"{_wrap(left, mine, False)}{sep}{_wrap(right, mine, True)}"
    return text, mine, left[2] and right[2]


def _wrap(item: tuple[str, int, bool], mine: int, strict: bool) -> str:
    text, prec, _ = item
    if prec < mine or (strict and prec == mine):
        return f"({text})"
    return text


def _lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_lists(v) for v in value]
    return value
