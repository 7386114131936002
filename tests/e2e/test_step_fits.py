"""Every step fits its pane: no scrolling inside the step pane, at every step of a long
function, on a laptop, a phone and a 700x450 frame.

All the steps are walked in one page through the step buttons (the stepper shows each
step without a round trip), so the whole walk takes one page load per size.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

POLY20 = " + ".join(f"{k}*x**{21 - k}" if k < 20 else "20*x" for k in range(1, 21))
MLP = "h = tanh(W1 @ x + b1)\nout = W2 @ h + b2\nloss = sum((out - t)**2)"
MLP_VALUES = {
    "W1": json.dumps([[0.1 * (i + j) - 0.3 for j in range(3)] for i in range(4)]),
    "x": "[1, 2, 3]", "b1": "[0.1, 0.2, 0.3, 0.4]",
    "W2": json.dumps([[0.2 * (i - j) for j in range(4)] for i in range(2)]),
    "b2": "[0.5, -0.5]", "t": "[1, 0]",
}
SIZES = {"laptop": ("/", 1280, 800), "phone": ("/", 375, 740), "frame": ("/embed", 700, 450)}

# Steps through every step with the Next button; returns the steps whose pane scrolls.
WALK = """() => {
  const next = document.querySelector('[data-testid="step-next"]');
  const pane = document.querySelector('.stage > .stepper > .steps');
  const total = Number(document.querySelector('#stepper').dataset.total);
  const over = [];
  for (let k = 1; k <= total; k++) {
    next.click();
    const shown = pane.querySelector('li.step:not([hidden])');
    if (!shown || Number(shown.dataset.step) !== k) { over.push({k, missing: true}); continue; }
    // What a step sends on is the step: it is on screen wherever the step sends something.
    const sent = shown.querySelector('dl.explain dd.sent');
    if (sent && sent.getClientRects().length === 0) over.push({k, sentHidden: true});
    if (pane.scrollHeight > pane.clientHeight + 1 || pane.scrollWidth > pane.clientWidth + 1)
      over.push({k, height: pane.scrollHeight, room: pane.clientHeight,
                 width: pane.scrollWidth, wide: pane.clientWidth});
  }
  return {total, over};
}"""


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
@pytest.mark.parametrize("case", ["poly20"])
def test_every_step_fits_without_scrolling(case: str, size: str, new_page, base_url: str,
                                           screenshot):
    path, width, height = SIZES[size]
    params = {"expr": POLY20, "x": "1.1"} if case == "poly20" else {"expr": MLP, **MLP_VALUES}
    extra = {"readonly": "1", "hide": "code,examples"} if path == "/embed" else {}
    page: Page = new_page(viewport={"width": width, "height": height}, locale="en-US")
    page.goto(f"{base_url}{path}?" + urlencode({**params, **extra}, quote_via=quote))
    expect(page.get_by_test_id("step-counter")).to_be_visible()
    walked = page.evaluate(WALK)
    assert walked["total"] > 5
    screenshot(page, "last")
    assert walked["over"] == [], walked["over"][:5]
