"""The house's checks, run in `make test`: ruff, mypy on the core, and the size of code.

Each check runs on the real tree, and on a copy with one planted violation, to
show that it can fail.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


# --- the size of code ----------------------------------------------------------

# A JS function starts on a line that declares one (function f(...) {, a method
# f(...) {, or an arrow => {) and ends at its matching brace.
_JS_START = re.compile(
    r"\bfunction\b[^{]*\{\s*$|=>\s*\{\s*$|^\s*(?:async\s+)?(?!if\b|for\b|while\b|switch\b|catch\b)\w+\s*\([^)]*\)\s*\{\s*$"
)
_JS_NOISE = re.compile(r"//.*$|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`\\]|\\.)*`")


def python_functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text())
    return [
        (f"{path}:{node.lineno} {node.name}", (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def js_functions(path: Path) -> list[tuple[str, int]]:
    lines = [_JS_NOISE.sub("", line) for line in path.read_text().splitlines()]
    found = []
    for start, line in enumerate(lines):
        if not _JS_START.search(line):
            continue
        depth = 0
        for end in range(start, len(lines)):
            depth += lines[end].count("{") - lines[end].count("}")
            if depth <= 0:
                break
        found.append((f"{path}:{start + 1}", end - start + 1))
    return found


def measured(root: Path) -> list[Path]:
    """The files the size rule covers: app's Python and the assets shipped inside app
    (the notebook output's script and style), the page's scripts and its style sheets."""
    app = root / "app"
    return [
        *sorted(app.rglob("*.py")), *sorted(app.rglob("*.js")), *sorted(app.rglob("*.css")),
        *sorted((root / "static" / "app").rglob("*.js")), *sorted((root / "static" / "css").glob("*.css")),
    ]


def oversized(root: Path) -> list[str]:
    """Every module past MAX_MODULE_LINES and function past MAX_FUNCTION_LINES."""
    problems = []
    for path in measured(root):
        lines = len(path.read_text().splitlines())
        if lines > MAX_MODULE_LINES:
            problems.append(f"{path.relative_to(root)}: {lines} lines")
        if path.suffix == ".css":
            continue
        functions = python_functions(path) if path.suffix == ".py" else js_functions(path)
        problems += [f"{where}: a function of {n} lines" for where, n in functions if n > MAX_FUNCTION_LINES]
    return problems


def test_no_module_or_function_is_too_long() -> None:
    assert oversized(ROOT) == []


def test_the_size_check_finds_a_long_module_and_long_functions(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "static" / "app").mkdir(parents=True)
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "app" / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (tmp_path / "app" / "short.py").write_text(f"def f():\n{body}\n\ndef g():\n    return 1\n")
    js_body = "".join(f"  const a{i} = {{ b: '}}' }};\n" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "static" / "app" / "a.js").write_text(
        f"export function f() {{\n{js_body}}}\n\nconst g = () => {{\n  return 1;\n}};\n"
    )
    (tmp_path / "static" / "css").mkdir()
    (tmp_path / "static" / "css" / "long.css").write_text("a { color: red; }\n" * (MAX_MODULE_LINES + 1))
    assets = tmp_path / "app" / "notebook" / "assets"
    assets.mkdir(parents=True)
    (assets / "output.js").write_text(f"function f() {{\n{js_body}}}\n")
    (assets / "output.css").write_text("a { color: red; }\n" * (MAX_MODULE_LINES + 1))
    problems = oversized(tmp_path)

    assert len(problems) == 6, problems
    assert "app/notebook/assets/output.css: 401 lines" in problems
    assert any("assets/output.js:1: a function of 82 lines" in p for p in problems)
    assert "static/css/long.css: 401 lines" in problems
    assert "app/long.py: 401 lines" in problems
    assert any("short.py:1 f: a function of 81 lines" in p for p in problems)
    assert any("a.js:1: a function of 82 lines" in p for p in problems)


# --- ruff ------------------------------------------------------------------------

def ruff(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), "."],
        cwd=root, capture_output=True, text=True, timeout=120,
    )


def test_ruff_finds_nothing() -> None:
    done = ruff(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_finds_a_planted_unused_import(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    planted = tmp_path / "app" / "core" / "result.py"
    planted.write_text("import os\n" + planted.read_text())
    done = ruff(tmp_path)
    assert done.returncode != 0
    assert "F401" in done.stdout and "result.py" in done.stdout


# --- mypy on the core --------------------------------------------------------------

@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the real tree and the planted copy: torch's types are read once."""
    return tmp_path_factory.mktemp("mypy-cache")


def mypy(root: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mypy"), "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(cache),
         "app/core"],
        cwd=root, capture_output=True, text=True, timeout=600,
    )


def test_mypy_finds_nothing_in_the_core(mypy_cache: Path) -> None:
    done = mypy(ROOT, mypy_cache)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_a_planted_type_error(tmp_path: Path, mypy_cache: Path) -> None:
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    planted = tmp_path / "app" / "core" / "result.py"
    planted.write_text(planted.read_text() + '\n\nPLANTED: int = "not a number"\n')
    done = mypy(tmp_path, mypy_cache)
    assert done.returncode != 0
    assert "result.py" in done.stdout and "PLANTED" not in done.stderr


# --- dependencies ------------------------------------------------------------------

# Declared but never imported by name, each for a reason pyproject.toml gives:
# uvicorn serves the app (make run, the image), httptools and uvloop speed it up.
RUN_TIME_ONLY = {"setuptools", "uvicorn", "httptools", "uvloop"}


def declared(group: str | None = None) -> set[str]:
    with open(ROOT / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)["project"]
    specs = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {re.split(r"[=<>~! \[]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in specs}


def imported_distributions(*folders: str) -> set[str]:
    """The distributions that provide the top-level modules the ``folders`` import."""
    modules = set()
    for path in (p for folder in folders for p in (ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    providers = metadata.packages_distributions()
    return {
        name.lower().replace("_", "-")
        for module in modules - set(sys.stdlib_module_names)
        for name in providers.get(module, [])
        if name.lower() != "autograd-playground"
    }


# What a notebook installs (the base) is what the core and the notebook import; the
# server's packages are the extra "server". The page's i18n reads the same catalogue
# format as the notebook (babel), so babel is in the base.
WITHOUT_THE_SERVER = ("app/core", "app/notebook")


def test_the_app_declares_what_it_imports_and_nothing_else() -> None:
    imported = imported_distributions("app")
    everything = declared() | declared("server")
    assert imported - everything == set(), "imported by app/ but not declared"
    assert everything - imported - RUN_TIME_ONLY == set(), "declared but not imported by app/"


def test_the_base_is_what_the_core_and_the_notebook_import() -> None:
    imported = imported_distributions(*WITHOUT_THE_SERVER)
    assert imported - declared() == set(), "imported without the server, but only in an extra"
    assert declared() - imported - RUN_TIME_ONLY == set(), "in the base, but only the server imports it"


def test_the_tests_declare_what_they_import() -> None:
    needed = imported_distributions("tests", "bench") - declared() - declared("server") - declared("test")
    assert needed == set(), "imported by tests/ or bench/ but not declared"


def test_no_test_calls_asyncio_run_in_the_main_thread() -> None:
    # The browser tests leave Playwright's loop running in the main thread, so a later
    # asyncio.run() there fails only in the whole suite: tests use conftest.run_on_own_loop.
    def calls_asyncio_run(node: ast.AST) -> bool:
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "run" and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "asyncio")

    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        if path.name != "conftest.py" and any(map(calls_asyncio_run, ast.walk(ast.parse(path.read_text()))))
    ]
    assert offenders == []
