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
  const group = $(".exercise", li);
  if (group) $$("input, button", group).forEach((el) => (el.disabled = true));
}

function questions(stepper) {
  return $$("li.step", stepper).filter((li) => $(".exercise", li));
}

/** Check a step's answers: right, a hint and a second try, or the worked step. */
function check(group) {
  const li = group.closest("li.step");
  const stepper = group.closest("#stepper");
  if (!li || !stepper || li.classList.contains("revealed")) return;
  const say = texts(stepper);
  const feedback = $(".exercise-feedback", group);
  const inputs = $$("input[data-expect]", group);
  const numbers = inputs.map((input) => parseNumber(input.value));
  const unreadable = inputs.find((input, i) => !Number.isFinite(numbers[i]));
  if (unreadable) {
    feedback.textContent = say.unreadable || "";
    unreadable.focus();
    return;
  }
  const rights = inputs.map((input, i) => isRight(numbers[i], Number(input.dataset.expect)));
  inputs.forEach((input, i) => input.setAttribute("aria-invalid", String(!rights[i])));
  const right = rights.every(Boolean);
  const tries = Number(li.dataset.tries || 0) + 1;
  li.dataset.tries = String(tries);
  if (right || tries >= 2) {
    li.dataset.outcome = right ? "right" : "wrong";
    feedback.textContent = right ? say.right : say.shown;
    feedback.classList.toggle("right", right);
    feedback.classList.toggle("wrong", !right);
    reveal(li);
    const done = updateSummary(stepper);
    // The summary when it is the last answer; otherwise Next, so the arrows step on.
    const summary = $(".exercise-summary", stepper);
    const next = $('[data-testid="step-next"]', stepper);
    if (done && summary) summary.focus();
    else if (next) next.focus();
    return;
  }
  feedback.textContent = `${say.wrong} ${group.dataset.hint || ""}`.trim();
  feedback.classList.add("wrong");
  const wrong = inputs[rights.indexOf(false)];
  wrong.focus();
  wrong.select();
}

/** Show the summary once every question is answered; returns whether it is. */
function updateSummary(stepper) {
  const summary = $(".exercise-summary", stepper);
  const asked = questions(stepper);
  const answered = asked.filter((li) => li.dataset.outcome);
  const right = asked.filter((li) => li.dataset.outcome === "right");
  const done = answered.length === asked.length;
  document.body.classList.toggle("exercise-done", done);
  if (!summary) return done;
  summary.hidden = !done;
  summary.textContent = (summary.dataset.template || "")
    .replace(/\{k\}/g, String(right.length))
    .replace(/\{n\}/g, String(asked.length));
  return done;
}

/** Set up the exercise on a stepper rendered with data-exercise="1". */
export function enhanceExercise() {
  const stepper = $('#stepper[data-exercise="1"]');
  if (!stepper || ready.has(stepper)) return;
  ready.add(stepper);
  document.body.classList.add("exercise-on");
  document.body.classList.remove("exercise-done");
  $$(".exercise", stepper).forEach((group) => {
    group.hidden = false;
    group.closest("li.step").classList.add("asks");
  });
  updateSummary(stepper);
}

function onStep(event) {
  const stepper = event.target;
  if (!stepper || !stepper.dataset || stepper.dataset.exercise !== "1") return;
  updateSummary(stepper);
  const shown = $$("li.step", stepper).find((li) => !li.hidden);
  if (!shown || !shown.classList.contains("asks") || shown.classList.contains("revealed")) return;
  // A screen reader hears the question, not the answer the step's sentence holds.
  const live = document.getElementById("step-live");
  if (event.detail && event.detail.announce && live) {
    live.textContent = $(".exercise-prompt", shown).textContent.trim();
  }
  // A step the student opened asks at once: the focus goes to its first box.
  if (event.detail && event.detail.announce) {
    const input = $("input[data-expect]", shown);
    if (input) input.focus({ preventScroll: true });
  }
}

export function bindExercise() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("#stepper .exercise-check");
    if (!button) return;
    event.preventDefault();
    check(button.closest(".exercise"));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    const input = event.target.closest && event.target.closest("#stepper .exercise input");
    if (!input) return;
    event.preventDefault();
    check(input.closest(".exercise"));
  });
  document.addEventListener("playground:step", onStep);
}
