// Zoom and pan on the graph (wheel, drag, pinch, buttons), by @panzoom/panzoom.

import Panzoom from "../vendor/panzoom.es.js";

const ZOOM_STEP = 1.25; // one press of + or -
const DRAG_THRESHOLD_PX = 5; // a pointer that moved less than this tapped

let current = null; // {svg, panzoom} for the graph on the page
const press = { x: 0, y: 0, dragged: false };

/** Give a newly arrived graph its pan and zoom; forget the one it replaced. */
export function attachPanZoom(svg) {
  if (current) current.panzoom.destroy(); // its listeners sit on document
  // Panzoom styles the SVG's parent: the canvas, not #graph itself. htmx copies
  // an element's style attribute to its successor with the same id on a swap,
  // which the CSP (style-src 'self') forbids.
  const area = svg.closest("#graph");
  const panzoom = Panzoom(svg, {
    canvas: true, // drag anywhere in the frame, not only on the drawing
    cursor: "", // the style sheet sets grab and grabbing
    minScale: 0.5,
    maxScale: 20,
    step: 0.2,
    // Not stopPropagation: a tap on a node must still reach its click handler.
    handleStartEvent: (event) => event.preventDefault(),
  });
  current = { svg, panzoom };
  svg.addEventListener("panzoomstart", () => area.classList.add("is-panning"));
  svg.addEventListener("panzoomend", () => area.classList.remove("is-panning"));
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
    panzoom.reset({ animate: false });
    return;
  }
  const frame = current.svg.closest("#graph").getBoundingClientRect();
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
