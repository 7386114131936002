"""The README and docs/ point at things that exist: files, headings, paths and folders."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A repository path written in backticks: `app/serve/pool.py`, `tests/e2e/`.
REPO_PATH = re.compile(r"`((?:app|tests|bench|deploy|scripts|static|templates|docs)/[\w./-]*)`")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, no punctuation, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def test_slug_is_githubs():
    assert slug("`POST /api/train`") == "post-apitrain"
    assert slug("Errors, health and caching") == "errors-health-and-caching"
    assert slug("Without JavaScript, and in German") == "without-javascript-and-in-german"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_exists(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not ours to check
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(target)
    assert not broken, f"{page.name} links to what does not exist: {broken}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_repository_path_named_exists(page):
    named = set(REPO_PATH.findall(page.read_text()))
    missing = sorted(p for p in named if not (ROOT / p).exists() and "vendor" not in p)
    assert not missing, f"{page.name} names paths that do not exist: {missing}"


def layout_tree() -> dict[str, str]:
    """The README's layout: each path in its tree, from the indentation -> its line."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## The layout", 1)[1].split("```", 2)[1]
    paths, parents = {}, []
    for line in block.splitlines()[1:]:
        name = line.strip().split(" ", 1)[0]
        if not name:
            continue
        depth = (len(line) - len(line.lstrip())) // 2
        parents[depth:] = [name]
        paths["".join(parents)] = line
    return paths


def test_every_path_in_the_layout_exists():
    missing = [line for path, line in layout_tree().items() if not (ROOT / path).exists()]
    assert not missing, f"the README's layout names what is not there: {missing}"


def test_the_layout_names_every_package_of_the_app():
    packages = {str(p.parent.relative_to(ROOT)) + "/" for p in (ROOT / "app").rglob("__init__.py")}
    missing = sorted(packages - set(layout_tree()))
    assert not missing, f"packages missing from the README's layout: {missing}"
