"""The torch spellings of the language's functions, read as the language's own calls.

A notebook cell writes ``torch.sin(x)``, ``x.sum()``, ``x.pow(2)``, ``F.mse_loss(p, t)``.
Each form in the tables here means exactly one function of the language, with the
same semantics (the torch call that trace/graph.py makes for it), and is rewritten
on Python's ``ast`` into the call the language writes (``sin(x)``, ``sum(x)``,
``pow(x, 2)``, ``mse(p, t)``; ``torch.matmul(a, b)`` into ``a @ b``). The whitelist
(check.py) then reads it as it reads a typed function, so the tree is the same.
Nothing is run.

A form whose torch meaning differs from the language's is refused with a sentence:
``torch.softmax(t, dim=0)`` (the language's softmax is over the last dimension),
``t.T`` (torch reverses every dimension; the language's transpose swaps the last
two, which torch writes ``t.mT``), ``torch.sum(t, dim=0)``. A call of any other
torch function is refused; any other attribute is left to the whitelist, which
refuses attribute access.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .rules import ExprError
from .values import literal_node

FUNCTIONAL = "torch.nn.functional"


@dataclass(frozen=True)
class Form:
    """How torch writes one function of the language: its name there and its parameters."""

    func: str  # the language's function, or "@" (torch.matmul)
    params: tuple[str, ...] = ()  # torch's parameters after the tensor (input), each needed
    last_dim: bool = False  # the parameter dim must be -1: the language's last dimension


ELEMENTWISE = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu")
LAST_DIM = ("softmax", "log_softmax", "logsumexp")

# torch.NAME(t, ...) and the method t.NAME(...): torch has one function for both.
TORCH: dict[str, Form] = {
    **{name: Form(name) for name in ELEMENTWISE},
    **{name: Form(name, ("dim",), last_dim=True) for name in LAST_DIM},
    "pow": Form("pow", ("exponent",)),
    "sum": Form("sum"),  # of the whole tensor, as torch.sum(t) without dim
    "mean": Form("mean"),
    "max": Form("max"),  # torch.max(t) of the whole tensor; maximum(a, b) compares
    "min": Form("min"),
    "maximum": Form("maximum", ("other",)),
    "minimum": Form("minimum", ("other",)),
    "clamp": Form("clamp", ("min", "max")),  # the language's clamp needs both bounds
    "matmul": Form("@", ("other",)),
}

# torch.nn.functional.NAME(t, ...), also under the name a cell imports it as (F).
NN_FUNCTIONAL: dict[str, Form] = {
    "relu": Form("relu"),
    "softmax": Form("softmax", ("dim",), last_dim=True),
    "log_softmax": Form("log_softmax", ("dim",), last_dim=True),
    "mse_loss": Form("mse", ("target",)),  # its default reduction, the mean
}

MODULES: dict[str, dict[str, Form]] = {"torch": TORCH, FUNCTIONAL: NN_FUNCTIONAL}

# Attributes read as a function of the tensor: t.mT swaps its last two dimensions.
PROPERTIES = {"mT": "transpose"}

# A dot before a name: every attribute Python reads (``x.sum``, ``torch.sin``, ``x . mT``,
# ``1 .real``) has one, once text.check_characters has refused line breaks, tabs and
# letters beyond ASCII. A text without one has no torch form to rewrite.
_ATTRIBUTE = re.compile(r"\.\s*[A-Za-z_]")


def may_have_forms(source: str) -> bool:
    """Whether ``source`` may hold a torch form; False: torch_forms would change nothing."""
    return _ATTRIBUTE.search(source) is not None


# Refuse(template, node, **params): check.Checker.refuse, which places the sentence.
Refuse = Callable[..., ExprError]


def torch_forms(root: ast.expr, refuse: Refuse, modules: Mapping[str, str] | None = None) -> ast.expr:
    """``root`` with each torch form replaced by the language's call, operands first.

    ``modules``: the names a cell imported a module as (``F`` for torch.nn.functional);
    ``torch`` is always torch. Python's tree is rewritten in place, with an explicit stack.
    """
    modules = modules or {}
    built: dict[int, ast.expr] = {}
    stack: list[tuple[ast.expr, bool]] = [(root, False)]
    while stack:
        node, operands_done = stack.pop()
        if not operands_done:
            stack.append((node, True))
            stack.extend((child, False) for child in _operands(node))
            continue
        _replace_operands(node, built)
        built[id(node)] = _rewritten(node, refuse, modules)
    return built[id(root)]


def _operands(node: ast.expr) -> list[ast.expr]:
    found = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
    if isinstance(node, ast.Call):
        found += [k.value for k in node.keywords]
    return found


def _replace_operands(node: ast.expr, built: dict[int, ast.expr]) -> None:
    for name, value in ast.iter_fields(node):
        if isinstance(value, ast.expr) and id(value) in built:
            setattr(node, name, built[id(value)])
        elif isinstance(value, list):
            value[:] = [built.get(id(v), v) if isinstance(v, ast.expr) else v for v in value]
    for keyword in getattr(node, "keywords", ()):
        keyword.value = built.get(id(keyword.value), keyword.value)


def module_path(node: ast.expr, modules: Mapping[str, str]) -> str | None:
    """``torch.nn.functional`` for the node ``torch.nn.functional`` (or ``F``, imported as
    such); None when the node is not a name of a module, but a value."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or (node.id != "torch" and node.id not in modules):
        return None
    return ".".join([modules.get(node.id, "torch"), *reversed(parts)])


