"""The embed in the frames course pages give it, from a phone's column to a wide page.

Below 480 px the graph and the step stack; from 480 px they stand side by side under the
output band. At every size nothing of the frame is cut off: the zoom buttons and the view
switch stay inside the graph's pane, the step buttons inside the step's pane on one row,
and the frame never scrolls sideways. From 700 px the graph's pane is promised 40 % of
the frame's width; the test asks for 45 %.

Each frame is the share panel's snippet (read-only, code and examples hidden) of the
lesson's function, at step 4 of 9, in a course page on another origin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Frame, Page, expect

from .conftest import Problems
from .test_embed import assert_no_problems, embed_query, static_site, wait_until_resized

pytestmark = pytest.mark.e2e

WIDTHS = (375, 480, 700, 960, 1240, 1400)
HEIGHTS = (450, 600)
SIDE_BY_SIDE_FROM = 480
GRAPH_SHARE = 0.45  # of the frame's width from 700 px; the promise is 40 %
INSIDE_PX = 2  # a control keeps this far inside its pane's border
SAME_ROW_PX = 2

# The course page builds its one frame from its own address: ?src=...&width=...&height=...,
# with &sandbox=... a sandbox of its own, and with &host=<script> the resize script as the
# snippet loads it.
FRAME_PAGE = """<script>
const asked = new URLSearchParams(location.search);
const frame = document.createElement("iframe");
frame.src = asked.get("src");
frame.width = asked.get("width");
frame.height = asked.get("height");
frame.title = "Autograd Playground";
frame.style.border = "0";
if (asked.has("sandbox")) frame.setAttribute("sandbox", asked.get("sandbox"));
document.body.prepend(frame);
if (asked.get("host")) {
  const script = document.createElement("script");
  script.src = asked.get("host");
  document.body.append(script);
}
</script>"""

MEASURE = """(html) => {
  const box = (el, name) => {
    const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width,
            name: name || el.dataset.testid || el.getAttribute("aria-label") || el.textContent.trim()};
  };
  const one = (selector) => {
    const el = document.querySelector(selector);
    return el ? box(el, selector) : null;
  };
  const shown = (selector) => [...document.querySelectorAll(selector)]
    .filter((el) => el.getClientRects().length > 0).map((el) => box(el));
  return {
    clientWidth: html.clientWidth, scrollWidth: html.scrollWidth,
    output: one(".output"), graph: one(".graph-panel"), step: one("#stepper"),
    zoom: shown(".graph-panel .zoom-controls button"),
    switch: one(".graph-panel .view-switch"),
    views: shown(".graph-panel .view-switch a"),
    buttons: shown("#stepper .step-controls > :is(a, button)"),
  };
}"""


@pytest.fixture(scope="module")
def course_page() -> Iterator[str]:
    """A course page on another origin than the app, framing what its address asks for."""
    with static_site(FRAME_PAGE) as url:
        yield url


@pytest.fixture
def open_frame(
    new_page: Callable[..., Page], course_page: str, base_url: str
) -> Callable[..., tuple[Page, Frame]]:
    """``open_frame(width, height, lang="en", host=False, sandbox=None, **params)``: the
    lesson's function at /embed in a frame of that size; with ``host``, the resize script
    too; with ``sandbox``, that sandbox on the frame."""

    def open_(width: int, height: int, *, lang: str = "en", host: bool = False,
              sandbox: str | None = None, **params: str) -> tuple[Page, Frame]:
        page = new_page(locale="de-DE" if lang == "de" else "en-US",
                        viewport={"width": max(width + 80, 800), "height": 900})
        asked = {"src": f"{base_url}/embed?{embed_query(lang=lang, **params)}",
                 "width": str(width), "height": str(height)}
        if host:
            asked["host"] = f"{base_url}/static/embed-host.js"
        if sandbox is not None:
            asked["sandbox"] = sandbox
        page.goto(f"{course_page}?{urlencode(asked)}")
        handle = page.locator("iframe").element_handle()
        frame = handle.content_frame() if handle else None
        assert frame is not None
        frame.wait_for_selector("#graph svg")
        if host:
            wait_until_resized(page, "iframe")
        settle(frame)
        return page, frame

    return open_


def settle(frame: Frame) -> None:
    """Wait until embed.js has fitted the stage: its measure holds over two animation frames
    (the resize observer that answers a layout change runs before the next frame)."""
    frame.wait_for_function(
        """() => {
          const above = document.documentElement.style.getPropertyValue("--above-stage");
          const held = above !== "" && above === window.__aboveSeen;
          window.__aboveSeen = above;
          return held;
        }""",
        polling="raf",
    )


def inside(inner: dict, outer: dict, margin: float = INSIDE_PX) -> bool:
    return (inner["left"] >= outer["left"] + margin and inner["right"] <= outer["right"] - margin
            and inner["top"] >= outer["top"] + margin
            and inner["bottom"] <= outer["bottom"] - margin)


def overlap(a: dict, b: dict) -> bool:
    return (a["left"] < b["right"] and b["left"] < a["right"]
            and a["top"] < b["bottom"] and b["top"] < a["bottom"])


def edges(box: dict) -> str:
    return f"{box['name']!r} x {box['left']:.0f}-{box['right']:.0f} y {box['top']:.0f}-{box['bottom']:.0f}"


def faults(m: dict, width: int) -> list[str]:
    """What is cut off, squeezed or out of place in a frame's measures, in words."""
    found: list[str] = []
    graph, step = m["graph"], m["step"]
    if m["scrollWidth"] > m["clientWidth"]:
        found.append(f"scrolls sideways: {m['scrollWidth']} > {m['clientWidth']}")
    if len(m["zoom"]) < 3 or len(m["views"]) != 2 or len(m["buttons"]) != 5:
        found.append(f"controls missing: {len(m['zoom'])} zoom, {len(m['views'])} views, "
                     f"{len(m['buttons'])} step buttons")
    for box in [*m["zoom"], *m["views"]]:
        if not inside(box, graph):
            found.append(f"{edges(box)} outside the graph pane {edges(graph)}")
    for box in m["zoom"]:
        if m["switch"] and overlap(box, m["switch"]):
            found.append(f"{edges(box)} covers the view switch {edges(m['switch'])}")
    for box in m["buttons"]:
        if not inside(box, step):
            found.append(f"{edges(box)} outside the step pane {edges(step)}")
    tops = [b["top"] for b in m["buttons"]]
    if tops and max(tops) - min(tops) > SAME_ROW_PX:
        found.append(f"step buttons on more than one row: tops {sorted(set(round(t) for t in tops))}")
    if width < SIDE_BY_SIDE_FROM:
        if graph["bottom"] > step["top"]:
            found.append(f"not stacked: graph {edges(graph)}, step {edges(step)}")
        return found
    if graph["right"] > step["left"] or abs(graph["top"] - step["top"]) > SAME_ROW_PX:
        found.append(f"not side by side: graph {edges(graph)}, step {edges(step)}")
    if m["output"]["bottom"] > min(graph["top"], step["top"]):
        found.append(f"the output {edges(m['output'])} is not a band above the panes")
    if width >= 700 and graph["width"] < GRAPH_SHARE * width:
        found.append(f"graph pane {graph['width']:.0f} px < {GRAPH_SHARE:.0%} of {width}")
    return found


