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

# Steps through every step with the Next button; returns the steps whose pane scrolls,
# or where a part of the step is missing or hidden. The parts of a step of an op: the
# node (its heading or sentence), what arrives, and for each input the local derivative
# or PyTorch's tensor rule, and what is sent on with the chain rule's numbers; a leaf's
# step is its sentence.
WALK = """() => {
  const next = document.querySelector('[data-testid="step-next"]');
  const pane = document.querySelector('.stage > .stepper > .steps');
  const total = Number(document.querySelector('#stepper').dataset.total);
  const seen = (el) => {
    const r = el.getBoundingClientRect();
    const room = pane.getBoundingClientRect();  // stepping scrolls the stage into view
    return el.getClientRects().length > 0 && r.top >= room.top - 1 && r.bottom <= room.bottom + 1;
  };
  const over = [];
  let parts = 0;
  for (let k = 1; k <= total; k++) {
    next.click();
    const shown = pane.querySelector('li.step:not([hidden])');
    if (!shown || Number(shown.dataset.step) !== k) { over.push({k, missing: "step"}); continue; }
    if (pane.scrollHeight > pane.clientHeight + 1 || pane.scrollWidth > pane.clientWidth + 1)
      over.push({k, height: pane.scrollHeight, room: pane.clientHeight,
                 width: pane.scrollWidth, wide: pane.clientWidth});
    const explain = shown.querySelector('dl.explain');
    const name = shown.querySelector('h3').textContent.split(' · ')[0].trim();
    const named = [...shown.querySelectorAll('h3, .sentence')]
      .some((el) => seen(el) && el.textContent.includes(name));
    if (!named) over.push({k, missing: "node", name});
    if (!explain) continue;
    const wanted = ['dd.arrived'];
    for (const dt of explain.querySelectorAll('dt')) {
      const dd = dt.nextElementSibling;
      if (dd.matches('[data-testid=local-derivative], [data-testid=tensor-rule], dd.sent')) {
        if (!seen(dt) || !seen(dd)) over.push({k, hidden: dt.textContent.trim()});
        parts += 1;
      }
    }
    if (!explain.querySelector('dd.sent, [data-testid=tensor-rule]') && explain.querySelector('dt + dd:not(.arrived)'))
      over.push({k, missing: "sent"});
    for (const chain of explain.querySelectorAll('dd.chain'))
      if (!seen(chain) || !/=/.test(chain.textContent)) over.push({k, hidden: "chain rule"});
    if (!seen(explain.querySelector('dd.arrived'))) over.push({k, hidden: "arrived"});
  }
  return {total, over, parts};
}"""


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_every_step_fits_without_scrolling(size: str, new_page, base_url: str, screenshot):
    path, width, height = SIZES[size]
    extra = {"readonly": "1", "hide": "code,examples"} if path == "/embed" else {}
    page: Page = new_page(viewport={"width": width, "height": height}, locale="en-US")
    cases = [("poly20", {"expr": POLY20, "x": "1.1"}, 59), ("mlp", {"expr": MLP, **MLP_VALUES}, 14),
             ("mlp-de", {"expr": MLP, **MLP_VALUES, "lang": "de"}, 14)]
    for case, params, steps in cases:
        page.goto(f"{base_url}{path}?" + urlencode({**params, **extra}, quote_via=quote))
        expect(page.get_by_test_id("step-counter")).to_be_visible()
        walked = page.evaluate(WALK)
        assert walked["total"] == steps, case
        assert walked["parts"] >= steps, case  # the rows of the steps were looked at
        screenshot(page, case)
        assert walked["over"] == [], (case, walked["over"][:5])
