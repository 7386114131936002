"""The smaller things on the page, in a real browser: the plot's labels, the program's
text area, print, the Share panel's Copy button and wide tensors on a phone.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 740}
LAPTOP = {"width": 1280, "height": 800}
A4_MAX_PAGES = 3
MLP = "h = relu(W1 @ x + b1)\ny = W2 @ h + b2\nloss = mse(y, t)"
MLP_VALUES = {
    "W1": "[[0.5, -1.25, 2], [1.5, 0.75, -0.5], [-2, 1, 0.25], [0.1, 0.2, 0.3]]",
    "x": "[1, 2, 3]",
    "b1": "[0.1, 0.2, 0.3, 0.4]",
    "W2": "[[1, -1, 0.5, 2], [0.25, 0.5, -1.5, 1]]",
    "b2": "[0.5, -0.5]",
    "t": "[1, 0]",
}

# --- the plot -----------------------------------------------------------------

# Functions and points: negative values, the x axis near a label, the y axis in
# the middle, a pole, and the point on the bottom and on the top edge.
PLOTS = [
    ("5*x**3 + 2*x**2 + 4*x + 8", "2"),  # y from -21.44: the axis ran through the label
    ("x**2 - 4", "0"),
    ("sin(x)", "0"),
    ("x**3", "-2"),
    ("exp(x) - 30", "-3"),
    ("1/x", "1"),
    ("x**2", "0"),  # the point on the bottom edge
    ("0 - x**2", "0"),  # ... and on the top edge
    ("4*x - 10", "3"),
]
CLEARANCE = 2.0  # SVG units kept free around a label


def clip(segment: tuple[float, float, float, float],
         box: tuple[float, float, float, float]) -> tuple[float, float, float, float] | None:
    """The part of a segment inside an axis-aligned box (Liang-Barsky), or None."""
    x1, y1, x2, y2 = segment
    left, top, right, bottom = box
    dx, dy = x2 - x1, y2 - y1
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x1 - left), (dx, right - x1), (-dy, y1 - top), (dy, bottom - y1)):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    return (x1 + t0 * dx, y1 + t0 * dy, x1 + t1 * dx, y1 + t1 * dy)


def crosses(segment: tuple[float, float, float, float], rect: dict[str, float]) -> bool:
    box = (rect["x"] - CLEARANCE, rect["y"] - CLEARANCE,
           rect["x"] + rect["width"] + CLEARANCE, rect["y"] + rect["height"] + CLEARANCE)
    return clip(segment, box) is not None


READ_PLOT = """(svg) => {
  const box = (e) => { const b = e.getBBox(); return {x: b.x, y: b.y, width: b.width, height: b.height}; };
  const num = (e, a) => parseFloat(e.getAttribute(a));
  const frame = svg.querySelector('.plot-frame');
  return {
    frame: box(frame),
    view: svg.viewBox.baseVal && [svg.viewBox.baseVal.x, svg.viewBox.baseVal.y,
                                  svg.viewBox.baseVal.width, svg.viewBox.baseVal.height],
    labels: [...svg.querySelectorAll('.plot-label')].map((t) => ({text: t.textContent, box: box(t)})),
    axes: [...svg.querySelectorAll('.plot-axis')].map((l) =>
      [num(l, 'x1'), num(l, 'y1'), num(l, 'x2'), num(l, 'y2')]),
    tangent: svg.querySelector('.plot-tangent').getAttribute('d'),
  };
}"""


def plot_problems(found: dict[str, Any]) -> list[str]:
    frame = found["frame"]
    inside = (frame["x"], frame["y"], frame["x"] + frame["width"], frame["y"] + frame["height"])
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", found["tangent"])]
    tangent = clip((numbers[0], numbers[1], numbers[2], numbers[3]), inside)  # as clipped
    lines = [("axis", tuple(a)) for a in found["axes"]]
    if tangent is not None:
        lines.append(("tangent", tangent))
    vx, vy, vw, vh = found["view"]
    wrong = []
    for label in found["labels"]:
        rect = label["box"]
        for name, line in lines:
            if crosses(line, rect):
                wrong.append(f"{label['text']!r} meets the {name}")
        if rect["x"] < vx or rect["x"] + rect["width"] > vx + vw or rect["y"] < vy \
                or rect["y"] + rect["height"] > vy + vh:
            wrong.append(f"{label['text']!r} is cut by the picture's edge")
    return wrong


def test_the_plot_labels_keep_clear_of_the_axes_and_the_tangent(page: Page, link, screenshot):
    wrong: list[str] = []
    for expr, x in PLOTS:
        page.goto(link(expr, x=x, lang="en"))
        svg = page.get_by_test_id("plot").locator("svg")
        expect(svg).to_be_visible()
        found = svg.evaluate(READ_PLOT)
        assert len(found["labels"]) == 4, found["labels"]
        wrong += [f"{expr} at x = {x}: {w}" for w in plot_problems(found)]
    page.goto(link(x=2, lang="en"))
    page.get_by_test_id("plot").scroll_into_view_if_needed()
    screenshot(page, "lesson-plot")
    assert wrong == []


# --- the program's text area --------------------------------------------------


def text_area(page: Page) -> dict[str, float]:
    return page.get_by_test_id("expr").evaluate(
        """(t) => ({scroll: t.scrollHeight, client: t.clientHeight,
                   line: parseFloat(getComputedStyle(t).lineHeight)})""")


def test_the_program_grows_with_its_lines_up_to_eight(page: Page, link):
    page.goto(link("sigmoid(w*x + b)", w="0.5", x="2", b="-1"))
    page.get_by_test_id("as-program").click()
    area = page.get_by_test_id("expr")
    expect(area).to_have_value(re.compile(r"sigmoid"))
    area.press("End")
    for line in ("a = y*2", "c = a + 1", "d = c*c"):
        area.press("Enter")
        area.type(line)
    size = text_area(page)
    assert size["scroll"] <= size["client"], size  # all four lines, no scrolling
    for n in range(4, 14):
        area.press("Enter")
        area.type(f"v{n} = d + {n}")
    size = text_area(page)
    assert 7 * size["line"] <= size["client"] <= 9 * size["line"], size  # about eight lines


def test_a_four_line_program_opens_with_every_line_in_view(new_page, link):
    page = new_page(viewport=PHONE, locale="en-US")
    page.goto(link("z = w*x + b\nh = tanh(z)\nd = h - t\nloss = d^2",
                   w="0.5", x="1.5", b="0.1", t="1"))
    size = text_area(page)
    assert size["scroll"] <= size["client"], size


# --- print --------------------------------------------------------------------

HIDDEN_IN_PRINT = [
    "#playground",  # the form: the function and its values are in the code panel
    "[data-testid=compute]",
    "[data-testid=expr]",
    ".header-tools",  # Examples, Share, presenter mode, languages, theme
    "[data-testid=share]",
    ".zoom-controls",
    ".step-controls",
    "[data-testid=step-next]",
    ".view-switch",
    ".forward-toggle",
    "[data-testid=copy-code]",
    "[data-testid=training]",
]


def shown(page: Page, selector: str) -> bool:
    return page.locator(selector).first.evaluate(
        "(e) => { for (let n = e; n; n = n.parentElement) {"
        " if (getComputedStyle(n).display === 'none') return false; } return true; }")


def test_print_keeps_the_function_the_graph_and_the_step_without_controls(page: Page, link):
    page.goto(link(x=2, step=3, lang="en"))
    expect(page.get_by_test_id("plot")).to_be_visible()
    page.emulate_media(media="print")
    for selector in HIDDEN_IN_PRINT:
        assert not shown(page, selector), f"{selector} is printed"
    for selector in ("#graph svg", "[data-testid=step-explanation]", "#code",
                     "[data-testid=print-y]", "[data-testid=plot]"):
        assert shown(page, selector), f"{selector} is not printed"
    assert "5*x**3 + 2*x**2 + 4*x + 8" in page.locator("#code").inner_text()
    # Only the step the page is at: the graph on paper is drawn at that step.
    printed = page.locator("li.step").evaluate_all(
        "(items) => items.filter((li) => getComputedStyle(li).display !== 'none')"
        ".map((li) => li.dataset.step)")
    assert printed == ["3"]
    pdf = page.pdf(format="A4")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert 1 <= pages <= A4_MAX_PAGES, pages


# --- the Share panel ----------------------------------------------------------


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["1280x800", "375x740"])
@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_snippet_copy_button_is_whole_in_the_share_panel(new_page, link, screenshot,
                                                             size, lang):
    page = new_page(viewport=size, locale="en-US")
    page.goto(link("x**2", x="3", lang=lang))
    page.get_by_test_id("share").locator("summary").click()
    copy = page.locator("#share-snippet button[data-copy]")
    expect(copy).to_be_visible()
    found = copy.evaluate("""(b) => {
      const r = b.getBoundingClientRect(), p = b.closest('.share-body').getBoundingClientRect();
      return {button: [r.left, r.top, r.right, r.bottom], panel: [p.left, p.top, p.right, p.bottom],
              view: [innerWidth, innerHeight]};
    }""")
    left, top, right, bottom = found["button"]
    p_left, p_top, p_right, p_bottom = found["panel"]
    width, height = found["view"]
    assert p_left <= left and right <= p_right and p_top <= top and bottom <= p_bottom - 2, found
    assert 0 <= left and right <= width and 0 <= top and bottom <= height - 2, found
    # It is the button a user can press: nothing covers its middle.
    middle = ((left + right) / 2, (top + bottom) / 2)
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('button[data-copy]')"
                         " === document.querySelector('#share-snippet button[data-copy]')",
                         list(middle))
    screenshot(page, f"share-{size['width']}-{lang}")


# --- wide tensors on a phone --------------------------------------------------


def test_print_y_and_the_code_wrap_on_a_phone(new_page, link, screenshot):
    page = new_page(viewport=PHONE, locale="en-US")
    page.goto(link(MLP, **MLP_VALUES, retain="1"))
    expect(page.get_by_test_id("print-y")).to_contain_text("grad_fn=<MseLossBackward0>")
    widths = page.evaluate("""() => {
      const w = (e) => ({scroll: e.scrollWidth, client: e.clientWidth});
      return {page: w(document.documentElement),
              print: w(document.querySelector('[data-testid=print-y]')),
              code: w(document.querySelector('.code pre')),
              output: w(document.querySelector('.output')),
              panel: w(document.querySelector('.code'))};
    }""")
    for name, got in widths.items():
        assert got["scroll"] <= got["client"] + 1, (name, widths)
    # Wrapped, not cut: every line of the code is still there.
    assert "b2 = torch.tensor([0.5, -0.5]" in page.locator("#code").inner_text()
    page.get_by_test_id("print-y").scroll_into_view_if_needed()
    screenshot(page, "mlp-phone")
