// Node details: a click, tap or Enter on a graph node shows what it holds.

import { $, $$ } from "./dom.js";
import { detailsFor, graphNodes } from "./graph.js";
import { wasDrag } from "./pan-zoom.js";

function showDetails(g) {
  const details = detailsFor(g.id);
  if (!details) return;
  const section = details.closest(".details");
  $$(".node-details", section).forEach((d) => {
    d.hidden = d !== details;
  });
  if (section && section.hidden) {
    section.hidden = false;
    section.dataset.openedByScript = "1";
  }
  graphNodes().forEach((n) => n.classList.toggle("selected", n === g));
  details._openedFrom = g;
  if (!details.hasAttribute("tabindex")) details.setAttribute("tabindex", "-1");
  // The details open over the step, beside the graph: scroll only if they
  // are out of sight, so that the graph stays in view.
  const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  details.scrollIntoView({ behavior: reduce ? "auto" : "smooth", block: "nearest" });
  details.focus({ preventScroll: true });
}

function closeDetails(button) {
  const section = button.closest(".details");
  const panes = button.closest(".node-details")
    ? [button.closest(".node-details")]
    : section
      ? $$(".node-details", section)
      : [];
  let returnTo = null;
  panes.forEach((d) => {
    if (!d.hidden && d._openedFrom && d._openedFrom.isConnected) returnTo = d._openedFrom;
    d.hidden = true;
  });
  if (section && section.dataset.openedByScript) {
    section.hidden = true;
    delete section.dataset.openedByScript;
  }
  graphNodes().forEach((n) => n.classList.remove("selected"));
  if (returnTo) returnTo.focus({ preventScroll: true });
}

export function bindDetails() {
  document.addEventListener("click", (event) => {
    const t = event.target;
    if (!t.closest) return;
    const close = t.closest("[data-close-details]");
    if (close) {
      event.preventDefault();
      closeDetails(close);
      return;
    }
    const node = t.closest("#graph g.node");
    if (node && !wasDrag()) showDetails(node); // a drag moved the graph instead
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented) return;
    const t = event.target;
    if (event.key === "Escape") {
      const pane = t.closest && t.closest(".node-details");
      const close = pane && $("[data-close-details]", pane);
      if (close) closeDetails(close);
      return;
    }
    const node = t.closest && t.closest("#graph g.node[role='button']");
    if (node && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      showDetails(node);
    }
  });
}
