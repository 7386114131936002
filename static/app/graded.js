/* A graded exercise launched from a course (templates/lti/activity.html).
 *
 * The server judges every answer: each question is a form that htmx posts to
 * /lti/answer, and the activity block it answers with replaces this one. This
 * module only moves the focus to what the new block asks for (the open
 * question's first box, or at the end what became of the score), and shows the sentence of
 * a refused answer (a 4xx or 503 page, which htmx would not swap) in the
 * question's status line. Without it, each form reloads the page. */

import { $ } from "./dom.js";

function focusActivity() {
  const activity = document.getElementById("activity");
  if (!activity) return;
  const invalid = $('input[aria-invalid="true"]', activity);
  const box = invalid || $(".graded-question input[name=answer]", activity);
  if (box) {
    box.focus({ preventScroll: true });
    if (invalid) box.select();
    return;
  }
  const outcome = $(".graded-sent, .graded-failed, .exercise-summary", activity);
  if (outcome) outcome.focus({ preventScroll: true });
}

/** A refused answer's sentence, from the one-sentence page the server sent. */
function refusal(xhr) {
  const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
  const sentence = $(".error-message", page);
  return sentence ? sentence.textContent.trim() : "";
}

// After an outerHTML swap the block is new: whatever htmx names as the target, look again.
document.addEventListener("htmx:afterSwap", focusActivity);

document.addEventListener("htmx:responseError", (event) => {
  const form = event.detail && event.detail.elt && event.detail.elt.closest("#activity form");
  if (!form) return;
  const status = $("[role=status]", form) || $(".graded-finish", document);
  const text = refusal(event.detail.xhr);
  if (status && text) {
    status.textContent = text;
    status.classList.add("wrong");
  }
});
