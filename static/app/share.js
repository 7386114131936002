// Sharing: the copy buttons, and the share panel following a result computed in place.

const COPIED_MS = 2000;

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) {
      /* fall through to the old way */
    }
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "copy-buffer";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch (_) {
    ok = false;
  }
  area.remove();
  return ok;
}

async function onCopy(button) {
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const field = "value" in source && source.tagName !== "BUTTON";
  const ok = await copyText(field ? source.value : source.textContent);
  if (!ok) {
    // Select the text so it can be copied by hand.
    if (field) {
      source.select();
      return;
    }
    const range = document.createRange();
    range.selectNodeContents(source);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    return;
  }
  if (!button.dataset.label) button.dataset.label = button.textContent;
  if (button.dataset.copied) button.textContent = button.dataset.copied;
  button.classList.add("is-copied");
  window.clearTimeout(button._copiedTimer);
  button._copiedTimer = window.setTimeout(() => {
    button.textContent = button.dataset.label;
    button.classList.remove("is-copied");
  }, COPIED_MS);
}

/** After a result computed in place, the share panel (outside #result) must
 * offer the new state: its permalink, and the state its snippet is made from. */
function syncShare() {
  const link = document.querySelector('[data-testid="share-link"]');
  const state = document.querySelector('.share-options input[name="state"]');
  if (window.location.pathname !== "/" || !link || !state) return;
  link.value = window.location.origin + "/" + window.location.search;
  const query = window.location.search.replace(/^\?/, "");
  if (state.value !== query) {
    state.value = query;
    state.dispatchEvent(new Event("change", { bubbles: true }));
  }
}

export function bindShare() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    event.preventDefault();
    onCopy(button);
  });
  document.addEventListener("htmx:pushedIntoHistory", syncShare);
}