def _rewritten(node: ast.expr, refuse: Refuse, modules: Mapping[str, str]) -> ast.expr:
    if isinstance(node, ast.Attribute) and module_path(node.value, modules) is None:
        if node.attr in PROPERTIES:
            call = ast.Call(ast.Name(PROPERTIES[node.attr], ast.Load()), [node.value], [])
            return _located(call, node, node)
        if node.attr == "T":
            raise refuse(
                "'{token}' at column {column} reverses every dimension of a tensor; for the "
                "transpose of a matrix (its last two dimensions) write {fix}.",
                node,
                fix=f"{ast.unparse(node.value)}.mT or transpose({ast.unparse(node.value)})",
            )
        return node
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return node
    func = node.func
    path = module_path(func.value, modules)
    if path is None:  # a method of a value: x.sum(), or one the whitelist refuses (x.grad)
        form = TORCH.get(func.attr)
        return node if form is None else _call(node, form, f".{func.attr}", [func.value], refuse)
    if path == "torch" and func.attr == "tensor":
        return _constant(node, refuse)
    form = MODULES.get(path, {}).get(func.attr)
    if form is None:
        raise refuse(
            "{name} at column {column} is not one of the torch functions the playground "
            "reads; it reads {available}.",
            func,
            name=f"{path}.{func.attr}",
            available=", ".join(
                f"{module}.{name}" for module, table in MODULES.items() for name in table
            ),
        )
    return _call(node, form, f"{path}.{func.attr}", [], refuse)


def _call(node: ast.Call, form: Form, name: str, receiver: list[ast.expr],
          refuse: Refuse) -> ast.expr:
    """The language's call of ``form``, from torch's arguments bound to its parameters."""
    names = ("input", *form.params)
    shown = ", ".join(f"{p}=-1" if p == "dim" else p for p in names[len(receiver):])
    signature = f"{ast.unparse(receiver[0]) if receiver else ''}{name}({shown})"
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise refuse("Starred arguments are not allowed (column {column}).", arg)
    given = receiver + list(node.args)
    bound: dict[str, Any] = dict(zip(names, given, strict=False))
    extra = [k for k in node.keywords if k.arg is None or k.arg not in names or k.arg in bound]
    if len(given) > len(names) or extra or len(bound) + len(node.keywords) < len(names):
        raise refuse(
            "'{token}' at column {column} is read as {form}, with exactly those arguments.",
            extra[0] if extra else node,
            form=signature,
        )
    bound.update((str(k.arg), k.value) for k in node.keywords)
    dim = literal_node(bound["dim"]) if form.last_dim else -1
    if type(dim) is not int or dim != -1:
        raise refuse(
            "The playground's {name} is over the last dimension: write dim=-1 ('{token}' at "
            "column {column}).",
            bound["dim"],
            name=form.func,
        )
    args = [bound[p] for p in names if not (form.last_dim and p == "dim")]
    if form.func == "@":
        return _located(ast.BinOp(args[0], ast.MatMult(), args[1]), node, node.func)
    return _located(ast.Call(ast.Name(form.func, ast.Load()), args, []), node, node.func)


def _constant(node: ast.Call, refuse: Refuse) -> ast.expr:
    """``torch.tensor(2.0)`` or ``torch.tensor([1., 2.])`` inside an expression: the number
    or the list itself, a constant as the language writes one."""
    for keyword in node.keywords:
        if keyword.arg == "requires_grad":
            raise refuse(
                "A tensor with requires_grad is a variable: give it a line of its own, as in "
                "x = torch.tensor(2.0, requires_grad=True) (column {column}).",
                keyword,
            )
        if not is_float32(keyword):
            raise refuse(
                "'{token}' at column {column} is not read: the playground computes in "
                "float32 on the CPU, so a tensor takes only dtype=torch.float32.",
                keyword,
            )
    if len(node.args) != 1 or literal_node(node.args[0]) is None:
        raise refuse(
            "torch.tensor takes one number or one list of numbers ('{token}' at column "
            "{column}).",
            node,
        )
    return node.args[0]


def is_float32(keyword: ast.keyword) -> bool:
    """``dtype=torch.float32`` (or ``torch.float``), the one dtype the playground computes in."""
    value = keyword.value
    return (keyword.arg == "dtype" and isinstance(value, ast.Attribute)
            and value.attr in ("float32", "float") and module_path(value.value, {}) == "torch")


def tensor_value(text: str) -> tuple[Any, bool] | None:
    """A value line's ``torch.tensor(2.0, requires_grad=True)``: its value and whether it
    requires grad (off without ``requires_grad``, as in PyTorch); None for anything else
    (an expression, which the reader checks or refuses with a sentence)."""
    if not text.isascii():  # Python would fold some letters into ASCII ones
        return None
    try:
        body = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if not (isinstance(body, ast.Call) and isinstance(body.func, ast.Attribute)
            and body.func.attr == "tensor" and module_path(body.func.value, {}) == "torch"
            and len(body.args) == 1):
        return None
    requires_grad = False
    for keyword in body.keywords:
        value = keyword.value
        if keyword.arg == "requires_grad" and isinstance(value, ast.Constant) \
                and isinstance(value.value, bool):
            requires_grad = value.value
        elif not is_float32(keyword):
            return None
    data = literal_node(body.args[0])
    return None if data is None else (data, requires_grad)


def _located(new: ast.expr, node: ast.expr, func: ast.expr) -> ast.expr:
    """``new`` at ``node``'s place; its function name (if a call) at ``func``'s."""
    ast.copy_location(new, node)
    if isinstance(new, ast.Call):
        ast.copy_location(new.func, func)
    return new
