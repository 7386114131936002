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

/** Percent-encoding as the server writes a query (app/web/state.py, _quote): letters,
 * digits, - _ . ~ and , [ ] stay; everything else is encoded, `*` as %2A (link finders end
 * a bare link at the first `*`) and a space as %20. */
export function encodeParam(text) {
  return encodeURIComponent(String(text))
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2C/g, ",")
    .replace(/%5B/g, "[")
    .replace(/%5D/g, "]");
}

function decodeParam(text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch (_) {
    return text;
  }
}

/** The one writer of a query in the page's scripts: ``search`` with ``name`` set to
 * ``value`` (in its place, or added at the end), every pair written as the server does. */
export function writeQuery(search, name, value) {
  const pairs = [];
  let found = false;
  for (const part of String(search).replace(/^\?/, "").split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const key = decodeParam(eq < 0 ? part : part.slice(0, eq));
    if (key === name) {
      if (!found) pairs.push([name, String(value)]);
      found = true;
    } else {
      pairs.push([key, decodeParam(eq < 0 ? "" : part.slice(eq + 1))]);
    }
  }
  if (!found) pairs.push([name, String(value)]);
  return `?${pairs.map(([k, v]) => `${encodeParam(k)}=${encodeParam(v)}`).join("&")}`;
}

/** Set one query parameter of the current URL without a reload. */
export function replaceUrlParam(name, value) {
  const url = withParam(window.location.href, name, value);
  try {
    window.history.replaceState(window.history.state, "", url);
  } catch (_) {
    /* some sandboxed contexts forbid it; the page still works */
  }
}

export function withParam(href, name, value) {
  const url = new URL(href, window.location.href);
  const written = url.pathname + writeQuery(url.search, name, value) + url.hash;
  return url.origin === window.location.origin ? written : url.origin + written;
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
