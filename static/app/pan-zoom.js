// Zoom and pan on the graph (wheel, drag, pinch, buttons), by @panzoom/panzoom,
// and following the step: when the fitted drawing is too small to read, the
// graph is shown zoomed to readable labels and each step pans to its node.
//
// Panzoom applies a new scale or pan in the next animation frame, and pans to
// its start values in a timeout of its own once made. So the followed view is
// worked out from the transform the browser shows now and set absolutely, and
// a graph that must be followed starts at that view.

import Panzoom from "../vendor/panzoom.es.js";
import { $, $$ } from "./dom.js";
import { edgeEnds } from "./graph.js";

const ZOOM_STEP = 1.25; // one press of + or -
const DRAG_THRESHOLD_PX = 5; // a pointer that moved less than this tapped

// Label sizes, in CSS pixels; a page can ask for bigger ones (presenter mode,
// for a projector) with --readable-label-px and --follow-label-px on #graph.
const READABLE_PX = 10; // smaller labels than this are not read, but guessed
const FOLLOW_PX = 13; // the label size the followed view zooms to, never less
const EDGE_PX = 16; // keep a node this far inside the pane's edge
const CLEAR_PX = 4; // the drawing ends this far above zoom buttons floating over it
const MAX_SCALE = 20; // the furthest zoom in, unless following needs more
const FITTED = { startScale: 1, startX: 0, startY: 0 }; // the whole drawing in its pane

let current = null; // {svg, panzoom, follow} for the graph on the page
const press = { x: 0, y: 0, dragged: false };

/** Give a newly arrived graph its pan and zoom; forget the one it replaced. */
export function attachPanZoom(svg) {
  if (current) current.panzoom.destroy(); // its listeners sit on document
  // Panzoom styles the SVG's parent: the canvas, not #graph itself. htmx copies
  // an element's style attribute to its successor with the same id on a swap,
  // which the CSP (style-src 'self') forbids.
  const area = svg.closest("#graph");
  clearOfControls(svg);
  const follow = needsFollowing(svg);
  const view = (follow && followedView(svg)) || { scale: 1, x: 0, y: 0 };
  const panzoom = Panzoom(svg, {
    canvas: true, // drag anywhere in the frame, not only on the drawing
    cursor: "", // the style sheet sets grab and grabbing
    minScale: 0.5,
    maxScale: roomToZoom(view.scale),
    // Where a followed graph starts: else Panzoom's own first pan would undo ours.
    startScale: view.scale,
    startX: view.x,
    startY: view.y,
    step: 0.2,
    // Not stopPropagation: a tap on a node must still reach its click handler.
    handleStartEvent: (event) => event.preventDefault(),
  });
  current = { svg, panzoom, follow: false };
  svg.addEventListener("panzoomstart", () => area.classList.add("is-panning"));
  svg.addEventListener("panzoomend", () => area.classList.remove("is-panning"));
  setFollow(follow);
  // Panzoom's own first pan, in a timeout, would undo a step taken before it
  // (an arrow key pressed while the page loads): follow that step again after it.
  window.setTimeout(() => followStep());
}

/** Where the zoom buttons float over the pane's foot (a short pane, a frame),
 * the canvas leaves them a strip: the whole drawing fits above it, and a
 * followed step is centred above it (visibleArea). Measured, since the
 * buttons' size and place follow the pane's. */
function clearOfControls(svg) {
  const canvas = svg.parentElement;
  const panel = svg.closest(".graph-panel");
  const controls = panel && $(".zoom-controls", panel);
  canvas.style.paddingBottom = "";
  if (!controls || getComputedStyle(controls).position !== "absolute") return;
  const pane = canvas.getBoundingClientRect();
  const buttons = controls.getBoundingClientRect();
  const covered = pane.bottom - buttons.top;
  if (covered > 0 && buttons.left < pane.right && buttons.right > pane.left) {
    canvas.style.paddingBottom = `${Math.ceil(covered + CLEAR_PX)}px`;
  }
}

/** The part of the pane the drawing is fitted to, on screen: the canvas
 * without the buttons' strip (the SVG's own box, before our transform). */
function visibleArea(svg) {
  const box = svg.parentElement.getBoundingClientRect();
  return { left: box.left, top: box.top, width: svg.clientWidth, height: svg.clientHeight };
}

/** The furthest zoom in: room to zoom in past the followed view. */
function roomToZoom(followScale) {
  return Math.max(MAX_SCALE, 2 * followScale);
}

