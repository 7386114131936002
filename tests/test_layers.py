"""The layering contract: parse -> trace -> render -> serve -> web, never backwards.

The contracts live in pyproject.toml ([tool.importlinter]); these tests run
them on the real tree, and on a copy with one wrong import added, to show that
the check can fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
    assert packages == ["core", "serve", "web"]
    # No module left beside the packages, where a reader could not tell its layer.
    assert sorted(p.name for p in (ROOT / "app").glob("*.py")) == ["__init__.py"]


@pytest.fixture
def copy_of_tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/values.py", "import fastapi", "the core speaks no HTTP"),
        ("core/expr.py", "from jinja2 import Environment", "the core speaks no HTTP"),
        ("core/render.py", "from app.serve import settings", "nothing lower imports anything higher"),
        ("serve/cache.py", "from app.web import page", "nothing lower imports anything higher"),
        ("serve/engine.py", "import starlette.responses", "serving runs the core"),
    ],
)
def test_a_wrong_import_breaks_the_contract(copy_of_tree: Path, module: str, line: str, contract: str):
    path = copy_of_tree / "app" / module
    path.write_text(path.read_text() + f"\n{line}  # the wrong import\n")
    done = lint(copy_of_tree)
    assert done.returncode != 0
    broken = [row for row in done.stdout.splitlines() if row.endswith(" BROKEN")]
    # (A forbidden package in the core reaches serving through it, and breaks its contract too.)
    assert any(contract in row for row in broken), done.stdout
