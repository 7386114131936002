"""The equivalent PyTorch program, in the lesson's style.

Printed from the checked tree (never from the student's text), so running it
builds the very graph the app traced and prints the same numbers.
"""

from __future__ import annotations

import functools
from typing import Any

from ..language.tree import (
    Call,
    ListConst,
    Num,
    Parsed,
    Printed,
    Var,
    binary,
    number,
    post_order,
    print_tree,
)

# Names the generated program needs for itself: a variable or line with one of these
# names is renamed there (with a comment), so that the program runs as typed.
PROGRAM_NAMES = frozenset({"torch", "float", "int", "print"})


def renames(parsed: Parsed, taken: frozenset[str] = PROGRAM_NAMES) -> dict[str, str]:
    """The program's names that clash with ``taken``, each with a free name (``torch_``)."""
    used = set(parsed.variables) | {line.name for line in parsed.lines}
    out: dict[str, str] = {}
    for name in sorted(used & taken):
        new = name + "_"
        while new in used or new in taken or new in out.values():
            new += "_"
        out[name] = new
    return out


def rename_comments(renamed: dict[str, str]) -> list[str]:
    return [f"# {old} is called {new} here: Python needs the name {old} for itself."
            for old, new in renamed.items()]


def torch_code(
    parsed: Parsed,
    inputs: dict[str, Any],
    requires_grad: dict[str, bool] | None,
    retain_grad: bool = False,
    accumulate: bool = False,
) -> str:
    """The program; with ``retain_grad`` it keeps and prints each named intermediate's .grad.

    With ``accumulate`` it calls backward() a second time without zeroing the gradients,
    and prints them after each call: the second print shows them doubled.
    """
    requires_grad = requires_grad or {}
    renamed = renames(parsed)
    lines = ["import torch", "", *rename_comments(renamed)]
    on = []
    for name in parsed.variables:
        value = as_floats(inputs.get(name, 1.0))
        shown = renamed.get(name, name)
        if requires_grad.get(name, True):
            lines.append(f"{shown} = torch.tensor({value!r}, requires_grad=True)")
            on.append(name)
        else:
            lines.append(f"{shown} = torch.tensor({value!r})")
    y = renamed.get(parsed.output_name, parsed.output_name)
    lines += program_lines(parsed, renamed) if parsed.lines else [
        f"{y} = {expression_code(parsed, renamed)}"]
    retained = retained_lines(parsed, set(on)) if retain_grad else ([], [])
    lines += [f"{renamed.get(name, name)}.retain_grad()" for name in retained[1]]
    prints = [f"print({renamed.get(name, name)}.grad)" for name in [*on, *retained[0]]]
    lines += [f"print({y})", ""]
    if accumulate:
        lines += [f"{y}.backward(retain_graph=True)", *prints,
                  f"{y}.backward()  # no zero_grad() in between: .grad adds up"]
    else:
        lines.append(f"{y}.backward()")
    lines += prints
    return "\n".join(lines) + "\n"


def retained_lines(parsed: Parsed, on: set[str]) -> tuple[list[str], list[str]]:
    """A program's intermediates that are tensors (their .grad can be printed), and those of
    them that require grad (retain_grad() would refuse the others)."""
    tensors, grads = [], []
    for line in parsed.lines[:-1]:
        nodes = list(post_order(line.tree))
        used = {n.name for n in nodes if isinstance(n, Var)}
        if used or any(isinstance(n, ListConst) for n in nodes):
            tensors.append(line.name)
        if used & on:
            grads.append(line.name)
    return tensors, grads


def program_lines(parsed: Parsed, renamed: dict[str, str] | None = None) -> list[str]:
    """A program's lines over torch, each using the names of the lines before it."""
    renamed = renamed or {}
    leaf = functools.partial(_leaf, renamed=renamed)

    def printer(tree: Any, names: dict[int, str]) -> str:
        return print_tree(tree, leaf, _call, {k: renamed.get(v, v) for k, v in names.items()})

    out = parsed.line_texts(printer)
    for old, new in renamed.items():  # a line's own name, and an alias's (b = torch)
        out = [_renamed_line(text, old, new) for text in out]
    return out


def _renamed_line(text: str, old: str, new: str) -> str:
    name, _, expression = text.partition(" = ")
    return f"{new if name == old else name} = {new if expression == old else expression}"


def as_floats(value: Any) -> Any:
    """A value as the program writes it: every number a float, as torch.tensor reads it."""
    if isinstance(value, list):
        return [as_floats(v) for v in value]
    return float(value)


def expression_code(parsed: Parsed, renamed: dict[str, str] | None = None) -> str:
    """The expression as Python over torch: functions become torch.<name>(...)."""
    return print_tree(parsed.tree, functools.partial(_leaf, renamed=renamed or {}), _call)


def _leaf(node: Any, renamed: dict[str, str]) -> Printed:
    if isinstance(node, Num):
        # torch.pi and torch.e are the same float constants as math's.
        return Printed(f"torch.{node.name}", number=True) if node.name else number(node.value)
    if isinstance(node, Var):
        return Printed(renamed.get(node.name, node.name))
    return Printed(f"torch.tensor({as_floats(_lists(node.value))!r})")


# How a function of the language is written in a program: {0}, {1}, {2} are the
# arguments (numbers already turned into tensors where torch needs one).
FUNCTION_CODE: dict[str, str] = {
    "softmax": "torch.softmax({0}, dim=-1)",
    "log_softmax": "torch.log_softmax({0}, dim=-1)",
    "logsumexp": "torch.logsumexp({0}, dim=-1)",
    "clamp": "torch.clamp({0}, {1}, {2})",
    "mse": "torch.nn.functional.mse_loss({0}, {1})",
    "cross_entropy": "torch.nn.functional.cross_entropy({0}, torch.tensor(int({1})))",
    "transpose": "torch.transpose({0}, -2, -1)",
}
# Arguments that stay Python numbers (the bounds of clamp, the class index).
PLAIN_ARGUMENTS = {"clamp": (1, 2), "cross_entropy": (1,)}


def _call(node: Call, args: list[Printed]) -> Printed:
    if node.func == "pow":
        base, exponent = args
        if base.number and exponent.number:
            return binary("**", base, exponent)  # Python numbers: torch.pow would refuse them
        return Printed(f"torch.pow({base.text}, {exponent.text})")
    plain = PLAIN_ARGUMENTS.get(node.func, ())
    texts = [
        a.text if i in plain or not a.number else f"torch.tensor(float({a.text}))"
        for i, a in enumerate(args)
    ]
    if node.func == "cross_entropy" and not args[1].number:
        texts[1] = f"{args[1].text}.item()"
    template = FUNCTION_CODE.get(node.func)
    if template is None:
        return Printed(f"torch.{node.func}({', '.join(texts)})")
    return Printed(template.format(*texts))


def _lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_lists(v) for v in value]
    return value
