"""The executed notebook exported as `jupyter nbconvert --to html` does, opened in Chromium
with the network off: the outputs step on their own, without a kernel.

nbconvert's lab page itself loads require.js and MathJax from a CDN; the export
here leaves those two script tags out (a template that extends nbconvert's), so
that any request at all would be the output's, and none may be attempted. The
plain `jupyter nbconvert --to html` export is opened too: there the only failed
requests and console errors are nbconvert's own two CDN scripts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter
from playwright.sync_api import Browser, Page, Playwright, expect

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
SHOTS = Path("/tmp/shots/n2")
OFFLINE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
"""


def export(nb, folder: Path, theme: str) -> Path:
    """The notebook as `jupyter nbconvert --to html --HTMLExporter.theme=<theme>` writes it."""
    (folder / "offline.html.j2").write_text(OFFLINE)
    exporter = HTMLExporter(template_name="lab", template_file=str(folder / "offline.html.j2"), theme=theme)
    body, _ = exporter.from_notebook_node(nb)
    page = folder / f"lesson-{theme}.html"
    page.write_text(body)
    return page


@pytest.fixture(scope="module")
def exported(executed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(executed, tmp_path_factory.mktemp("export"), "light")


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


class Opened:
    def __init__(self, page: Page, attempted: list[str], problems: list[str],
                 errors: list[tuple[str, str]]) -> None:
        self.page, self.attempted, self.problems = page, attempted, problems
        self.errors = errors  # each console error, with the URL it names as its source


def open_offline(browser: Browser, path: Path, *, scheme: str = "light", scripts: bool = True) -> Opened:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme,
                                  java_script_enabled=scripts)
    attempted: list[str] = []
    problems: list[str] = []
    errors: list[tuple[str, str]] = []

    def route(r) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("console", lambda m: errors.append((m.text, m.location.get("url", ""))) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.goto(path.as_uri())
    return Opened(page, attempted, problems, errors)


def output(page: Page, k: int):
    return page.locator('[data-testid="notebook-output"]').nth(k)


def lit_node(out) -> str:
    """The id of the node lit in the output's shown picture, without the output's prefix."""
    prefix = out.get_attribute("data-prefix")
    ids = out.locator('.graph-canvas:not([hidden]) g.node.current').evaluate_all("gs => gs.map(g => g.id)")
    assert len(ids) <= 1, ids
    return ids[0].removeprefix(prefix)[2:] if ids else ""


def test_stepping_follows_the_engine_and_two_outputs_step_apart(browser: Browser, exported: Path) -> None:
    opened = open_offline(browser, exported)
    page = opened.page
    lesson, second = output(page, 0), output(page, 1)
    rows = lesson.locator('[data-testid="step-table"] tr.step').evaluate_all("rs => rs.map(r => r.dataset.node)")
    assert len(rows) == 9
    assert lesson.locator('[data-testid="step-table"]').is_hidden()  # the script made it a stepper
    for k in range(1, 4):
        lesson.locator('[data-testid="step-next"]').click()
        assert lesson.locator('[data-testid="step-counter"]').inner_text() == f"Step {k} of 9"
        assert lit_node(lesson) == rows[k - 1]
        shown = lesson.locator('[data-testid="step-explanation"]')
        assert shown.count() == 1 and shown.get_attribute("data-node") == rows[k - 1]
    lesson.locator('[data-testid="step-prev"]').click()
    assert lit_node(lesson) == rows[1]
    # JupyterLab floats every dt of an output at a fifth of its width; ours stay in their grid.
    term = shown.locator("dt").first
    assert term.evaluate("e => getComputedStyle(e).float") == "none"
    assert term.evaluate("e => e.getBoundingClientRect().height") < 2 * term.evaluate(
        "e => parseFloat(getComputedStyle(e).lineHeight)")
    # The other output has not moved, and steps on its own.
    assert re.fullmatch(r"Step 0 of \d+", second.locator('[data-testid="step-counter"]').inner_text())
    assert lit_node(second) == ""
    second.locator('[data-testid="step-last"]').click()
    assert lesson.locator('[data-testid="step-counter"]').inner_text() == "Step 2 of 9"
    # With values: the other picture, lit at the same node.
    lesson.locator('[data-testid="view-annotated"]').click()
    assert lesson.locator('.graph-canvas[data-view="annotated"]').is_visible()
    assert lit_node(lesson) == rows[1]
    # A click on a node opens its details.
    lesson.locator(f'.graph-canvas[data-view="annotated"] g.node[id$="-{rows[0]}"]').click()
    assert lesson.locator(f'.node-details[data-node="{rows[0]}"]').is_visible()
    assert opened.attempted == [] and opened.problems == []


def test_play_walks_on_by_itself(browser: Browser, exported: Path) -> None:
    opened = open_offline(browser, exported)
    second = output(opened.page, 1)
    second.locator('[data-testid="step-play"]').click()
    assert "Pause" in second.locator('[data-testid="step-play"]').inner_text()
    expect(second.locator('[data-testid="step-counter"]')).to_have_text(re.compile(r"Step 2 of \d+"), timeout=15_000)
    assert output(opened.page, 0).locator('[data-testid="step-counter"]').inner_text() == "Step 0 of 9"
    second.locator('[data-testid="step-play"]').click()
    assert "Play" in second.locator('[data-testid="step-play"]').inner_text()
    assert opened.problems == []


def test_collapsed_modules_light_their_box(browser: Browser, exported: Path) -> None:
    opened = open_offline(browser, exported)
    modules = output(opened.page, 3)
    rows = modules.locator("tr.step").evaluate_all("rs => rs.map(r => r.dataset.node)")
    boxes = json.loads(modules.locator('.graph-canvas[data-view="collapsed"]').get_attribute("data-boxes"))
    modules.locator('[data-testid="lines-collapse-all"]').click()
    assert modules.locator('.graph-canvas[data-view="collapsed"]').is_visible()
    assert modules.locator('.graph-canvas[data-view="torchviz"]').is_hidden()
    k = next(i for i, node in enumerate(rows) if node in boxes) + 1
    for _ in range(k):
        modules.locator('[data-testid="step-next"]').click()
    assert lit_node(modules) == boxes[rows[k - 1]]
    modules.locator('[data-testid="lines-expand-all"]').click()
    assert lit_node(modules) == rows[k - 1]
    SHOTS.mkdir(parents=True, exist_ok=True)
    modules.screenshot(path=str(SHOTS / "modules-expanded.png"))
    assert opened.attempted == [] and opened.problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(browser: Browser, executed, tmp_path: Path, scheme: str) -> None:
    # JupyterLab's theme of the exported page decides, over the system's setting.
    opened = open_offline(browser, export(executed, tmp_path, scheme), scheme=scheme)
    lesson = output(opened.page, 0)
    for _ in range(3):
        lesson.locator('[data-testid="step-next"]').click()
    SHOTS.mkdir(parents=True, exist_ok=True)
    lesson.screenshot(path=str(SHOTS / f"lesson-{scheme}.png"))
    mlp = opened.page.locator('[data-testid="notebook-output"]').nth(2)
    mlp.locator('[data-testid="step-next"]').click()
    mlp.screenshot(path=str(SHOTS / f"mlp-{scheme}.png"))
    background = lesson.evaluate("e => getComputedStyle(e).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (scheme == "light")
    assert opened.attempted == [] and opened.problems == []


def test_without_scripts_the_picture_and_the_step_table_show(browser: Browser, exported: Path) -> None:
    opened = open_offline(browser, exported, scripts=False)
    lesson = output(opened.page, 0)
    picture = lesson.locator('[data-testid="graph"] img')
    assert picture.is_visible()
    assert picture.evaluate("img => img.complete && img.naturalWidth") > 100  # the SVG drew
    table = lesson.locator('[data-testid="step-table"]')
    assert table.is_visible()
    assert table.locator("tr.step").count() == 9
    assert "60 + 8 + 4 = 72" in table.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    lesson.screenshot(path=str(SHOTS / "lesson-no-script.png"))
    assert opened.attempted == []


# What nbconvert's own lab page fetches (nbconvert 7's base template): its scripts, not ours.
NBCONVERT_CDN = [
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe",
]


@pytest.fixture(scope="module")
def exported_plainly(executed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook exported by the command a user runs: `jupyter nbconvert --to html`."""
    folder = tmp_path_factory.mktemp("plain")
    notebook = folder / "lesson.ipynb"
    nbformat.write(executed, notebook)
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", str(notebook)],
                   check=True, capture_output=True, timeout=120)
    return folder / "lesson.html"


def test_the_plain_export_steps_and_only_nbconverts_cdn_fails(browser: Browser, exported_plainly: Path) -> None:
    opened = open_offline(browser, exported_plainly)
    lesson, second = output(opened.page, 0), output(opened.page, 1)
    rows = lesson.locator('[data-testid="step-table"] tr.step').evaluate_all("rs => rs.map(r => r.dataset.node)")
    for k in range(1, 3):
        lesson.locator('[data-testid="step-next"]').click()
        assert lesson.locator('[data-testid="step-counter"]').inner_text() == f"Step {k} of 9"
        assert lit_node(lesson) == rows[k - 1]
    second.locator('[data-testid="step-next"]').click()
    assert re.fullmatch(r"Step 1 of \d+", second.locator('[data-testid="step-counter"]').inner_text())
    assert lesson.locator('[data-testid="step-counter"]').inner_text() == "Step 2 of 9"
    assert lit_node(lesson) == rows[1] and lit_node(second) != ""
    # Every request but the page's own file was aborted: only nbconvert's two scripts were
    # asked for, and the console's only errors are their failed loads.
    assert sorted(opened.attempted) == sorted(NBCONVERT_CDN)
    assert sorted(opened.errors) == [("Failed to load resource: net::ERR_FAILED", url)
                                     for url in sorted(NBCONVERT_CDN)]
    assert opened.problems == ["error: Failed to load resource: net::ERR_FAILED"] * 2
