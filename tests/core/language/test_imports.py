"""autograd_playground.core.language: its modules import each other one way, along the line
the package's docstring writes."""

from __future__ import annotations

import ast
from pathlib import Path

import autograd_playground.core.language as language

PACKAGE = Path(language.__file__).parent


def chain() -> list[str]:
    line = next(row for row in (language.__doc__ or "").splitlines() if "<-" in row)
    return [name.strip() for name in line.split("<-")]


def siblings(module: str) -> set[str]:
    """The modules of the package that ``module`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse((PACKAGE / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def backward(order: list[str]) -> list[tuple[str, str]]:
    """Each (module, what it imports) where the import is not of a module to its left."""
    return [
        (module, imported)
        for i, module in enumerate(order)
        for imported in sorted(siblings(module))
        if imported not in order[:i]
    ]


def test_the_line_names_every_module_once():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert sorted(chain()) == modules


def test_each_module_imports_only_modules_to_its_left():
    assert backward(chain()) == []


def test_an_import_to_the_right_is_found():
    order = chain()
    i, j = order.index("program"), order.index("expr")
    order[i], order[j] = order[j], order[i]
    assert ("expr", "program") in backward(order)
