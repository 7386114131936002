"""axe-core on the playground: no serious or critical violation in any main state.

axe-core is the pinned npm copy that setup puts in static/vendor/; the page's
CSP allows scripts from its own origin, so it is loaded from there by URL.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

BLOCKING = {"serious", "critical"}

STATES = {
    "light": ({"x": 2, "theme": "light"}, {"color_scheme": "light"}),
    "dark": ({"x": 2, "theme": "dark"}, {"color_scheme": "dark"}),
    "german": ({"x": 2, "lang": "de"}, {"locale": "de-DE"}),
    "middle-step": ({"x": 2, "step": 5}, {}),
    "annotated": ({"x": 2, "view": "annotated", "step": 9}, {}),
    "phone": ({"x": 2, "step": 3}, {"viewport": {"width": 375, "height": 800},
                                    "is_mobile": True, "has_touch": True}),
}


def run_axe(page: Page, base_url: str) -> list[dict[str, Any]]:
    page.add_script_tag(url=f"{base_url}/static/vendor/axe.min.js")
    return page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:6]:
            lines.append(f"    {node['target']}: {node['failureSummary'].splitlines()[-1].strip()}")
            lines.append(f"      {node['html'][:160]}")
    return "\n".join(lines)


def assert_no_blocking_violations(page: Page, base_url: str) -> None:
    blocking = [v for v in run_axe(page, base_url) if v["impact"] in BLOCKING]
    assert not blocking, "axe found serious/critical violations:\n" + describe(blocking)


@pytest.mark.parametrize("state", list(STATES))
def test_no_serious_accessibility_violations(state, new_page, link, base_url, screenshot):
    params, context = STATES[state]
    page = new_page(**context)
    page.goto(link(**params))
    expect(page.get_by_test_id("step-counter")).to_be_visible()
    screenshot(page, "axe")
    assert_no_blocking_violations(page, base_url)


def test_no_serious_accessibility_violations_in_the_error_state(page: Page, link, base_url, screenshot):
    page.goto(link(x=2))
    field = page.get_by_test_id("expr")
    field.fill("")
    field.press_sequentially("5*x**", delay=20)
    field.press("Enter")
    expect(page.get_by_test_id("error")).to_be_visible()
    screenshot(page, "error")
    assert_no_blocking_violations(page, base_url)


def test_no_serious_accessibility_violations_with_node_details_open(page: Page, link, base_url):
    page.goto(link(x=2, step=9))
    page.locator("#graph g.node.current").click()
    expect(page.locator(".node-details:visible")).to_have_count(1)
    assert_no_blocking_violations(page, base_url)


def test_element_ids_are_unique(page: Page, link):
    """A label's ``for``, ``aria-labelledby`` and ``#id`` links need one element per id.

    axe 4.14 no longer checks this (its duplicate-id rules are deprecated), so it
    is checked here, on the page with the graph, the value fields and the steps.
    """
    page.goto(link("x**2*y + sin(y)", x=3, y=0.5, step=2))
    expect(page.get_by_test_id("step-counter")).to_be_visible()
    duplicates = page.evaluate(
        """() => {
          const seen = new Map();
          for (const el of document.querySelectorAll('[id]')) {
            const where = el.tagName.toLowerCase() + (el.closest('svg') ? ' in the graph' : '');
            seen.set(el.id, [...(seen.get(el.id) || []), where]);
          }
          return Object.fromEntries([...seen].filter(([, els]) => els.length > 1));
        }"""
    )
    assert duplicates == {}, f"ids used more than once: {duplicates}"
