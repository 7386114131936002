"""The wheel a notebook installs: the package autograd_playground with its data, and
the server only as an extra.

Built as `make wheel` builds it (pip wheel from the installed setuptools, no
network), from a copy of what the wheel is made of, so that the checkout gains
no build/ or egg-info.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    (built,) = out.glob("autograd_playground-*.whl")
    return zipfile.ZipFile(built)


def test_it_holds_autograd_playground_only(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"autograd_playground", "autograd_playground-0.1.0.dist-info"}
    top_level = next(n for n in names if n.endswith("top_level.txt"))
    assert wheel.read(top_level).decode().split() == ["autograd_playground"]
    assert "autograd_playground/notebook/show.py" in names
    assert not any(n.startswith("app/") for n in names)


def test_it_carries_the_outputs_package_data(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    data = {
        "autograd_playground/notebook/templates/output.html",
        "autograd_playground/core/teach/templates/notes.html",
        "autograd_playground/notebook/assets/output.js",
        "autograd_playground/notebook/assets/output.css",
        "autograd_playground/notebook/locale/de.po",
        "autograd_playground/web/locale/de/LC_MESSAGES/messages.po",
    }
    assert data <= names, data - names
    # Every file the output reads from beside its modules is in the wheel.
    shipped = {
        "autograd_playground/notebook/" + str(p.relative_to(ROOT / "app" / "notebook"))
        for p in (ROOT / "app" / "notebook").rglob("*")
        if p.is_file() and p.suffix in {".html", ".js", ".css", ".po"}
    }
    assert shipped <= names, shipped - names


def test_its_metadata_puts_the_server_under_the_extra(wheel: zipfile.ZipFile) -> None:
    metadata_file = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(wheel.read(metadata_file).decode())
    requires = metadata.get_all("Requires-Dist")
    base = {r.split("==")[0].lower() for r in requires if ";" not in r}
    server = {r.split("==")[0].lower() for r in requires if 'extra == "server"' in r}
    assert "server" in metadata.get_all("Provides-Extra")
    for name in ("fastapi", "starlette", "uvicorn", "pydantic-settings", "redis", "httpx", "joserfc"):
        assert name in server and name not in base, name
    assert {"torch", "torchviz", "sympy", "jinja2", "markupsafe", "babel"} <= base
    with open(ROOT / "pyproject.toml", "rb") as f:
        pins = tomllib.load(f)["project"]["dependencies"]
    assert sorted(r.split(";")[0].strip().lower() for r in requires if ";" not in r) == sorted(
        p.lower() for p in pins)
