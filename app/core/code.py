"""The equivalent PyTorch program, in the lesson's style.

Printed from the checked tree (never from the student's text), so running it
builds the very graph the app traced and prints the same numbers.
"""

from __future__ import annotations

from typing import Any

from app.core.language import output_name
from app.core.tree import Call, Num, Parsed, Printed, Var, binary, number, print_tree


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
    y = output_name(parsed.variables)
    lines += [f"{y} = {expression_code(parsed)}", f"print({y})", "", f"{y}.backward()"]
    lines += [f"print({name}.grad)" for name in on]
    return "\n".join(lines) + "\n"


def _floats(value: Any) -> Any:
    if isinstance(value, list):
        return [_floats(v) for v in value]
    return float(value)


def expression_code(parsed: Parsed) -> str:
    """The expression as Python over torch: functions become torch.<name>(...)."""
    return print_tree(parsed.tree, _leaf, _call)


def _leaf(node: Any) -> Printed:
    if isinstance(node, Num):
        return number(node.value)
    if isinstance(node, Var):
        return Printed(node.name)
    return Printed(f"torch.tensor({_floats(_lists(node.value))!r})")


def _call(node: Call, args: list[Printed]) -> Printed:
    if node.func == "pow":
        base, exponent = args
        if base.number and exponent.number:
            return binary("**", base, exponent)  # Python numbers: torch.pow would refuse them
        return Printed(f"torch.pow({base.text}, {exponent.text})")
    (operand,) = args
    text = f"torch.tensor(float({operand.text}))" if operand.number else operand.text
    return Printed(f"torch.{node.func}({text})")


def _lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_lists(v) for v in value]
    return value
