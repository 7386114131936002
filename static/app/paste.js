/* A cell of several lines pasted into the one-line function field.
 *
 * A text input drops a paste's line breaks, so a notebook cell (import torch, x = ...,
 * y = ..., y.backward()) would arrive as one unreadable line. Such a paste opens the
 * page of that text instead, which the server shows as a program in its text area,
 * computed. Without scripts the server's refusal says where to paste it.
 */

import { withParam } from "./dom.js";

export function bindPaste() {
  document.addEventListener("paste", (event) => {
    const field = event.target;
    if (!(field instanceof HTMLInputElement) || field.id !== "expr" || field.readOnly) return;
    const text = event.clipboardData ? event.clipboardData.getData("text") : "";
    if (!/[\r\n]/.test(text.trim())) return;
    event.preventDefault();
    const form = field.form;
    const base = form ? form.getAttribute("action") + window.location.search : window.location.href;
    window.location.assign(withParam(withParam(base, "expr", text.trim()), "step", "0"));
  });
}
