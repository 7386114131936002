"""The exercise where a class meets it: the snippet the Share panel copies, pasted into a
course page of another origin, answered by keyboard.

The lesson's function 5*x**3 + 2*x**2 + 4*x + 8 at x = 2: by hand, the output's
AddBackward0 sends 1 on, x**3's PowBackward0 sends 5·3·x² = 60, and x.grad = 60 + 8 + 4 = 72.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Frame, FrameLocator, Page, expect

from . import test_embed_widths as widths
from .conftest import Problems
from .test_embed import STEPS, assert_no_problems, static_site

pytestmark = pytest.mark.e2e

# The frames of the width tests: a course page of another origin, a frame of a given size.
course_page = widths.course_page
open_frame = widths.open_frame

FIRST = {1: ["1"], 8: ["60"], 9: ["72"]}  # by hand; the other steps' answers the page holds


def copied_snippet(page: Page, link: Callable[..., str]) -> str:
    """Share → tick Exercise → Copy, and what the clipboard then holds."""
    page.goto(link(x=2))
    page.locator("[data-testid=share] > summary").click()
    snippet = page.get_by_test_id("share-snippet")
    before = snippet.input_value()
    page.get_by_test_id("share-exercise").check()
    expect(snippet).not_to_have_value(before)
    expect(snippet).to_have_value(re.compile(r"exercise=1"))
    page.locator("#share-snippet button[data-copy]").click()
    expect(page.locator("#share-snippet button[data-copy]")).to_have_text("Copied")
    return page.evaluate("() => navigator.clipboard.readText()")


def visible_text(frame: FrameLocator) -> str:
    return frame.locator("body").evaluate("(b) => b.innerText")


def test_the_copied_exercise_works_in_a_course_page_of_another_origin(
    new_page: Callable[..., Page], link, problems: Problems, screenshot
):
    teacher = new_page(locale="en-US", permissions=["clipboard-read", "clipboard-write"])
    snippet = copied_snippet(teacher, link)
    assert "<iframe" in snippet and "sandbox=" in snippet
    with static_site(snippet) as course:
        page = new_page(locale="en-US", viewport={"width": 1000, "height": 800})
        page.goto(course)
        frame = page.frame_locator("iframe")
        expect(frame.get_by_test_id("exercise-intro")).to_be_visible()
        # Nothing gives the answer away before it is asked: not the output band, the header,
        # the graph, the derivative button.
        assert "72" not in visible_text(frame)
        expect(frame.get_by_test_id("show-derivative")).to_be_hidden()
        for k in range(1, STEPS + 1):
            frame.get_by_test_id("step-next").focus()
            frame.get_by_test_id("step-next").press("Enter")
            expect(frame.get_by_test_id("step-counter")).to_have_text(f"Step {k} of {STEPS}")
            box = frame.get_by_test_id(f"predict-{k}-0")
            expect(box).to_be_focused()  # the step asks at once
            inputs = frame.get_by_test_id(f"exercise-{k}").locator("input[data-expect]")
            values = FIRST.get(k) or [inputs.nth(i).get_attribute("data-expect")
                                      for i in range(inputs.count())]
            assert "72" not in visible_text(frame), k
            if k == 8:
                # A wrong try: a hint with the op and its local derivative, never the value.
                box.fill("59")
                box.press("Enter")
                feedback = frame.get_by_test_id("feedback-8")
                expect(feedback).to_contain_text("PowBackward0")
                expect(feedback).to_contain_text("3·x²")
                assert "60" not in feedback.inner_text()
                expect(box).to_be_focused()
            for i, value in enumerate(values):
                inputs.nth(i).fill(value)
            inputs.nth(0).press("Enter")
            expect(frame.get_by_test_id(f"feedback-{k}")).to_have_text("Right!")
            if k < STEPS:
                expect(frame.get_by_test_id("exercise-summary")).to_be_hidden()
        summary = frame.get_by_test_id("exercise-summary")
        expect(summary).to_have_text(f"You predicted {STEPS} of {STEPS} steps right.")
        expect(summary).to_be_focused()
        expect(frame.get_by_test_id("gradient-x")).to_contain_text("x.grad = 72")
        screenshot(page, "summary")
    assert_no_problems(problems)


def test_the_focus_goes_to_the_first_wrong_box(page: Page, link, problems: Problems):
    page.goto(link(x=2, exercise=1, step=1))
    page.get_by_test_id("step-next").click()
    expect(page.get_by_test_id("step-counter")).to_have_text(f"Step 2 of {STEPS}")
    expect(page.get_by_test_id("predict-2-0")).to_be_focused()
    page.get_by_test_id("predict-2-0").fill("1")  # right
    page.get_by_test_id("predict-2-1").fill("7")  # wrong
    page.get_by_test_id("check-2").click()
    expect(page.get_by_test_id("predict-2-1")).to_be_focused()
    expect(page.get_by_test_id("predict-2-1")).to_have_attribute("aria-invalid", "true")
    # Steps passed unanswered: the last one does not bring the summary.
    page.goto(link(x=2, exercise=1, step=STEPS))
    expect(page.get_by_test_id(f"exercise-{STEPS}")).to_be_visible()
    expect(page.get_by_test_id("exercise-summary")).to_be_hidden()
    expect(page.get_by_test_id("gradient-x")).to_be_hidden()
    assert "x.grad = 72" not in page.locator("body").inner_text()
    assert_no_problems(problems)


# --- a short frame: the question in view ----------------------------------------------------

# Whether an element is on screen and not cut off: inside the frame's viewport and the
# step pane that scrolls, and the one hit at its centre (nothing covers it).
SEEN = """(el) => {
  const r = el.getBoundingClientRect();
  const pane = el.closest(".steps").getBoundingClientRect();
  const top = Math.max(0, pane.top);
  const bottom = Math.min(window.innerHeight, pane.bottom);
  const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
  const inside = r.top >= top && r.bottom <= bottom && r.left >= 0 && r.right <= window.innerWidth;
  return {shown: inside && !!hit && (hit === el || el.contains(hit)),
          box: [Math.round(r.top), Math.round(r.bottom)], room: [Math.round(top), Math.round(bottom)]};
}"""


@pytest.mark.parametrize("host", (False, True), ids=("fixed", "resized"))
@pytest.mark.parametrize("editable", (False, True), ids=("snippet", "editable"))
@pytest.mark.parametrize("width", (700, 960))
def test_a_short_frame_shows_both_answer_boxes_and_check(
    open_frame: Callable[..., tuple[Page, Frame]], width: int, editable: bool, host: bool,
    problems: Problems,
):
    """Step 2 asks two numbers; in a 450 px frame, with or without the resize script,
    the step opens with both boxes and Check in view, the focus in the first box."""
    snippet = {} if editable else {"readonly": "1", "hide": "code,examples"}
    page, _ = open_frame(width, 450, host=host, exercise="1", step="1", **snippet)
    frame = page.frame_locator("iframe")
    frame.get_by_test_id("step-next").click()
    expect(frame.get_by_test_id("step-counter")).to_have_text(f"Step 2 of {STEPS}")
    expect(frame.get_by_test_id("predict-2-0")).to_be_focused()
    for testid in ("predict-2-0", "predict-2-1", "check-2"):
        seen = frame.get_by_test_id(testid).evaluate(SEEN)
        assert seen["shown"], (testid, seen)
    assert_no_problems(problems)


def test_a_frame_sandboxed_without_forms_still_checks_answers(
    open_frame: Callable[..., tuple[Page, Frame]], problems: Problems
):
    """A host's stricter sandbox: scripts and the frame's own origin, no allow-forms. The
    exercise submits no form, so it asks, checks and reveals as in the snippet's frame."""
    page, _ = open_frame(700, 450, sandbox="allow-scripts allow-same-origin", exercise="1",
                         readonly="1", hide="code,examples")
    frame = page.frame_locator("iframe")
    frame.get_by_test_id("step-next").click()
    box = frame.get_by_test_id("predict-1-0")
    expect(box).to_be_focused()
    box.fill("2")  # wrong: the output's AddBackward0 sends on 1
    box.press("Enter")
    expect(frame.get_by_test_id("feedback-1")).to_contain_text("AddBackward0")
    box.fill("1")
    frame.get_by_test_id("check-1").click()
    expect(frame.get_by_test_id("feedback-1")).to_have_text("Right!")
    blocked = [m for m in problems.console if "Blocked form submission" in m]
    assert blocked == [], blocked
    assert_no_problems(problems)
