// Stepping through the forward and backward pass: links, play/pause, arrow keys.
//
// The server renders every step's text and paint; this module only shows one
// step and applies its paint to the graph, so stepping needs no round trip.

import { $, $$, firstTime, isTyping, replaceUrlParam, setLinkParam, withParam } from "./dom.js";
import { edgeEnds, graphNodes, graphSvg } from "./graph.js";

const PLAY_INTERVAL_MS = 1200;

let playTimer = null;
let playingStepper = null;

export function stepperEl() {
  return document.getElementById("stepper");
}

function stepItems(stepper) {
  return $$("ol.steps > li.step", stepper);
}

function totalSteps(stepper) {
  const n = parseInt(stepper.dataset.total, 10);
  if (Number.isFinite(n)) return n;
  return Math.max(0, ...stepItems(stepper).map((li) => parseInt(li.dataset.step, 10) || 0));
}

function currentStep(stepper) {
  const k = parseInt(stepper.dataset.step, 10);
  return Number.isFinite(k) ? k : 0;
}

/** Show step k: the list item, the graph classes, counter, links, URL, live region. */
export function showStep(stepper, k, { announce = true, updateUrl = true, reveal = false } = {}) {
  const total = totalSteps(stepper);
  k = Math.min(Math.max(0, k), total);
  const items = stepItems(stepper);
  let shown = null;
  items.forEach((li) => {
    const here = parseInt(li.dataset.step, 10) === k;
    li.hidden = !here;
    if (here) {
      shown = li;
      li.dataset.testid = "step-explanation";
    } else if (li.dataset.testid) {
      delete li.dataset.testid;
    }
  });
  stepper.dataset.step = String(k);

  paintGraph(shown);

  const counter = $('[data-testid="step-counter"]', stepper);
  if (counter && counter.dataset.template) {
    counter.textContent = counter.dataset.template
      .replace(/\{k\}/g, String(k))
      .replace(/\{n\}/g, String(total));
  }

  const targets = {
    "step-first": 0,
    "step-prev": Math.max(0, k - 1),
    "step-next": Math.min(total, k + 1),
    "step-last": total,
  };
  Object.entries(targets).forEach(([testid, target]) => {
    const link = $(`[data-testid="${testid}"]`, stepper);
    if (!link) return;
    if (link.hasAttribute("href")) {
      link.setAttribute("href", withParam(link.getAttribute("href"), "step", target));
    }
    const atEnd = testid === "step-first" || testid === "step-prev" ? k === 0 : k === total;
    if (atEnd) link.setAttribute("aria-disabled", "true");
    else link.removeAttribute("aria-disabled");
  });

  if (updateUrl) {
    replaceUrlParam("step", k);
    // Switching the view or the language, or collapsing a line, keeps the step.
    $$(
      '[data-testid^="view-"][href], [data-testid^="lang-"][href], .lang-switch a[href], .lines-menu a[href]',
    ).forEach((a) => setLinkParam(a, "step", k));
    // The share panel offers the step on screen as the embed's start step.
    const shareStep = document.querySelector('[data-testid="share-step"]');
    if (shareStep && shareStep.value !== String(k)) {
      shareStep.value = String(k);
      shareStep.dispatchEvent(new Event("change", { bubbles: true }));
    }
    const shareLink = document.querySelector('[data-testid="share-link"]');
    if (shareLink) {
      shareLink.value = new URL(withParam(shareLink.value, "step", k), window.location.href).href;
    }
  }

  if (announce) {
    const live = document.getElementById("step-live");
    const sentence = shown && $(".sentence", shown);
    if (live) live.textContent = sentence ? sentence.textContent.trim() : "";
  }
  if (reveal) revealStage();

  // For other panels (the exercise, the graph's pan and zoom) that follow the step:
  //   document.addEventListener("playground:step", (e) => e.detail.step ...)
  stepper.dispatchEvent(
    new CustomEvent("playground:step", {
      bubbles: true,
      detail: { step: k, total, node: (shown && shown.dataset.node) || null, announce },
    }),
  );
}

/** Scroll the page so that the whole stage (graph, step and buttons) is on
 * screen, if it is not already; where it is taller than the screen, its top. */
function revealStage() {
  const stage = document.getElementById("stage");
  if (!stage) return;
  const box = stage.getBoundingClientRect();
  const margin = 8;
  if (box.top >= 0 && box.bottom <= window.innerHeight) return;
  window.scrollBy({ top: box.top - margin, behavior: "instant" });
}

/** Paint the graph as the server says this step looks (app/web/highlight.py):
 * its current node, the nodes done, and the nodes not built yet. */
