// While the function or a value is being edited, the results on screen
// belong to the old text: say so until the new result arrives.

import { $ } from "./dom.js";

function mark(stale) {
  const note = $('[data-testid="stale-note"]');
  const result = document.getElementById("result");
  if (note) note.hidden = !stale;
  if (result) result.classList.toggle("is-stale", stale);
}

export function bindStale() {
  document.addEventListener("input", (event) => {
    const field = event.target;
    if (!field.closest || !field.closest("#playground")) return;
    if (!field.matches("input[type='text'], input:not([type])") || field.readOnly) return;
    mark(true);
  });
  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail && event.detail.target;
    if (target && target.id === "result") mark(false);
  });
}
