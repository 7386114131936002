"""Embedding in a real browser: a course page on another origin frames the playground.

The frame shows the lesson's function 5*x**3 + 2*x**2 + 4*x + 8 at x = 2:
x.grad = 15*x**2 + 4*x + 4 = 60 + 8 + 4 = 72, in 9 backward steps.

Origins differ by port: the app (the session server) on one, a course page on
another. The course page is this test's own static file, so it may record
what the frames post to it with an inline script; the app's pages never do.
"""

from __future__ import annotations

import functools
import http.server
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import FrameLocator, Page, expect

from .conftest import LESSON, Problems, changes_within_frames, serve

pytestmark = pytest.mark.e2e

STEPS = 9
HEIGHT_MESSAGE = "autograd-playground:height"
MAX_FRAME_HEIGHT = 4000  # embed-host.js never sets more

# The course page's own recorder: every message a frame posts, with its origin.
RECORDER = """
window.__heights = [];
window.addEventListener("message", (event) => {
  const data = event.data || {};
  window.__heights.push({origin: event.origin, type: data.type, height: data.height,
                         kind: typeof data.height});
});
"""


def embed_query(**params: str) -> str:
    return urlencode({"expr": LESSON, "x": "2", **params}, quote_via=quote)


def teacher_snippet(base_url: str, **options: str) -> str:
    """The snippet the share panel offers for the lesson's function, as pasted."""
    response = httpx.get(f"{base_url}/share", params={
        "state": embed_query(), "options": "1", **options})
    response.raise_for_status()
    area = BeautifulSoup(response.text, "html.parser").select_one("[data-testid=share-snippet]")
    return area.text


# --- servers --------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def static_site(body: str) -> Iterator[str]:
    """A static course page with ``body``, served on another port (another origin)."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "course.html").write_text(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Week 3: gradients</title><link rel=\"icon\" href=\"data:,\">"
            f"<script>{RECORDER}</script></head>\n"
            f"<body><h1>Week 3: gradients</h1>\n{body}\n<p>After the frame.</p></body></html>\n",
            encoding="utf-8",
        )
        handler = functools.partial(_QuietHandler, directory=folder)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/course.html"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


@pytest.fixture(scope="module")
def course_site(base_url: str) -> Iterator[str]:
    """The teacher's snippet pasted in: a read-only frame of the lesson's function."""
    with static_site(teacher_snippet(base_url, readonly="1", hide="code,examples")) as url:
        yield url


@pytest.fixture(scope="module")
def frame_without_host(base_url: str) -> Iterator[str]:
    """The snippet's frame alone: its height reports go to a page with no host script yet."""
    snippet = teacher_snippet(base_url, readonly="1", hide="code,examples")
    with static_site(re.sub(r"<script[^>]*embed-host\.js[^>]*></script>", "", snippet)) as url:
        yield url


@pytest.fixture(scope="module")
def lesson_url(base_url: str) -> Iterator[str]:
    """A second app server whose /lesson loads its frames from the session server."""
    with serve(PLAYGROUND_LESSON_EMBED_ORIGIN=base_url) as url:
        yield f"{url}/lesson"


# --- helpers ----------------------------------------------------------------------------


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def step_frame_to(frame: FrameLocator, k: int, template: str = "Step {k} of {n}") -> None:
    counter = frame.get_by_test_id("step-counter")
    for i in range(1, k + 1):
        frame.get_by_test_id("step-next").click()
        expect(counter).to_have_text(template.format(k=i, n=STEPS))
        expect(frame.locator("#graph g.node.current")).to_have_count(1)


def wait_until_resized(page: Page, selector: str) -> dict:
    """Wait until embed-host.js has set the frame's height from a report; return both."""
    page.wait_for_function(
        """(selector) => {
          const frame = document.querySelector(selector);
          const reported = Number(frame && frame.dataset.reportedHeight);
          return reported > 0 && Math.abs(frame.clientHeight - Math.min(reported, 4000)) <= 2;
        }""",
        arg=selector,
    )
    return page.evaluate(
        """(selector) => {
          const frame = document.querySelector(selector);
          return {reported: Number(frame.dataset.reportedHeight), client: frame.clientHeight,
                  style: frame.style.height};
        }""",
        selector,
    )


