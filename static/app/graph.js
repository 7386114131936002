// The graph's SVG as the server drew it: its nodes, edges and their names.

import { $, $$, firstTime } from "./dom.js";

const MAX_UPSCALE = 1.75; // never blow a small graph up beyond this

export function graphSvg() {
  return $("#graph svg");
}

export function graphNodes(svg = graphSvg()) {
  return svg ? $$("g.node", svg) : [];
}

/** Edge endpoints from Graphviz's <title>tail->head</title>. */
export function edgeEnds(edge) {
  if (!edge._ends) {
    const title = $("title", edge);
    const parts = title ? title.textContent.split("->") : [];
    edge._ends = parts.length === 2 ? [parts[0].trim(), parts[1].trim()] : [null, null];
  }
  return edge._ends;
}

export function detailsFor(id) {
  if (!id) return null;
  return $$(".details .node-details").find((d) => d.dataset.node === id) || null;
}

/** The node's name: its details heading where that includes what the box
 * shows (e.g. "MulBackward0 5*x**3"), else the box's own text, which the
 * name must contain (WCAG 2.5.3, label in name). */
function nodeLabel(g) {
  const squash = (text) => text.replace(/\s+/g, " ").trim();
  const own = squash($$("text", g).map((t) => t.textContent).join(" "));
  const details = detailsFor(g.id);
  const heading = details && $("h2, h3, h4", details);
  const named = heading ? squash(heading.textContent) : "";
  if (named && named.includes(own)) return named;
  return own || named || g.id;
}

/** Set up a newly arrived graph: nodes with details become buttons.
 * Returns the SVG if it is new, else null. */
export function enhanceGraph() {
  const svg = graphSvg();
  if (!firstTime(svg)) return null;

  // Fill the width, but don't blow a tiny graph up to cartoon size.
  const natural = svg.width && svg.width.baseVal;
  if (natural && natural.value > 0) {
    svg.style.maxWidth = `${Math.round(natural.value * MAX_UPSCALE)}px`;
  }
  const naturalHeight = svg.height && svg.height.baseVal;
  if (naturalHeight && naturalHeight.value > 0) {
    svg.style.maxHeight = `${Math.round(naturalHeight.value * MAX_UPSCALE)}px`;
  }

  let interactive = false;
  graphNodes(svg).forEach((g) => {
    if (!detailsFor(g.id)) return; // nothing to show: not a control
    interactive = true;
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    const label = nodeLabel(g);
    g.setAttribute("aria-label", label);
    const title = $("title", g);
    if (title) title.textContent = label; // the tooltip said "n3"
  });
  // A role="img" hides its children from assistive technology; once the
  // nodes are buttons the graph is a labelled group of them.
  const area = svg.closest("#graph");
  if (interactive && area && area.getAttribute("role") === "img") area.setAttribute("role", "group");
  return svg;
}
