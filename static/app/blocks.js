// The header's menus, and blocks of text that scroll sideways.

import { $, $$, firstTime } from "./dom.js";

const MENUS = "header details[open], details.lines-menu[open]";

export function bindMenus() {
  // A click anywhere outside an open menu (Examples, Share, the graph's Lines) closes it.
  document.addEventListener("click", (event) => {
    const t = event.target;
    $$(MENUS).forEach((d) => {
      if (!d.contains(t)) d.open = false;
    });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    const open = $(MENUS);
    if (!open) return;
    event.preventDefault(); // this Escape is spent: node details stay open
    open.open = false;
    const summary = $("summary", open);
    if (summary) summary.focus();
  });
  // A link of the Lines menu (or an "Expand" link of a collapsed line) is replaced by
  // its own answer: the focus goes back to the new menu's button, not the page's start.
  const lineLinks = ".lines-menu a, [data-testid^='expand-'], [data-testid^='details-expand-']";
  document.addEventListener("htmx:afterSettle", (event) => {
    const from = event.detail && event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!from || !from.matches || !from.matches(lineLinks)) return;
    if (document.activeElement && document.activeElement !== document.body) return;
    const summary = $("[data-testid=lines-menu] > summary");
    if (summary) summary.focus({ preventScroll: true });
  });
}

/** A long function scrolls inside its box: bring the marked part into view. */
export function revealErrorMarks() {
  $$(".error-where").forEach((pre) => {
    const mark = $("mark", pre);
    if (!mark || !firstTime(pre)) return;
    const overflow = pre.scrollWidth - pre.clientWidth;
    if (overflow <= 0) return;
    const preBox = pre.getBoundingClientRect();
    const markBox = mark.getBoundingClientRect();
    const centre = markBox.left - preBox.left + pre.scrollLeft + markBox.width / 2;
    pre.scrollLeft = Math.max(0, Math.min(overflow, centre - pre.clientWidth / 2));
  });
}

/** A <pre> that scrolls sideways must be reachable by keyboard (WCAG 2.1.1). */
export function markScrollables() {
  $$("pre").forEach((pre) => {
    const scrolls = pre.scrollWidth > pre.clientWidth + 1;
    if (scrolls && !pre.hasAttribute("tabindex")) {
      pre.setAttribute("tabindex", "0");
      pre.dataset.scrollFocus = "1";
    } else if (!scrolls && pre.dataset.scrollFocus) {
      pre.removeAttribute("tabindex");
      delete pre.dataset.scrollFocus;
    }
  });
}

export function bindScrollables() {
  let frame = 0;
  window.addEventListener("resize", () => {
    if (frame) return;
    frame = window.requestAnimationFrame(() => {
      frame = 0;
      markScrollables();
    });
  });
}
