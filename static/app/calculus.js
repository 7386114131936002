// The calculus panels (loaded by htmx after the result): stepping through the
// graph of the gradient computation (order=2), one node at a time, on a stage
// like the first order's: the graph in one pane, the step in the other.
//
// The second graph is drawn at the main graph's scale (its labels as tall as
// the main graph's on screen), in a pane that scrolls; each step scrolls that
// pane, not the page, so that the lit node stays beside its explanation.

import { $, $$, firstTime } from "./dom.js";

const MIN_LABEL_PX = 12; // never smaller than this, whatever the main graph shows
const EDGE_PX = 16; // keep the lit node this far inside the pane's edge

/** The height of a graph's first label on screen, in CSS pixels; 0 if none shows. */
function labelPx(svg) {
  const text = svg && $("g.node text", svg);
  return text ? text.getBoundingClientRect().height : 0;
}

/** Size the second graph so that its labels read as tall as the main graph's. */
function matchScale(svg) {
  const view = svg.viewBox.baseVal;
  const text = $("g.node text", svg);
  if (!view || !view.width || !text) return;
  const own = text.getBBox().height; // in the drawing's own units
  const target = Math.max(labelPx($("#graph svg")), MIN_LABEL_PX);
  const scale = own > 0 ? target / own : 1;
  svg.setAttribute("width", String(Math.round(view.width * scale)));
  svg.setAttribute("height", String(Math.round(view.height * scale)));
  svg.classList.add("is-scaled");
}

/** Scroll the graph's pane (only it) so that the lit node sits in its middle;
 * with nothing lit, show the drawing's top, where the walk begins. */
function follow(pane, node) {
  if (!pane) return;
  if (!node) {
    pane.scrollTo({ top: 0, left: (pane.scrollWidth - pane.clientWidth) / 2, behavior: "instant" });
    return;
  }
  const frame = pane.getBoundingClientRect();
  const box = node.getBoundingClientRect();
  const inside =
    box.left >= frame.left + EDGE_PX && box.right <= frame.right - EDGE_PX &&
    box.top >= frame.top + EDGE_PX && box.bottom <= frame.bottom - EDGE_PX;
  if (inside) return;
  pane.scrollTo({
    left: pane.scrollLeft + box.left + box.width / 2 - (frame.left + frame.width / 2),
    top: pane.scrollTop + box.top + box.height / 2 - (frame.top + frame.height / 2),
    behavior: "instant",
  });
}

function show(stepper, k) {
  const total = parseInt(stepper.dataset.total, 10) || 0;
  k = Math.min(Math.max(0, k), total);
  stepper.dataset.step = String(k);
  let current = "";
  $$("ol.steps > li", stepper).forEach((li) => {
    const here = parseInt(li.dataset.step, 10) === k;
    li.hidden = !here;
    if (here) current = li.dataset.node || "";
  });
  const counter = $(".step-counter", stepper);
  if (counter && counter.dataset.template) {
    counter.textContent = counter.dataset.template.replace(/\{k\}/g, String(k)).replace(/\{n\}/g, String(total));
  }
  const pane = $("#second-graph");
  const svg = pane && $("svg", pane);
  let lit = null;
  if (svg) {
    $$("g.node", svg).forEach((g) => {
      g.classList.toggle("current", g.id === current);
      if (g.id === current) lit = g;
    });
  }
  follow(pane, lit);
  const steps = $("ol.steps", stepper);
  if (steps) steps.scrollTop = 0;
  const prev = $('[data-second="prev"]', stepper);
  const next = $('[data-second="next"]', stepper);
  if (prev) prev.disabled = k === 0;
  if (next) next.disabled = k === total;
}

export function enhanceCalculus() {
  const stepper = $("#second-stepper");
  if (!stepper || !firstTime(stepper)) return;
  const svg = $("#second-graph svg");
  if (svg) matchScale(svg);
  show(stepper, 0);
}

export function bindCalculus() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("#second-stepper [data-second]");
    if (!button) return;
    const stepper = button.closest("#second-stepper");
    const k = parseInt(stepper.dataset.step, 10) || 0;
    show(stepper, button.dataset.second === "next" ? k + 1 : k - 1);
  });
  let resizing = 0;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(() => {
      const stepper = $("#second-stepper");
      const svg = $("#second-graph svg");
      if (!stepper || !svg) return;
      matchScale(svg);
      show(stepper, parseInt(stepper.dataset.step, 10) || 0);
    }, 150);
  });
}