def check_frame(frame: Frame, width: int) -> None:
    """Everything the issue found cut off or squeezed, measured in one frame."""
    found = faults(frame.locator("html").evaluate(MEASURE), width)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("height", HEIGHTS)
@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_of_the_frame_is_cut_off(
    open_frame: Callable[..., tuple[Page, Frame]], width: int, height: int, problems: Problems
):
    page, frame = open_frame(width, height, readonly="1", hide="code,examples", step="4")
    expect(page.frame_locator("iframe").get_by_test_id("step-counter")).to_have_text(
        "Step 4 of 9")
    check_frame(frame, width)
    assert_no_problems(problems)


@pytest.mark.parametrize("width", (480, 700, 960))
def test_the_german_frame_keeps_its_buttons_in_their_panes(
    open_frame: Callable[..., tuple[Page, Frame]], width: int, problems: Problems
):
    """German names are longer: "Weiter", "mit Werten", "Ganzer Graph"."""
    page, frame = open_frame(width, 450, lang="de", readonly="1", hide="code,examples",
                             step="4")
    expect(page.frame_locator("iframe").get_by_test_id("step-counter")).to_have_text(
        "Schritt 4 von 9")
    check_frame(frame, width)
    assert_no_problems(problems)


@pytest.mark.parametrize("width", (700, 960))
def test_an_editable_frame_keeps_the_same_layout(
    open_frame: Callable[..., tuple[Page, Frame]], width: int, problems: Problems
):
    """No read-only: Examples and Compute in the frame too."""
    page, frame = open_frame(width, 450, step="4")
    expect(page.frame_locator("iframe").get_by_test_id("compute")).to_be_visible()
    check_frame(frame, width)
    assert_no_problems(problems)


@pytest.mark.parametrize("width", (700, 1240))
def test_a_frame_sized_by_the_host_script_keeps_the_layout(
    open_frame: Callable[..., tuple[Page, Frame]], width: int, problems: Problems
):
    page, frame = open_frame(width, 450, host=True, readonly="1", hide="code,examples",
                             step="4")
    check_frame(frame, width)
    assert_no_problems(problems)


