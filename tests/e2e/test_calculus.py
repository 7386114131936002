"""Exercise mode, the plot and second order in a real browser, in English and German.

The lesson: 5*x**3 + 2*x**2 + 4*x + 8 at x = 2; by hand dy/dx = 15x² + 4x + 4 = 72,
d²y/dx² = 30x + 4 = 64, and y.backward() runs 9 nodes, each sending single numbers.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import Problems

pytestmark = pytest.mark.e2e

STEPS = 9
PHONE = {"width": 375, "height": 740}


def no_problems(problems: Problems) -> None:
    assert problems.exceptions == [] and problems.console == []
    assert problems.csp_violations() == []


def parse_in_page(page: Page, texts: list[str]) -> list[float | None]:
    """static/app/exercise.js's parseNumber on each text, in the page (NaN as None)."""
    return page.evaluate(
        """async (texts) => {
            const main = document.querySelector('script[src$="/app/main.js"]').src;
            const m = await import(main.replace(/main[.]js$/, "exercise.js"));
            return texts.map((t) => {
              const v = m.parseNumber(t);
              return Number.isFinite(v) ? v : null;
            });
        }""",
        texts,
    )


def test_predictions_are_read_by_hand_with_comma_and_fractions(page: Page, link, problems):
    page.goto(link(x=2, exercise=1))
    got = parse_in_page(page, ["12", "-0,5", "1/2", "-3/4", "2.5e3", " 7 ", "1 / 4", "−2",
                               "abc", "1/0", "2+3", "", "1,2,3", "alert(1)"])
    assert got[:8] == [12, -0.5, 0.5, -0.75, 2500, 7, 0.25, -2]
    assert got[8:] == [None] * 6  # unreadable: the student is asked again
    no_problems(problems)


def answer(page: Page, k: int, values: list[str]) -> None:
    for i, value in enumerate(values):
        page.get_by_test_id(f"predict-{k}-{i}").fill(value)
    page.get_by_test_id(f"predict-{k}-0").press("Enter")


@pytest.mark.parametrize("lang, right, wrong, summary", [
    ("en", "Right!", "Not quite. Try once more.", "You predicted 8 of 9 steps right."),
    ("de", "Richtig!", "Nicht ganz. Versuch es noch einmal.",
     "Du hast 8 von 9 Schritten richtig vorhergesagt."),
], ids=["en", "de"])
def test_exercise_mode_asks_reveals_and_counts(page: Page, link, problems, screenshot,
                                              lang, right, wrong, summary):
    page.goto(link(x=2, exercise=1, lang=lang, step=1))
    step = page.locator('li.step[data-step="1"]')
    # The gradients and the step's sentence wait for the prediction.
    expect(page.get_by_test_id("gradient-x")).to_be_hidden()
    expect(step.locator(".sentence")).to_be_hidden()
    answer(page, 1, ["3"])  # the output sends 1 on, not 3
    expect(page.get_by_test_id("feedback-1")).to_contain_text(wrong)
    expect(step.locator(".sentence")).to_be_hidden()
    answer(page, 1, ["2/2"])  # a fraction: 1
    expect(page.get_by_test_id("feedback-1")).to_have_text(right)
    expect(step.locator(".sentence")).to_be_visible()
    screenshot(page, f"{lang}-right")
    # The focus left the field: the arrow key steps on.
    page.keyboard.press("ArrowRight")
    expect(page.locator('li.step[data-step="2"]')).to_be_visible()
    for k in range(2, STEPS + 1):
        form = page.get_by_test_id(f"exercise-{k}")
        expect(form).to_be_visible()
        inputs = form.locator("input[data-expect]")
        values = [inputs.nth(i).get_attribute("data-expect") for i in range(inputs.count())]
        if k == 2:  # wrong twice: the worked step is shown, and it does not count
            answer(page, k, ["999"] * len(values))
            answer(page, k, ["998"] * len(values))
            expect(page.locator('li.step[data-step="2"] .sentence')).to_be_visible()
        else:
            # Typed as a student would in German: a decimal comma.
            answer(page, k, [v.replace(".", ",") for v in values])
            expect(page.get_by_test_id(f"feedback-{k}")).to_have_text(right)
        if k < STEPS:
            page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("exercise-summary")).to_have_text(summary)
    expect(page.get_by_test_id("gradient-x")).to_be_visible()  # over: the answers are back
    screenshot(page, f"{lang}-summary")
    no_problems(problems)


def test_exercise_mode_on_a_phone(new_page, link, problems, screenshot):
    page = new_page(viewport=PHONE, locale="de-DE", color_scheme="dark")
    page.goto(link(x=2, exercise=1, step=9))
    field = page.get_by_test_id("predict-9-0")
    field.scroll_into_view_if_needed()
    box = field.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    field.click()
    field.fill("72")
    page.get_by_test_id("check-9").click()
    expect(page.get_by_test_id("feedback-9")).to_have_text("Richtig!")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "phone-dark-de")
    no_problems(problems)


