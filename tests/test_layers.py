"""The layering contract: parse -> trace -> render -> serve -> web, never backwards.

The contracts live in pyproject.toml ([tool.importlinter]); these tests run
them on the real tree, and on a copy with one wrong import added, to show that
the check can fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    # --no-cache: the copy and the real tree must not share a cached import graph.
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_keeps_every_contract():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_folders_are_the_layers():
    packages = sorted(p.name for p in (ROOT / "app").iterdir() if (p / "__init__.py").exists())
    assert packages == ["core", "notebook", "serve", "web"]
    # No module left beside the packages, where a reader could not tell its layer.
    assert sorted(p.name for p in (ROOT / "app").glob("*.py")) == ["__init__.py"]
    stages = sorted(p.name for p in (ROOT / "app" / "core").iterdir() if (p / "__init__.py").exists())
    assert stages == ["draw", "language", "teach", "trace"]
    assert sorted(p.name for p in (ROOT / "app" / "core").glob("*.py")) == ["__init__.py", "pipeline.py", "result.py"]


def test_every_folder_is_installed_as_autograd_playground():
    with open(ROOT / "pyproject.toml", "rb") as file:
        setuptools = tomllib.load(file)["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"autograd_playground": "app"}
    folders = {
        ".".join(("autograd_playground", *p.parent.relative_to(ROOT / "app").parts))
        for p in (ROOT / "app").rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == folders


def test_nothing_imports_the_folder_by_its_name():
    # The package is autograd_playground wherever it is imported; a module that
    # imported `app` would load a second copy of everything beside it.
    wrong = re.compile(r"^\s*(from|import) app\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("app", "tests", "bench", "scripts")
        for path in (ROOT / folder).rglob("*.py")
        if wrong.search(path.read_text())
    ]
    assert offenders == []


@pytest.fixture
def copy_of_tree(tmp_path: Path) -> Path:
    # Under the name it is imported by, so that the copy comes before the installed tree.
    shutil.copytree(ROOT / "app", tmp_path / "autograd_playground", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/language/values.py", "import fastapi", "the core speaks no HTTP"),
        ("core/language/expr.py", "from jinja2 import Environment", "the core speaks no HTTP"),
        ("core/draw/render.py", "from markupsafe import Markup", "the core speaks no HTTP"),
        ("core/draw/render.py", "from autograd_playground.serve import settings", "nothing lower imports anything higher"),
        ("core/language/tree.py", "from ..trace import graph", "the core by stage"),
        ("core/trace/local.py", "from ..draw import render", "the core by stage"),
        ("core/draw/render.py", "from ..teach import code", "the core by stage"),
        ("core/result.py", "from .language import rules", "the core by stage"),
        ("serve/cache.py", "from autograd_playground.web import page", "nothing lower imports anything higher"),
        ("serve/engine.py", "import starlette.responses", "serving runs the core"),
    ],
)
def test_a_wrong_import_breaks_the_contract(copy_of_tree: Path, module: str, line: str, contract: str):
    path = copy_of_tree / "autograd_playground" / module
    path.write_text(path.read_text() + f"\n{line}  # the wrong import\n")
    done = lint(copy_of_tree)
    assert done.returncode != 0
    broken = [row for row in done.stdout.splitlines() if row.endswith(" BROKEN")]
    # (A forbidden package in the core reaches serving through it, and breaks its contract too.)
    assert any(contract in row for row in broken), done.stdout