def test_a_german_frame_the_host_script_made_taller_keeps_its_buttons_on_one_row(
    open_frame: Callable[..., tuple[Page, Frame]], problems: Problems
):
    """The snippet as copied, in German: the script makes the frame taller than 480 px of
    step pane, so the buttons' names no longer hide by the pane's height; its width
    (about 330 px) must hide them too, or "Abspielen ⇤ Zurück Weiter ⇥" takes two rows."""
    page, frame = open_frame(700, 450, host=True, lang="de", step="2")
    expect(page.frame_locator("iframe").get_by_test_id("step-counter")).to_have_text(
        "Schritt 2 von 9")
    check_frame(frame, 700)
    assert_no_problems(problems)


@pytest.mark.parametrize("width", (480, 560))
def test_a_narrow_frame_side_by_side_asks_for_the_side_by_side_height(
    open_frame: Callable[..., tuple[Page, Frame]], width: int, problems: Problems
):
    """The resize script gives the stage the height a frame asks for: 400 px for graph and
    step side by side (from 480 px), 560 px stacked. The test allows 440."""
    page, frame = open_frame(width, 450, host=True, readonly="1", hide="code,examples")
    stage = frame.locator("#stage").evaluate("(s) => s.getBoundingClientRect().height")
    assert stage <= 440, stage
    found = faults(frame.locator("html").evaluate(MEASURE), width)
    assert not found, "\n".join(found)
    assert_no_problems(problems)


# The current node, the nodes it sends to (pan-zoom.js's boxesToShow) and every node, each
# as a box; and the zoom buttons' boxes.
GRAPH_BOXES = """(html) => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom,
            name: el.querySelector("text") ? el.querySelector("text").textContent
              : el.getAttribute("aria-label") || el.textContent.trim()};
  };
  const graph = document.querySelector("#graph");
  const current = graph.querySelector("g.node.current");
  const inputs = new Set([...graph.querySelectorAll("g.edge title")]
    .map((t) => t.textContent.split("->").map((s) => s.trim()))
    .filter(([, head]) => current && head === current.id).map(([tail]) => tail));
  const nodes = [...graph.querySelectorAll("g.node")];
  const buttons = [...document.querySelectorAll(".graph-panel .zoom-controls button")]
    .filter((b) => b.getClientRects().length > 0);
  return {pane: {...box(graph), name: "the graph"}, buttons: buttons.map(box),
          current: current ? [box(current)] : [], inputs: nodes.filter((g) => inputs.has(g.id)).map(box),
          all: nodes.map(box)};
}"""


def under_buttons(m: dict, nodes: list[dict]) -> list[str]:
    return [f"{edges(node)} under {edges(button)}"
            for node in nodes for button in m["buttons"] if overlap(node, button)]


def cut_off(m: dict, nodes: list[dict]) -> list[str]:
    return [f"{edges(node)} outside {edges(m['pane'])}" for node in nodes
            if not inside(node, m["pane"], 0)]


@pytest.mark.parametrize("width", (375, 700, 960))
def test_the_zoom_buttons_cover_neither_the_step_nor_the_whole_graph(
    open_frame: Callable[..., tuple[Page, Frame]], width: int, problems: Problems
):
    """In a frame the zoom buttons float over the graph's foot. Following the steps, each
    step's node is in the pane clear of them, and so are the nodes it sends to where the
    pane has room for them too (else they lie outside it, never half under a button). The
    whole graph shows every node clear of them."""
    page, frame = open_frame(width, 450, readonly="1", hide="code,examples", step="1")
    steps = page.frame_locator("iframe")
    for step in range(1, 10):
        expect(steps.get_by_test_id("step-counter")).to_have_text(f"Step {step} of 9")
        m = frame.locator("html").evaluate(GRAPH_BOXES)
        assert m["current"], f"step {step}: no current node"
        found = cut_off(m, m["current"]) + under_buttons(m, m["current"] + m["inputs"])
        assert not found, f"step {step}: " + "\n".join(found)
        if step < 9:
            steps.get_by_test_id("step-next").click()
    overview = steps.get_by_test_id("zoom-overview")
    if overview.get_attribute("data-showing") == "whole":  # following: show the whole graph
        overview.click()
    expect(overview).to_have_attribute("data-showing", "follow")
    m = frame.locator("html").evaluate(GRAPH_BOXES)
    found = cut_off(m, m["all"]) + under_buttons(m, m["all"])
    assert not found, "whole graph: " + "\n".join(found)
    assert_no_problems(problems)