/** The smallest labels' size on screen, in CSS pixels, with the drawing
 * fitted to its pane: the font size times the scale from the text to the
 * SVG's box (the viewBox, and Graphviz's own scale when it shrank a big
 * graph), without our zoom. */
function fittedLabelPx(svg) {
  const texts = $$("text[font-size]", svg).slice(0, 200);
  const sizes = texts.map((t) => parseFloat(t.getAttribute("font-size"))).filter((v) => v > 0);
  if (!sizes.length) return Infinity;
  const ctm = texts[0].getCTM();
  if (!ctm) return Infinity;
  return Math.min(...sizes) * Math.hypot(ctm.a, ctm.b);
}

/** A label size the style sheet sets on the graph's pane, or the default. */
function labelPx(svg, property, fallback) {
  const area = svg.closest("#graph");
  const value = area ? parseFloat(getComputedStyle(area).getPropertyValue(property)) : NaN;
  return value > 0 ? value : fallback;
}

/** Too small to read when fitted, and there are steps to follow (a graph
 * shown alone stays whole: it is there to be looked at as a whole). */
function needsFollowing(svg) {
  const readable = labelPx(svg, "--readable-label-px", READABLE_PX);
  return (
    svg.clientWidth > 0 && !!document.getElementById("stepper") && fittedLabelPx(svg) < readable
  );
}

function overviewButton() {
  return current && $("[data-zoom='reset']", current.svg.closest(".graph-panel") || document);
}

/** Turn following on or off. Where the fitted graph is too small to read,
 * one button goes between the two: "Whole graph" and "Follow the step". */
function setFollow(on) {
  if (!current) return;
  current.follow = on;
  const button = overviewButton();
  if (button) {
    // The label says what a press shows; data-showing names it for the icon.
    const showing = on || !needsFollowing(current.svg) ? "whole" : "follow";
    const label = showing === "whole" ? button.dataset.labelWhole : button.dataset.labelFollow;
    button.dataset.showing = showing;
    if (label) ($(".label", button) || button).textContent = label;
  }
  const area = current.svg.closest("#graph");
  if (area) area.classList.toggle("is-following", on);
  if (on) followStep();
  else current.panzoom.reset({ animate: false, ...FITTED });
}

/** Bring the current node and the nodes it sends to into the pane, at a
 * zoom where the labels can be read; with nothing current, the graph's top. */
export function followStep() {
  const panzoom = live();
  if (!panzoom || !current.follow) return;
  const view = followedView(current.svg);
  if (!view) return;
  // Pan rather than shrink: the labels keep FOLLOW_PX however big the graph.
  const room = roomToZoom(view.scale);
  if (panzoom.getOptions().maxScale < room) panzoom.setOptions({ maxScale: room });
  panzoom.zoom(view.scale, { animate: false, force: true });
  panzoom.pan(view.x, view.y, { animate: false, force: true });
}

/** The transform the browser shows now: Panzoom's own state may be a frame ahead. */
function shownTransform(svg) {
  const m = new DOMMatrixReadOnly(getComputedStyle(svg).transform);
  const scale = m.a > 0 ? m.a : 1;
  return { scale, x: m.e / scale, y: m.f / scale };
}

/** The boxes to bring into view, in CSS pixels from the SVG box's centre,
 * unzoomed: the current node and its inputs, or the top of the drawing. */
function boxesToShow(svg, shown, paneHeight, scale) {
  const all = svg.getBoundingClientRect();
  const cx = (all.left + all.right) / 2;
  const cy = (all.top + all.bottom) / 2;
  const node = $("g.node.current", svg);
  if (!node) {
    // The overview step: the top of the graph, where the walk will begin.
    const view = svg.viewBox.baseVal;
    const fit = Math.min(svg.clientWidth / view.width, svg.clientHeight / view.height);
    const top = (-view.height * fit) / 2; // the drawing is centred in its box
    const bottom = top + (paneHeight - 2 * EDGE_PX) / scale;
    return [{ left: -svg.clientWidth / 2, right: svg.clientWidth / 2, top, bottom }];
  }
  const inputs = new Set(
    $$("g.edge", svg)
      .map(edgeEnds)
      .filter(([, head]) => head === node.id)
      .map(([tail]) => tail),
  );
  return [node, ...$$("g.node", svg).filter((g) => inputs.has(g.id))].map((g) => {
    const r = g.getBoundingClientRect();
    return {
      left: (r.left - cx) / shown.scale,
      right: (r.right - cx) / shown.scale,
      top: (r.top - cy) / shown.scale,
      bottom: (r.bottom - cy) / shown.scale,
    };
  });
}

