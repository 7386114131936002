// The theme toggle: light or dark, remembered in the URL, the form and the links.

import { $$, pageLinks, replaceUrlParam, setLinkParam } from "./dom.js";

export function shownTheme() {
  const set = document.documentElement.dataset.theme;
  if (set === "light" || set === "dark") return set;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  replaceUrlParam("theme", theme);
  // The next computation and every link to this page keep the choice.
  const form = document.getElementById("playground");
  if (form && !form.querySelector('input[name="theme"]')) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "theme";
    form.appendChild(input);
  }
  $$('input[name="theme"]').forEach((input) => {
    input.value = theme;
  });
  pageLinks().forEach((a) => setLinkParam(a, "theme", theme));
  syncThemeToggle();
}

/** The button names the theme it switches to, in the page's language. */
export function syncThemeToggle() {
  const button = document.getElementById("theme-toggle");
  if (!button) return;
  const next = shownTheme() === "dark" ? "light" : "dark";
  const label = button.dataset[next === "dark" ? "labelDark" : "labelLight"];
  if (label) button.textContent = label;
}

export function bindTheme() {
  document.addEventListener("click", (event) => {
    if (!event.target.closest || !event.target.closest("#theme-toggle")) return;
    event.preventDefault();
    setTheme(shownTheme() === "dark" ? "light" : "dark");
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", syncThemeToggle);
}