@pytest.mark.parametrize("lang, title", [
    ("en", "y as a function of x, with the tangent at x = 2"),
    ("de", "y als Funktion von x, mit der Tangente bei x = 2"),
], ids=["en", "de"])
def test_the_derivative_and_its_plot_arrive_after_the_result(page: Page, link, problems,
                                                              screenshot, lang, title):
    page.goto(link(x=2, lang=lang))
    formula = page.get_by_test_id("symbolic-x")
    expect(formula).to_have_attribute("data-text", "15*x**2 + 4*x + 4")
    expect(formula.locator("math")).to_be_visible()
    expect(page.get_by_test_id("symbolic-value-x")).to_have_text("72")
    expect(page.get_by_test_id("agree-x")).to_have_class("agree yes")
    plot = page.get_by_test_id("plot")
    expect(plot.locator("svg title")).to_have_text(title)
    expect(plot.get_by_test_id("plot-point")).to_be_visible()
    expect(plot.get_by_test_id("plot-tangent")).to_be_visible()
    # Drawn with classes from app.css: the curve has a stroke in either theme.
    stroke = plot.locator(".plot-curve").first.evaluate("(p) => getComputedStyle(p).stroke")
    assert stroke not in ("none", "")
    plot.scroll_into_view_if_needed()
    screenshot(page, f"plot-{lang}")
    no_problems(problems)


@pytest.mark.parametrize("lang, heading", [("en", "Second order"), ("de", "Zweite Ableitung")],
                         ids=["en", "de"])
def test_second_order_shows_the_value_and_steps_through_the_gradients_graph(
    new_page, link, problems, screenshot, lang, heading
):
    page = new_page(locale="en-US", color_scheme="dark")
    page.goto(link(x=2, order=2, lang=lang))
    panel = page.get_by_test_id("second-order")
    expect(panel.locator("h2")).to_have_text(heading)
    expect(page.get_by_test_id("second-x")).to_have_text("64")
    stepper = page.locator("#second-stepper")
    total = int(stepper.get_attribute("data-total"))
    assert total > 0
    expect(page.locator("#second-graph g.node.current")).to_have_count(0)
    page.get_by_test_id("second-next").click()
    current = page.locator("#second-graph g.node.current")
    expect(current).to_have_count(1)
    assert current.get_attribute("id").startswith("second-n")
    # The main graph is not touched by the second one.
    expect(page.locator("#graph g.node.current")).to_have_count(0)
    for _ in range(total - 1):
        page.get_by_test_id("second-next").click()
    expect(page.get_by_test_id("second-next")).to_be_disabled()
    expect(stepper.locator("ol.steps > li:not([hidden])")).to_contain_text("64")
    panel.scroll_into_view_if_needed()
    screenshot(page, f"second-{lang}")
    no_problems(problems)


def test_accumulation_shows_the_doubled_gradient(page: Page, link, problems):
    page.goto(link(x=2, accumulate=1))
    expect(page.get_by_test_id("accumulated-value-x")).to_have_text("144")
    expect(page.get_by_test_id("accumulation")).to_contain_text("zero_grad()")
    no_problems(problems)


@pytest.mark.parametrize("params, context", [
    ({"x": 2, "order": 2, "accumulate": 1, "theme": "dark"}, {"color_scheme": "dark"}),
    ({"x": 2, "order": 2, "lang": "de", "theme": "light"}, {"locale": "de-DE"}),
], ids=["calculus-dark", "calculus-de-light"])
def test_the_calculus_panels_have_no_serious_accessibility_violations(
    new_page, link, base_url, params, context
):
    from .test_accessibility import assert_no_blocking_violations

    page = new_page(**context)
    page.goto(link(**params))
    expect(page.get_by_test_id("second-x")).to_have_text("64", timeout=15_000)
    assert_no_blocking_violations(page, base_url)


def test_the_exercise_has_no_serious_accessibility_violations(page: Page, link, base_url):
    from .test_accessibility import assert_no_blocking_violations

    page.goto(link(x=2, exercise=1, step=9))
    answer(page, 9, ["5"])
    expect(page.get_by_test_id("feedback-9")).not_to_be_empty()
    assert_no_blocking_violations(page, base_url)


def test_a_long_derivative_stays_inside_a_phone(new_page, link, problems, screenshot):
    """MathML does not wrap: a long dy/dx scrolls inside its own line, never the page."""
    page = new_page(viewport=PHONE)
    page.goto(link("clamp(x*y, -1, 1)*x", x=0.5, y=0.5))
    formula = page.get_by_test_id("symbolic-x")
    expect(formula.locator("math")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = formula.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "phone")
    no_problems(problems)
