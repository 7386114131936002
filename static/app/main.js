/* Autograd Playground: progressive enhancement for the server-rendered page.
 *
 * The page works without these modules: every control is a link or a form,
 * and the server renders the current step already highlighted. They add
 * the theme toggle, client-side stepping, pan and zoom, node details, and
 * the copy buttons; this entry module wires them up.
 *
 * #result is swapped by htmx, so events are bound once on `document`
 * (delegation), and per-element set-up runs on DOMContentLoaded, htmx:load,
 * htmx:afterSwap and htmx:historyRestore, once per element.
 */

import { bindMenus, bindScrollables, markScrollables, revealErrorMarks } from "./blocks.js";
import { bindDetails } from "./details.js";
import { bindDownload } from "./download.js";
import { enhanceGraph } from "./graph.js";
import { attachPanZoom, bindPanZoom } from "./pan-zoom.js";
import { bindCalculus, enhanceCalculus } from "./calculus.js";
import { bindExercise, enhanceExercise } from "./exercise.js";
import { bindPaste } from "./paste.js";
import { bindShare } from "./share.js";
import { bindStale } from "./stale.js";
import { bindStepper, enhanceStepper } from "./stepper.js";
import { bindTheme, syncThemeToggle } from "./theme.js";

// The menus' Escape comes before the node details' Escape.
bindMenus();
bindTheme();
bindStepper();
bindPanZoom();
bindDetails();
bindShare();
bindPaste();
bindScrollables();
bindExercise();
bindCalculus();
bindStale();
bindDownload();

function init() {
  syncThemeToggle();
  const svg = enhanceGraph();
  if (svg) attachPanZoom(svg);
  enhanceStepper(Boolean(svg));
  enhanceExercise();
  enhanceCalculus();
  revealErrorMarks();
  markScrollables();
}

// A module runs after the document is parsed.
init();
document.addEventListener("htmx:load", init);
document.addEventListener("htmx:afterSwap", init);
document.addEventListener("htmx:historyRestore", init);