function paintGraph(shown) {
  const svg = graphSvg();
  if (!svg) return;
  const words = (name) => new Set(((shown && shown.dataset[name]) || "").split(/\s+/).filter(Boolean));
  const current = (shown && shown.dataset.node) || "";
  const done = words("done");
  const unbuilt = words("unbuilt");
  graphNodes(svg).forEach((g) => {
    g.classList.toggle("unbuilt", unbuilt.has(g.id));
    g.classList.toggle("current", g.id === current);
    g.classList.toggle("done", done.has(g.id));
    if (g.id === current) g.setAttribute("aria-current", "step");
    else g.removeAttribute("aria-current");
  });
  // Edges: hidden while an end is not built; the ones into the current node lit.
  $$("g.edge", svg).forEach((edge) => {
    const [tail, head] = edgeEnds(edge);
    edge.classList.toggle("unbuilt", unbuilt.has(tail) || unbuilt.has(head));
    edge.classList.toggle("current", !!current && head === current);
  });
}

function stop() {
  if (playTimer !== null) window.clearInterval(playTimer);
  playTimer = null;
  const stepper = playingStepper;
  playingStepper = null;
  if (stepper) {
    stepper.classList.remove("is-playing");
    syncPlayButton(stepper, false);
  }
}

function syncPlayButton(stepper, playing) {
  const button = $('[data-testid="step-play"]', stepper);
  if (!button) return;
  const label = playing ? button.dataset.labelPause : button.dataset.labelPlay;
  const text = $(".label", button);
  const icon = $(".icon", button);
  if (label && text) text.textContent = label;
  if (icon) icon.textContent = playing ? "❚❚" : "▶";
}

function play(stepper) {
  stop();
  if (currentStep(stepper) >= totalSteps(stepper)) showStep(stepper, 0);
  playingStepper = stepper;
  stepper.classList.add("is-playing");
  syncPlayButton(stepper, true);
  playTimer = window.setInterval(() => {
    if (!stepper.isConnected) return stop();
    const next = currentStep(stepper) + 1;
    showStep(stepper, next, { reveal: true });
    if (next >= totalSteps(stepper)) stop();
  }, PLAY_INTERVAL_MS);
}

function stepTo(stepper, k) {
  stop();
  showStep(stepper, k, { reveal: true });
}

/** Set up the stepper on the page; `graphIsNew`: paint a swapped-in graph. */
export function enhanceStepper(graphIsNew) {
  const stepper = stepperEl();
  if (!stepper) return;
  if (!firstTime(stepper)) {
    // Only the graph was swapped (e.g. the other view): paint the step on it.
    if (graphIsNew) showStep(stepper, currentStep(stepper), { announce: false, updateUrl: false });
    return;
  }
  if (playingStepper && !playingStepper.isConnected) stop();
  syncPlayButton(stepper, false);
  // The server already rendered this step; apply it again so the graph,
  // counter and links agree even if the markup was restored from history.
  showStep(stepper, currentStep(stepper), { announce: false, updateUrl: false });
  if (stepper.dataset.autoplay === "1") play(stepper);
}

const STEP_LINKS = {
  "step-first": () => 0,
  "step-prev": (k) => k - 1,
  "step-next": (k) => k + 1,
  "step-last": (k, n) => n,
};

export function bindStepper() {
  // Capture phase: step links are handled here before anything else
  // (e.g. htmx boosting) can follow them.
  document.addEventListener(
    "click",
    (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
        return; // let "open in new tab" work
      }
      const link = event.target.closest && event.target.closest("#stepper [data-testid^='step-']");
      if (!link || !(link.dataset.testid in STEP_LINKS)) return;
      const stepper = link.closest("#stepper");
      event.preventDefault();
      event.stopPropagation();
      if (link.getAttribute("aria-disabled") === "true") return;
      const k = currentStep(stepper);
      stepTo(stepper, STEP_LINKS[link.dataset.testid](k, totalSteps(stepper)));
    },
    true,
  );

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest('#stepper [data-testid="step-play"]');
    if (!button) return;
    event.preventDefault();
    const stepper = button.closest("#stepper");
    if (playingStepper === stepper) stop();
    else play(stepper);
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented) return;
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (isTyping(document.activeElement)) return;
    const stepper = stepperEl();
    if (!stepper) return;
    event.preventDefault();
    stepTo(stepper, currentStep(stepper) + (event.key === "ArrowRight" ? 1 : -1));
  });

  // Leaving the page content: stop playing before htmx swaps it out.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail && event.detail.target;
    if (playingStepper && target && target.contains(playingStepper)) stop();
  });
}