/** The scale and pan (Panzoom's absolute values) that follow the step. */
function followedView(svg) {
  const pane = visibleArea(svg);
  if (!pane.width || !pane.height) return null;
  const scale = Math.max(1, labelPx(svg, "--follow-label-px", FOLLOW_PX) / fittedLabelPx(svg));
  const shown = shownTransform(svg);
  const boxes = boxesToShow(svg, shown, pane.height, scale);
  const union = boxes.reduce((u, b) => ({
    left: Math.min(u.left, b.left),
    right: Math.max(u.right, b.right),
    top: Math.min(u.top, b.top),
    bottom: Math.max(u.bottom, b.bottom),
  }));
  // The node with its inputs if they fit the pane, else the node alone.
  const fits = (b) =>
    (b.right - b.left) * scale <= pane.width - 2 * EDGE_PX &&
    (b.bottom - b.top) * scale <= pane.height - 2 * EDGE_PX;
  const target = fits(union) ? union : boxes[0];
  // The SVG box's centre on screen before any transform (the transform's origin).
  const all = svg.getBoundingClientRect();
  const cx = (all.left + all.right) / 2 - shown.scale * shown.x;
  const cy = (all.top + all.bottom) / 2 - shown.scale * shown.y;
  // A point u from the centre shows at centre + scale * (u + pan): put the
  // target's middle in the pane's.
  return {
    scale,
    x: (pane.left + pane.width / 2 - cx) / scale - (target.left + target.right) / 2,
    y: (pane.top + pane.height / 2 - cy) / scale - (target.top + target.bottom) / 2,
  };
}

/** After the pane changed size: fit again, and follow again if that is on. */
export function refitGraph() {
  if (!live()) return;
  clearOfControls(current.svg);
  current.panzoom.reset({ animate: false, ...FITTED });
  setFollow(current.follow || needsFollowing(current.svg));
}

function live() {
  return current && current.svg.isConnected ? current.panzoom : null;
}

/** The + and - buttons zoom about the middle of the frame; Reset shows it all. */
function onZoomButton(button) {
  const panzoom = live();
  if (!panzoom) return;
  const how = button.dataset.zoom;
  if (how === "reset") {
    // Following: show the whole graph. Showing it: follow again, if that helps.
    setFollow(!current.follow && needsFollowing(current.svg));
    return;
  }
  const frame = visibleArea(current.svg);
  const factor = how === "in" ? ZOOM_STEP : 1 / ZOOM_STEP;
  panzoom.zoomToPoint(panzoom.getScale() * factor, {
    clientX: frame.left + frame.width / 2,
    clientY: frame.top + frame.height / 2,
  });
}

/** True if the click that follows was the end of a drag, not a tap. */
export function wasDrag() {
  return press.dragged;
}

export function bindPanZoom() {
  document.addEventListener("playground:step", () => followStep());
  let resizing = 0;
  window.addEventListener("resize", () => {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(refitGraph, 150);
  });
  document.addEventListener(
    "pointerdown",
    (event) => {
      if (!event.isPrimary) {
        press.dragged = true; // a pinch is never a tap
        return;
      }
      press.x = event.clientX;
      press.y = event.clientY;
      press.dragged = false;
    },
    true,
  );
  document.addEventListener(
    "pointermove",
    (event) => {
      if (!event.isPrimary || press.dragged || !event.buttons) return;
      const moved = Math.hypot(event.clientX - press.x, event.clientY - press.y);
      if (moved >= DRAG_THRESHOLD_PX) press.dragged = true;
    },
    true,
  );
  document.addEventListener(
    "wheel",
    (event) => {
      const panzoom = live();
      if (!panzoom || !event.target.closest || !event.target.closest("#graph")) return;
      event.preventDefault();
      // In proportion to how far the wheel turned: panzoom's zoomWithWheel
      // takes one fixed step per event, which a touchpad fires by the dozen.
      const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
      const delta = Math.max(-300, Math.min(300, event.deltaY * unit));
      panzoom.zoomToPoint(panzoom.getScale() * Math.exp(-delta * 0.002), event);
    },
    { passive: false },
  );
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-zoom]");
    if (!button) return;
    event.preventDefault();
    onZoomButton(button);
  });
}
