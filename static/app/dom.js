// Small DOM and URL helpers that the other modules share.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const seen = new WeakSet();

/** True the first time it is asked about `el`: per-element set-up runs once,
 * however often htmx fires its load and swap events. */
export function firstTime(el) {
  if (!el || seen.has(el)) return false;
  seen.add(el);
  return true;
}

export function isTyping(el) {
  if (!el || el === document.body) return false;
  if (el.isContentEditable) return true;
  return el.matches("input, textarea, select");
}

/** Set one query parameter of the current URL without a reload. */
export function replaceUrlParam(name, value) {
  const url = new URL(window.location.href);
  url.searchParams.set(name, value);
  try {
    window.history.replaceState(window.history.state, "", url);
  } catch (_) {
    /* some sandboxed contexts forbid it; the page still works */
  }
}

export function withParam(href, name, value) {
  const url = new URL(href, window.location.href);
  url.searchParams.set(name, value);
  return url.origin === window.location.origin
    ? url.pathname + url.search + url.hash
    : url.href;
}

/** Set a query parameter on a link's href and, if it has one, its hx-get. */
export function setLinkParam(link, name, value) {
  const href = link.getAttribute("href");
  if (href && !href.startsWith("#")) link.setAttribute("href", withParam(href, name, value));
  const hxGet = link.getAttribute("hx-get");
  if (hxGet) {
    link.setAttribute("hx-get", withParam(hxGet, name, value));
    // htmx reads hx-get when it processes an element; have it look again.
    if (window.htmx && typeof window.htmx.process === "function") window.htmx.process(link);
  }
}

/** Links to this page (same origin and path), e.g. language, examples, views. */
export function pageLinks() {
  return $$("a[href]").filter((a) => {
    const href = a.getAttribute("href");
    if (!href || href.startsWith("#")) return false;
    const url = new URL(href, window.location.href);
    return url.origin === window.location.origin && url.pathname === window.location.pathname;
  });
}
