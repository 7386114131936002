"""The playground in a real browser, feature by feature, as a student uses it.

The lesson's function is 5*x**3 + 2*x**2 + 4*x + 8 at x = 2: y = 64,
x.grad = 15*x**2 + 4*x + 4 = 60 + 8 + 4 = 72, and y.backward() runs 9 nodes.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import LESSON, Problems, changes_within_frames, next_frame

pytestmark = pytest.mark.e2e

STEPS = 9
TYPING_DELAY_MS = 20  # well under the 250 ms debounce of the /fields request


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def current_node(page: Page) -> str:
    """The id of the one graph node marked current (fails if there is not exactly one)."""
    current = page.locator("#graph g.node.current")
    expect(current).to_have_count(1)
    node_id = current.get_attribute("id")
    assert node_id, "the current node has no id"
    return node_id


def type_function(page: Page, text: str) -> None:
    """Clear the function field and type ``text`` key by key, as a student does."""
    field = page.get_by_test_id("expr")
    field.fill("")
    field.press_sequentially(text, delay=TYPING_DELAY_MS)


def step_with_next_to(page: Page, k: int) -> None:
    for i in range(1, k + 1):
        page.get_by_test_id("step-next").click()
        expect(page.get_by_test_id("step-counter")).to_have_text(f"Step {i} of {STEPS}")


def overflow(page: Page) -> dict:
    """Widths that decide horizontal scrolling, and the elements that stick out."""
    return page.evaluate(
        """() => {
          const inner = window.innerWidth;
          const wide = [];
          for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > inner + 1 && !el.closest('[hidden]')) {
              wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
                + ' right=' + Math.round(r.right));
            }
          }
          return {
            doc: document.documentElement.scrollWidth,
            body: document.body.scrollWidth,
            inner,
            wide: wide.slice(0, 15),
          };
        }"""
    )


def assert_no_horizontal_scroll(page: Page, width: int) -> None:
    m = overflow(page)
    # A mobile browser widens innerWidth to fit content that overflows, so the
    # viewport's own width is checked too.
    assert m["doc"] <= m["inner"] and m["body"] <= m["inner"] and m["doc"] <= width, (
        f"horizontal scroll at {width} px: scrollWidth html={m['doc']} body={m['body']}, "
        f"innerWidth={m['inner']}; elements past the right edge: {m['wide']}"
    )


# --- typing a function --------------------------------------------------------


def test_student_types_the_lesson_function_and_sees_x_grad_72(page: Page, link, screenshot):
    page.goto(link(""))
    expect(page.get_by_test_id("value-x")).to_have_count(0)

    type_function(page, LESSON)
    value_x = page.get_by_test_id("value-x")
    expect(value_x).to_be_visible()  # swapped in by htmx from /fields while typing
    value_x.fill("2")
    value_x.press("Enter")

    expect(page.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    expect(page.get_by_test_id("print-y")).to_have_text("tensor(64., grad_fn=<AddBackward0>)")
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 0 of {STEPS}")
    assert query(page).get("expr") == [LESSON], page.url  # the result is a link
    screenshot(page, "result")


def test_a_new_variable_gets_a_value_field_without_a_reload(page: Page, link, screenshot):
    page.goto(link(x=2))
    page.evaluate("window.__sameDocument = 'still here'")

    type_function(page, "x*y")
    expect(page.get_by_test_id("value-y")).to_be_visible()
    expect(page.get_by_test_id("value-x")).to_have_value("2")  # the known value is kept
    assert page.evaluate("window.__sameDocument") == "still here", "the page was reloaded"

    page.get_by_test_id("value-y").fill("3")
    page.get_by_test_id("compute").click()
    expect(page.get_by_test_id("gradient-x")).to_contain_text("x.grad = 3")
    expect(page.get_by_test_id("gradient-y")).to_contain_text("y.grad = 2")
    assert page.evaluate("window.__sameDocument") == "still here", "the page was reloaded"
    screenshot(page, "two-variables")


# --- stepping -----------------------------------------------------------------


def test_stepping_through_all_nine_steps_with_the_buttons(page: Page, link, screenshot):
    page.goto(link(x=2))
    counter = page.get_by_test_id("step-counter")
    expect(counter).to_have_text(f"Step 0 of {STEPS}")
    expect(page.locator("#graph g.node.current")).to_have_count(0)

    seen: list[str] = []
    for k in range(1, STEPS + 1):
        page.get_by_test_id("step-next").click()
        expect(counter).to_have_text(f"Step {k} of {STEPS}")
        node = current_node(page)
        assert not seen or node != seen[-1], f"step {k} highlights {node} again"
        seen.append(node)
        assert query(page).get("step") == [str(k)], page.url
        expect(page.locator(f'#stepper li.step[data-step="{k}"]')).to_be_visible()
        if k in (1, 5):
            screenshot(page, f"step-{k}")
    assert len(set(seen)) == STEPS, f"the 9 steps should visit 9 different nodes: {seen}"

    explanation = page.locator(f'#stepper li.step[data-step="{STEPS}"]')
    expect(explanation).to_contain_text("60 + 8 + 4 = 72")
    expect(page.get_by_test_id("step-next")).to_have_attribute("aria-disabled", "true")
    screenshot(page, "step-9")

    page.get_by_test_id("step-prev").click()
    expect(counter).to_have_text(f"Step 8 of {STEPS}")
    assert current_node(page) == seen[7]
    assert query(page).get("step") == ["8"], page.url


def test_arrow_keys_step_unless_typing(page: Page, link):
    page.goto(link(x=2, step=4))
    counter = page.get_by_test_id("step-counter")
    expect(counter).to_have_text(f"Step 4 of {STEPS}")

    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    assert page.evaluate("() => document.activeElement === document.body")
    page.keyboard.press("ArrowRight")
    expect(counter).to_have_text(f"Step 5 of {STEPS}")
    assert query(page).get("step") == ["5"], page.url
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(counter).to_have_text(f"Step 3 of {STEPS}")

    page.get_by_test_id("expr").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")
    # The stepper answers a key in its keydown handler, before the next frame:
    # a step taken would show within a few frames, in the counter or the URL.
    stepped = changes_within_frames(page, """(shown) =>
      document.querySelector("[data-testid=step-counter]").textContent.trim() !== shown
      || new URL(location.href).searchParams.get("step") !== '3'""", f"Step 3 of {STEPS}")
    assert not stepped, (counter.inner_text(), page.url)
    expect(counter).to_have_text(f"Step 3 of {STEPS}")
    assert query(page).get("step") == ["3"], page.url


PLAY_INTERVAL_MS = 1200  # static/app/stepper.js

# The step the counter shows, as a number.
SHOWN_STEP = """() => Number(
  (document.querySelector("[data-testid=step-counter]").textContent.match(/\\d+/) || [-1])[0])"""


def test_play_advances_by_itself_and_pauses(page: Page, link):
    # Play's timer runs on a clock the test moves forward: no waiting for it,
    # and a slow machine cannot fit an extra step in between.
    page.clock.install()
    page.goto(link(x=2))
    counter = page.get_by_test_id("step-counter")
    play = page.get_by_test_id("step-play")
    expect(counter).to_have_text(f"Step 0 of {STEPS}")

    play.click()
    expect(play).to_contain_text("Pause")
    page.clock.run_for(2 * PLAY_INTERVAL_MS)
    page.wait_for_function(f"() => ({SHOWN_STEP})() >= 2")

    play.click()
    expect(play).to_contain_text("Play")
    paused_at = page.evaluate(SHOWN_STEP)
    # Paused: three more intervals pass on the clock and the counter stays.
    page.clock.run_for(3 * PLAY_INTERVAL_MS)
    assert page.evaluate(SHOWN_STEP) == paused_at
    expect(counter).to_have_text(f"Step {paused_at} of {STEPS}")


# --- languages ----------------------------------------------------------------


def assert_german(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#graph-heading")).to_have_text("Rechengraph")
    expect(page.locator("#stepper-heading")).to_contain_text("Rückwärtsdurchlauf")
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Schritt 0 von {STEPS}")


def test_german_page_from_the_url(page: Page, base_url: str, screenshot):
    page.goto(f"{base_url}/?lang=de")
    assert_german(page)
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Schritt 1 von {STEPS}")
    screenshot(page, "german")


def test_german_page_from_accept_language(new_page, base_url: str, screenshot):
    page = new_page(locale="de-DE", extra_http_headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    page.goto(f"{base_url}/")
    assert_german(page)
    # An htmx swap of the result stays German.
    page.get_by_test_id("view-annotated").click()
    expect(page.get_by_test_id("view-annotated")).to_have_attribute("aria-current", "true")
    expect(page.locator("#graph-heading")).to_have_text("Rechengraph")
    expect(page.get_by_test_id("view-annotated")).to_have_text("mit Werten")
    screenshot(page, "german-accept-language")


# --- layout -------------------------------------------------------------------


PHONE = {"viewport": {"width": 375, "height": 800}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
NARROW_WINDOW = {"viewport": {"width": 375, "height": 800}, "has_touch": True}


@pytest.mark.parametrize("device", [PHONE, NARROW_WINDOW], ids=["phone", "narrow-window"])
def test_no_horizontal_scroll_at_375px(new_page, link, screenshot, device):
    page = new_page(**device)
    page.goto(link(x=2))
    assert_no_horizontal_scroll(page, 375)
    screenshot(page, "375px-step-0")

    for k in range(1, STEPS + 1):
        page.get_by_test_id("step-next").tap()
        expect(page.get_by_test_id("step-counter")).to_have_text(f"Step {k} of {STEPS}")
    leaf = current_node(page)
    expect(page.locator(f'#stepper li.step[data-step="{STEPS}"]')).to_contain_text("AccumulateGrad")

    page.locator(f"#graph g.node#{leaf}").tap()
    details = page.locator(f'.node-details[data-node="{leaf}"]')
    expect(details).to_be_visible()
    assert_no_horizontal_scroll(page, 375)
    screenshot(page, "375px-leaf-details")


def test_no_horizontal_scroll_at_1280px(page: Page, link):
    page.goto(link(x=2))
    assert_no_horizontal_scroll(page, 1280)
    page.get_by_test_id("step-last").click()
    page.locator("#graph g.node.current").click()
    expect(page.locator(".node-details:visible")).to_have_count(1)
    assert_no_horizontal_scroll(page, 1280)


# --- links ----------------------------------------------------------------------


def test_a_shared_link_reopens_the_same_step(page: Page, new_page, link):
    page.goto(link(x=2))
    step_with_next_to(page, 4)
    clicked = current_node(page)

    shared = link(x=2, step=4)
    assert "%2B" in shared and "+" not in shared.split("?", 1)[1], shared
    other = new_page()
    other.goto(shared)
    expect(other.get_by_test_id("step-counter")).to_have_text(f"Step 4 of {STEPS}")
    assert current_node(other) == clicked
    expect(other.locator('#stepper li.step[data-step="4"]')).to_be_visible()


def test_reload_keeps_the_step(page: Page, link):
    page.goto(link(x=2))
    step_with_next_to(page, 3)
    node = current_node(page)
    page.reload()
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 3 of {STEPS}")
    assert current_node(page) == node


# --- errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, problem, marked",
    # The whole attribute access; the dangling power operator at the end.
    [("x.__class__", "attribute", "x.__class__"), ("5*x**", "ends too early", "**")],
    ids=["attribute", "ends-early"],
)
def test_a_bad_function_shows_where_the_problem_is(page: Page, link, screenshot, bad, problem, marked):
    page.goto(link(x=2))
    type_function(page, bad)
    page.get_by_test_id("expr").press("Enter")

    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text(problem)
    shown = error.locator("code:has(mark)")
    expect(shown).to_have_text(bad)  # the student's text, with the bad part marked in it
    expect(shown.locator("mark")).to_have_text(marked)
    expect(page.get_by_test_id("gradient-x")).to_have_count(0)
    screenshot(page, "error")


# --- the graph ------------------------------------------------------------------


def drawn_scale(page: Page) -> tuple[float, float]:
    """How many times bigger the graph is drawn than its box in the layout."""
    next_frame(page)
    return tuple(page.locator("#graph svg").evaluate(
        "svg => { const r = svg.getBoundingClientRect();"
        " return [r.width / svg.clientWidth, r.height / svg.clientHeight]; }"
    ))


# The graph fills a pane of fractional height, and clientHeight rounds it to whole pixels.
PX_ROUNDING = 2e-3


def test_zoom_buttons_scale_the_graph_and_reset_restores_it(page: Page, link):
    page.goto(link(x=2))
    assert drawn_scale(page) == pytest.approx((1, 1), rel=PX_ROUNDING)

    page.locator("[data-zoom=in]").click()
    zoomed_in = drawn_scale(page)
    assert zoomed_in == pytest.approx((1.25, 1.25), rel=PX_ROUNDING), zoomed_in

    page.locator("[data-zoom=out]").click()
    page.locator("[data-zoom=out]").click()
    zoomed_out = drawn_scale(page)
    assert zoomed_out == pytest.approx((0.8, 0.8), rel=PX_ROUNDING), zoomed_out

    page.locator("[data-zoom=reset]").click()
    assert drawn_scale(page) == pytest.approx((1, 1), rel=PX_ROUNDING)


def centre(box: dict[str, float] | None) -> tuple[float, float]:
    assert box is not None, "the element is not on screen"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def point_at_a_node(page: Page, link) -> tuple[Locator, dict[str, float]]:
    """The playground with the pointer over node n3; the node and where it is drawn."""
    page.goto(link(x=2))
    node = page.locator("#graph g.node#n3")
    node.scroll_into_view_if_needed()  # the stage starts below the form and the result
    box = node.bounding_box()
    page.mouse.move(*centre(box))
    return node, box


def test_dragging_the_graph_moves_it_and_is_not_a_tap(page: Page, link):
    node, before = point_at_a_node(page, link)
    x, y = centre(before)
    page.mouse.down()
    page.mouse.move(x + 40, y + 30, steps=5)
    page.mouse.up()
    next_frame(page)
    after = node.bounding_box()
    assert after is not None
    assert after["x"] == pytest.approx(before["x"] + 40, abs=2), (before, after)
    assert after["y"] == pytest.approx(before["y"] + 30, abs=2), (before, after)
    expect(page.locator(".node-details:visible")).to_have_count(0)  # a drag opens nothing


def test_the_wheel_zooms_about_the_pointer(page: Page, link):
    node, box = point_at_a_node(page, link)
    x, y = centre(box)
    page.mouse.wheel(0, -200)
    next_frame(page)
    bigger = node.bounding_box()
    assert bigger is not None and bigger["width"] > box["width"] * 1.1, (box, bigger)
    # The point under the pointer stays under it.
    assert centre(bigger) == pytest.approx((x, y), abs=3), ((x, y), bigger)


def test_two_fingers_spreading_apart_zoom_in(page: Page, link):
    page.goto(link(x=2))
    # Two touch pointers 40 px apart move to 200 px apart, as the browser reports a pinch.
    page.locator("#graph .graph-canvas").evaluate("""canvas => {
      const box = canvas.getBoundingClientRect();
      const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
      const send = (target, type, id, dx) => target.dispatchEvent(new PointerEvent(type, {
        pointerId: id, pointerType: "touch", isPrimary: id === 1, buttons: 1,
        clientX: cx + dx, clientY: cy, bubbles: true, cancelable: true}));
      send(canvas, "pointerdown", 1, -20);
      send(canvas, "pointerdown", 2, 20);
      for (let i = 1; i <= 10; i++) {
        send(document, "pointermove", 1, -20 - 8 * i);
        send(document, "pointermove", 2, 20 + 8 * i);
      }
      send(document, "pointerup", 1, -100);
      send(document, "pointerup", 2, 100);
    }""")
    scale = drawn_scale(page)
    assert scale[0] > 1.2 and scale[1] > 1.2, scale
    expect(page.locator(".node-details:visible")).to_have_count(0)  # a pinch is not a tap


def test_clicking_a_node_shows_its_details(page: Page, link, screenshot):
    page.goto(link(x=2))
    expect(page.locator(".node-details:visible")).to_have_count(0)

    page.locator("#graph g.node#n3").click()
    shown = page.locator('.node-details[data-node="n3"]')
    expect(shown).to_be_visible()
    expect(shown).to_contain_text("MulBackward0")
    expect(page.locator(".node-details:visible")).to_have_count(1)
    screenshot(page, "node-details")

    page.locator("#graph g.node#n2").click()
    expect(page.locator('.node-details[data-node="n2"]')).to_be_visible()
    expect(shown).to_be_hidden()


def test_annotated_view_shows_values_on_the_nodes(page: Page, link, screenshot):
    page.goto(link(x=2))
    page.get_by_test_id("view-annotated").click()
    svg = page.locator("#graph svg")
    expect(svg).to_contain_text("x = 2")
    expect(svg).to_contain_text("grad 72")
    expect(svg).to_contain_text("y = 64")
    assert query(page).get("view") == ["annotated"], page.url
    screenshot(page, "annotated")


def test_theme_toggle_switches_to_dark(new_page, link, screenshot):
    page = new_page(color_scheme="light")
    page.goto(link(x=2))
    light = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert query(page).get("theme") == ["dark"], page.url
    dark = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert dark != light, f"the background stays {light} in dark mode"
    screenshot(page, "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


# --- robustness -----------------------------------------------------------------


def test_no_console_errors_or_csp_violations(new_page, fresh_browser, link, problems: Problems):
    page = new_page(in_browser=fresh_browser)
    page.goto(link(x=2))
    page.wait_for_load_state("networkidle")  # the browser's own requests, e.g. the icon
    for _ in range(STEPS):
        page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step {STEPS} of {STEPS}")
    page.get_by_test_id("step-first").click()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 1 of {STEPS}")
    page.locator("[data-zoom=in]").click()
    page.locator("#graph g.node#n1").click()
    page.get_by_test_id("theme-toggle").click()
    page.get_by_test_id("view-annotated").click()
    expect(page.locator("#graph svg")).to_contain_text("grad 72")
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 2 of {STEPS}")
    type_function(page, "x*y")
    expect(page.get_by_test_id("value-y")).to_be_visible()
    page.get_by_test_id("compute").click()
    expect(page.get_by_test_id("gradient-y")).to_be_visible()

    assert problems.exceptions == [], problems.exceptions
    assert problems.console == [], problems.console
    assert problems.csp_violations() == []


def test_the_page_works_without_javascript(new_page, link, screenshot):
    page = new_page(java_script_enabled=False)
    page.goto(link(x=2, step=3))
    expect(page.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 3 of {STEPS}")
    first = current_node(page)
    expect(page.locator('#stepper li.step[data-step="3"]')).to_be_visible()
    expect(page.locator("#stepper li.step:visible")).to_have_count(1)
    screenshot(page, "no-js-step-3")

    page.get_by_test_id("step-next").click()  # a plain link now
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 4 of {STEPS}")
    assert query(page).get("step") == ["4"], page.url
    assert current_node(page) != first
