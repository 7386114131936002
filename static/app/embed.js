// Inside an embedded frame (/embed): fit the stage to the frame, and tell the
// course page how tall the content wants to be.
//
// The stage (graph and current step) takes the height the frame has left
// below the form and the result: this module measures what is above it into
// --above-stage, so a fixed frame (700 x 450, no script) shows the graph and
// the current step without scrolling.
//
// Message, sent to the parent whenever the wanted height changes:
//   {type: "autograd-playground:height", height: <CSS pixels, a number>}
// The wanted height counts the stage at a fixed, comfortable height, not at
// the height it has now; so it does not change from step to step, and a frame
// that the host script sizes does not grow with its own content. The height is
// no secret, so any parent may read it ("*"). /static/embed-host.js is a small
// script a course page can include to resize its frames from it. A host
// script that starts after a frame's first report asks again with
//   {type: "autograd-playground:measure"}
// and the frame answers with its height, changed or not.

const WANTED_STAGE_PX = { wide: 400, narrow: 560 }; // side by side, stacked
const REVEAL_MARGIN_PX = 8; // stepper.js scrolls the stage this far below the frame's top

let last = 0;
let above = -1;

function stage() {
  return document.getElementById("stage");
}

/** Put the height of what is above the stage into --above-stage. Where that
 * leaves the stage less than its min-height (a program's form and result), the
 * frame scrolls anyway: the stage takes the whole frame, less the margin that
 * stepping scrolls it to, so that each step fits its pane. */
function measure() {
  const s = stage();
  if (!s) return;
  const top = Math.ceil(s.getBoundingClientRect().top + window.scrollY);
  const cramped = window.innerHeight - top < parseFloat(getComputedStyle(s).minHeight);
  const value = cramped ? REVEAL_MARGIN_PX : top;
  if (value === above) return;
  above = value;
  document.documentElement.style.setProperty("--above-stage", `${value}px`);
}

function wantedHeight() {
  const page = Math.ceil(document.documentElement.getBoundingClientRect().height);
  const s = stage();
  if (!s || s.classList.contains("no-graph")) return page;
  const stacked = window.matchMedia("(max-width: 479px)").matches; // embed.css stacks below 480px
  const wanted = stacked ? WANTED_STAGE_PX.narrow : WANTED_STAGE_PX.wide;
  return page - Math.round(s.getBoundingClientRect().height) + wanted;
}

function report() {
  if (window.parent === window) return;
  const height = wantedHeight();
  if (height === last) return;
  last = height;
  window.parent.postMessage({ type: "autograd-playground:height", height }, "*");
}

function update() {
  measure();
  report();
}

// A module runs after the document is parsed.
new ResizeObserver(update).observe(document.body);
document.body.addEventListener("htmx:afterSettle", update);
window.addEventListener("resize", update);
if (window.parent !== window) {
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    if (!event.data || event.data.type !== "autograd-playground:measure") return;
    last = 0;
    report();
  });
}
update();
