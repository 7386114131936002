// Predict, then reveal (exercise=1): before a step's outgoing gradient is shown,
// the student types a prediction; right or wrong within a relative 1e-3; the
// worked step after a second try; a count of right steps at the end.
//
// The server renders each question (templates/exercise.html) and the step's
// text; this module hides the text until the question is answered. Nothing is
// sent anywhere: the answers live in this page only.

import { $, $$ } from "./dom.js";

// Steppers already set up (dom.firstTime is the stepper module's own mark).
const ready = new WeakSet();

export const TOLERANCE = 1e-3;

/** A typed number: 12, -0.5, -0,5 (decimal comma), 1/2, -3/4, 1e-3, 2.5e3. NaN if unreadable.
 * Parsed by hand (no eval): an optional sign, digits, an optional fraction. */
export function parseNumber(text) {
  const plain = String(text).trim().replace(/\s+/g, "").replace(/−/g, "-");
  const decimal = "[+-]?(?:\\d+(?:[.,]\\d*)?|[.,]\\d+)(?:[eE][+-]?\\d+)?";
  const one = new RegExp(`^${decimal}$`);
  const fraction = new RegExp(`^(${decimal})/(${decimal})$`);
  const read = (s) => Number(s.replace(",", "."));
  if (one.test(plain)) return read(plain);
  const m = fraction.exec(plain);
  if (m) {
    const denominator = read(m[2]);
    return denominator === 0 ? NaN : read(m[1]) / denominator;
  }
  return NaN;
}

/** Whether a prediction is right: within a relative TOLERANCE of the expected value. */
export function isRight(predicted, expected) {
  if (!Number.isFinite(predicted)) return false;
  if (expected === 0) return Math.abs(predicted) <= 1e-9;
  return Math.abs(predicted - expected) <= TOLERANCE * Math.abs(expected);
}

function texts(stepper) {
  const el = $(".exercise-text", stepper);
  return el ? el.dataset : {};
}

function reveal(li) {
  li.classList.add("revealed");
  const form = $("form.exercise", li);
  if (form) $$("input, button", form).forEach((el) => (el.disabled = true));
}

function onSubmit(form) {
  const li = form.closest("li.step");
  const stepper = form.closest("#stepper");
  if (!li || !stepper || li.classList.contains("revealed")) return;
  const say = texts(stepper);
  const feedback = $(".exercise-feedback", form);
  const inputs = $$("input[data-expect]", form);
  const numbers = inputs.map((input) => parseNumber(input.value));
  const unreadable = inputs.find((input, i) => !Number.isFinite(numbers[i]));
  if (unreadable) {
    feedback.textContent = say.unreadable || "";
    unreadable.focus();
    return;
  }
  const right = inputs.every((input, i) => isRight(numbers[i], Number(input.dataset.expect)));
  inputs.forEach((input, i) =>
    input.setAttribute("aria-invalid", String(!isRight(numbers[i], Number(input.dataset.expect)))),
  );
  const tries = Number(li.dataset.tries || 0) + 1;
  li.dataset.tries = String(tries);
  if (right || tries >= 2) {
    li.dataset.outcome = right ? "right" : "wrong";
    feedback.textContent = right ? say.right : say.shown;
    feedback.classList.toggle("right", right);
    feedback.classList.toggle("wrong", !right);
    reveal(li);
    // The keys step on from here: leave the field, so the arrows are the stepper's again.
    const next = $('[data-testid="step-next"]', stepper);
    if (next) next.focus();
    updateSummary(stepper);
    return;
  }
  feedback.textContent = say.wrong;
  feedback.classList.add("wrong");
  inputs[0].select();
}

function updateSummary(stepper) {
  const summary = $(".exercise-summary", stepper);
  if (!summary) return;
  const questions = $$("li.step", stepper).filter((li) => $("form.exercise", li));
  const answered = questions.filter((li) => li.dataset.outcome);
  const right = questions.filter((li) => li.dataset.outcome === "right");
  const k = parseInt(stepper.dataset.step, 10) || 0;
  const total = parseInt(stepper.dataset.total, 10) || 0;
  const done = answered.length === questions.length || (total > 0 && k >= total);
  summary.hidden = !done;
  document.body.classList.toggle("exercise-done", done);
  summary.textContent = (summary.dataset.template || "")
    .replace(/\{k\}/g, String(right.length))
    .replace(/\{n\}/g, String(questions.length));
}

/** Set up the exercise on a stepper rendered with data-exercise="1". */
export function enhanceExercise() {
  const stepper = $('#stepper[data-exercise="1"]');
  if (!stepper || ready.has(stepper)) return;
  ready.add(stepper);
  document.body.classList.add("exercise-on");
  document.body.classList.remove("exercise-done");
  $$("form.exercise", stepper).forEach((form) => {
    form.hidden = false;
    form.closest("li.step").classList.add("asks");
  });
  updateSummary(stepper);
}

export function bindExercise() {
  document.addEventListener("submit", (event) => {
    const form = event.target.closest && event.target.closest("#stepper form.exercise");
    if (!form) return;
    event.preventDefault();
    event.stopPropagation();
    onSubmit(form);
  }, true);
  document.addEventListener("playground:step", (event) => {
    const stepper = event.target;
    if (!stepper || !stepper.dataset || stepper.dataset.exercise !== "1") return;
    updateSummary(stepper);
    // A screen reader hears the question, not the answer the step's sentence holds.
    const shown = $$("li.step", stepper).find((li) => !li.hidden);
    const live = document.getElementById("step-live");
    if (event.detail && event.detail.announce && live && shown && shown.classList.contains("asks")
        && !shown.classList.contains("revealed")) {
      live.textContent = $(".exercise-prompt", shown).textContent.trim();
    }
  });
}