def assert_no_problems(problems: Problems) -> None:
    assert problems.console == [], problems.console
    assert problems.exceptions == [], problems.exceptions
    assert problems.csp_violations() == []


# --- a course page on another origin ------------------------------------------------------


def test_a_course_page_on_another_origin_shows_a_working_read_only_frame(
    page: Page, base_url: str, course_site: str, problems: Problems
):
    assert origin(course_site) != origin(base_url)
    page.goto(course_site)
    iframe = page.locator("iframe")
    assert urlsplit(iframe.get_attribute("src")).netloc == urlsplit(base_url).netloc
    frame = page.frame_locator("iframe")

    expect(frame.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    # Really cross-origin: the course page cannot reach into the frame's document.
    assert page.evaluate(
        "() => { try { return document.querySelector('iframe').contentDocument === null; }"
        " catch (e) { return true; } }"
    )

    counter = frame.get_by_test_id("step-counter")
    expect(counter).to_have_text(f"Step 0 of {STEPS}")
    expect(frame.locator("#graph g.node.current")).to_have_count(0)
    step_frame_to(frame, 3)

    # The frame reported its height to the course page, and embed-host.js used it.
    page.wait_for_function("() => window.__heights.some((m) => m.height > 0)")
    messages = page.evaluate("() => window.__heights")
    reports = [m for m in messages if m["type"] == HEIGHT_MESSAGE]
    assert reports, messages
    for m in reports:
        assert m["origin"] == origin(base_url), m
        assert m["kind"] == "number" and m["height"] > 0, m
    size = wait_until_resized(page, "iframe")
    assert size["style"] == f"{size['client']}px"
    assert 450 < size["reported"] <= MAX_FRAME_HEIGHT, size  # grown past the snippet's 450

    # Read-only: the function and the value cannot be changed in the frame.
    for testid, value in (("expr", LESSON), ("value-x", "2")):
        field = frame.get_by_test_id(testid)
        assert not field.is_editable(), testid
        field.click()
        page.keyboard.type("+ 1")
        page.keyboard.press("Backspace")
        expect(field).to_have_value(value)
    expect(frame.get_by_test_id("compute")).to_have_count(0)
    expect(frame.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")

    # The way out opens the full playground in a new tab, not inside the course page.
    link = frame.get_by_test_id("open-playground")
    with page.context.expect_page() as opened:
        link.click()
    playground = opened.value
    playground.wait_for_load_state()
    assert urlsplit(playground.url).path == "/"
    assert "readonly" not in parse_qs(urlsplit(playground.url).query)
    expect(playground.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    assert page.url == course_site
    assert_no_problems(problems)


def test_the_frame_settles_at_its_content_height(page: Page, course_site: str):
    page.goto(course_site)
    frame = page.frame_locator("iframe")
    expect(frame.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    first = wait_until_resized(page, "iframe")
    count = page.evaluate("() => window.__heights.length")
    # A resize loop reports again within a few frames of each resize; 60
    # frames would have seen it, and a report ends the watch at once.
    reported = changes_within_frames(
        page, "(count) => window.__heights.length > count", count, frames=60)
    assert not reported, page.evaluate("() => window.__heights")
    later = wait_until_resized(page, "iframe")
    # No resize loop: the height reached is the height kept, and the content fits.
    assert later == first, (first, later)
    assert page.evaluate("() => window.__heights.length") == count
    fits = frame.locator("html").evaluate(
        "(html) => html.scrollHeight <= html.clientHeight + 1"
    )
    assert fits, "the frame still scrolls inside after being resized"


def test_the_playground_opened_from_a_frame_is_a_normal_page(
    page: Page, course_site: str, problems: Problems
):
    page.goto(course_site)
    frame = page.frame_locator("iframe")
    expect(frame.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    with page.context.expect_page() as opened:
        frame.get_by_test_id("open-playground").click()
    playground = opened.value
    expect(playground.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    playground.evaluate(
        "() => { window.__submits = 0; window.__settled = 0;"
        " document.addEventListener('submit', () => { window.__submits += 1; }, true);"
        " document.addEventListener('htmx:afterSettle', () => { window.__settled += 1; }); }"
    )
    playground.get_by_test_id("compute").click()
    # The submission's answer is in: htmx swapped it in (a blocked one never is).
    playground.wait_for_function("() => window.__settled > 0")
    expect(playground.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    blocked = [m for m in problems.console if "Blocked form submission" in m]
    assert blocked == [], blocked
    assert playground.evaluate("() => window.__submits") == 1


def test_the_share_panel_follows_a_result_computed_in_place(page: Page, link):
    page.goto(link(x=2))
    page.get_by_test_id("value-x").fill("3")
    page.get_by_test_id("compute").click()
    # By hand: 15*3**2 + 4*3 + 4 = 135 + 12 + 4 = 151.
    expect(page.get_by_test_id("gradient-x")).to_contain_text("x.grad = 151")
    expect(page).to_have_url(re.compile(r"[?&]x=3(&|$)"))  # the address bar follows
    page.locator("[data-testid=share] > summary").click()
    permalink = page.get_by_test_id("share-link").input_value()
    assert parse_qs(urlsplit(permalink).query)["x"] == ["3"], permalink
    page.get_by_test_id("share-lang").select_option("en")  # ask /share for a fresh snippet
    expect(page.get_by_test_id("share-snippet")).to_have_value(re.compile(r"&amp;lang=en&amp;"))
    src = BeautifulSoup(page.get_by_test_id("share-snippet").input_value(), "html.parser")
    assert parse_qs(urlsplit(src.select_one("iframe")["src"]).query)["x"] == ["3"]


def test_switching_the_view_inside_a_frame_shows_the_values(page: Page, course_site: str):
    page.goto(course_site)
    frame = page.frame_locator("iframe")
    expect(frame.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    with page.expect_response(lambda r: "view=annotated" in r.url) as answer:
        frame.get_by_test_id("view-annotated").click()
    response = answer.value
    assert response.status == 200, f"{response.status} for the htmx request {response.url}"
    expect(frame.get_by_test_id("view-annotated")).to_have_attribute(
        "aria-current", "true", timeout=3000
    )
    expect(frame.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")


def test_a_host_script_that_starts_late_still_sizes_the_frame(
    page: Page, base_url: str, frame_without_host: str, problems: Problems
):
    page.goto(frame_without_host)
    assert "embed-host.js" not in page.content()
    frame = page.frame_locator("iframe")
    expect(frame.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    page.wait_for_function("() => window.__heights.some((m) => m.height > 0)")  # told no one
    assert page.evaluate("() => document.querySelector('iframe').style.height") == ""
    page.add_script_tag(url=f"{base_url}/static/embed-host.js")
    size = wait_until_resized(page, "iframe")
    assert 450 < size["reported"] <= MAX_FRAME_HEIGHT, size
    assert_no_problems(problems)


# --- the demo lesson: page on one origin, frames from another -------------------------------

LESSON_FRAMES = ("frame-tensor", "frame-graph", "frame-backward")


def test_the_lesson_frames_load_from_another_origin_and_work(
    new_page: Callable[..., Page], lesson_url: str, base_url: str, problems: Problems, screenshot
):
    page = new_page(locale="de-DE")
    page.goto(f"{lesson_url}?lang=de")
    assert origin(page.url) != origin(base_url)
    expect(page.locator("h1")).to_have_text("Gradienten in PyTorch")

    frames: dict[str, FrameLocator] = {}
    for testid in LESSON_FRAMES:
        iframe = page.get_by_test_id(testid)
        assert iframe.get_attribute("src").startswith(f"{base_url}/embed?")
        iframe.scroll_into_view_if_needed()  # loading="lazy"
        frames[testid] = page.frame_locator(f"[data-testid={testid}]")
        expect(frames[testid].locator("#graph svg")).to_be_visible()

    expect(frames["frame-tensor"].get_by_test_id("gradient-x")).to_contain_text("x.grad = 6")
    expect(frames["frame-graph"].get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    expect(frames["frame-graph"].locator("#stepper")).to_have_count(0)  # hide=steps

    backward = frames["frame-backward"]
    page.get_by_test_id("frame-backward").scroll_into_view_if_needed()
    step_frame_to(backward, STEPS, "Schritt {k} von {n}")
    last = backward.locator(f'#stepper li.step[data-step="{STEPS}"]')
    expect(last).to_be_visible()
    expect(last).to_contain_text("60 + 8 + 4 = 72")

    for testid in LESSON_FRAMES:
        size = wait_until_resized(page, f"[data-testid={testid}]")
        assert 0 < size["reported"] <= MAX_FRAME_HEIGHT, (testid, size)
    assert_no_problems(problems)
    screenshot(page, "de-1280")


def test_the_lesson_on_a_phone(
    new_page: Callable[..., Page], lesson_url: str, problems: Problems, screenshot
):
    page = new_page(locale="de-DE", viewport={"width": 375, "height": 800},
                    is_mobile=True, has_touch=True)
    page.goto(f"{lesson_url}?lang=de")
    for testid in LESSON_FRAMES:
        iframe = page.get_by_test_id(testid)
        iframe.scroll_into_view_if_needed()
        frame = page.frame_locator(f"[data-testid={testid}]")
        expect(frame.get_by_test_id("gradient-x")).to_be_visible()
        wait_until_resized(page, f"[data-testid={testid}]")
        width = iframe.evaluate("(f) => f.getBoundingClientRect().right")
        assert width <= 375, (testid, width)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert_no_problems(problems)
    screenshot(page, "de-375")


# --- the share panel on the playground -----------------------------------------------------


def test_the_share_panel_builds_the_snippet_and_copies_it(
    new_page: Callable[..., Page], link, problems: Problems, screenshot
):
    page = new_page(locale="en-US", permissions=["clipboard-read", "clipboard-write"])
    page.goto(link(x=2))
    page.locator("[data-testid=share] > summary").click()
    snippet = page.get_by_test_id("share-snippet")
    expect(snippet).to_be_visible()
    expect(snippet).to_have_value(re.compile(r"readonly=1&amp;hide=code,examples"))

    page.get_by_test_id("share-lang").select_option("de")
    expect(snippet).to_have_value(re.compile(r"&amp;lang=de&amp;"))
    page.get_by_test_id("share-hide-steps").check()
    expect(snippet).to_have_value(re.compile(r"&amp;hide=steps,code,examples"))
    expect(snippet).to_have_value(re.compile(r"&amp;lang=de&amp;"))

    for k in range(1, 4):
        page.get_by_test_id("step-next").click()
        expect(page.get_by_test_id("step-counter")).to_have_text(f"Step {k} of {STEPS}")
    expect(page.get_by_test_id("share-step")).to_have_value("3")
    permalink = page.get_by_test_id("share-link").input_value()
    assert parse_qs(urlsplit(permalink).query)["step"] == ["3"], permalink
    assert parse_qs(urlsplit(permalink).query)["expr"] == [LESSON], permalink
    expect(snippet).to_have_value(re.compile(r"&amp;step=3&amp;"))

    src = BeautifulSoup(snippet.input_value(), "html.parser").select_one("iframe")["src"]
    q = parse_qs(urlsplit(src).query)
    assert urlsplit(src).path == "/embed"
    assert q == {"expr": [LESSON], "x": ["2"], "step": ["3"], "lang": ["de"], "readonly": ["1"],
                 "hide": ["steps,code,examples"]}, src

    page.locator("#share-snippet button[data-copy]").click()
    expect(page.locator("#share-snippet button[data-copy]")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == snippet.input_value()
    assert_no_problems(problems)
    screenshot(page, "share-open")


# --- /embed on its own ---------------------------------------------------------------------


def test_the_embed_at_its_snippet_size_has_no_console_errors(
    new_page: Callable[..., Page], base_url: str, problems: Problems, screenshot
):
    page = new_page(locale="en-US", viewport={"width": 700, "height": 450})
    page.goto(f"{base_url}/embed?{embed_query(readonly='1', hide='code,examples', step='2')}")
    expect(page.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 2 of {STEPS}")
    expect(page.locator("#graph g.node.current")).to_have_count(1)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 700
    assert_no_problems(problems)
    screenshot(page, "embed-700x450")


def test_autoplay_steps_on_its_own(page: Page, base_url: str, problems: Problems):
    page.goto(f"{base_url}/embed?{embed_query(readonly='1', autoplay='1')}")
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 1 of {STEPS}", timeout=5000)
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 2 of {STEPS}", timeout=5000)
    assert_no_problems(problems)
