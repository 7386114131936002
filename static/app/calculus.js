// The calculus panels (loaded by htmx after the result): stepping through the
// graph of the gradient computation (order=2), one node at a time.

import { $, $$, firstTime } from "./dom.js";

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
  const svg = $("#second-graph svg");
  if (svg) {
    $$("g.node", svg).forEach((g) => {
      g.classList.toggle("current", g.id === current);
    });
  }
  const prev = $('[data-second="prev"]', stepper);
  const next = $('[data-second="next"]', stepper);
  if (prev) prev.disabled = k === 0;
  if (next) next.disabled = k === total;
}

export function enhanceCalculus() {
  const stepper = $("#second-stepper");
  if (stepper && firstTime(stepper)) show(stepper, 0);
}

export function bindCalculus() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("#second-stepper [data-second]");
    if (!button) return;
    const stepper = button.closest("#second-stepper");
    const k = parseInt(stepper.dataset.step, 10) || 0;
    show(stepper, button.dataset.second === "next" ? k + 1 : k - 1);
  });
}
