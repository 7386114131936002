/* Autograd Playground: progressive enhancement for the server-rendered page.
 *
 * The page works without this file: every control is a link or a form, and
 * the server renders the current step already highlighted. This file adds:
 *   - the theme toggle (light/dark, remembered in the URL and the form),
 *   - stepping through the forward and backward pass on the client,
 *     with play/pause and the arrow keys,
 *   - zoom and pan on the graph (wheel, drag, pinch, buttons),
 *   - node details on click/tap/Enter,
 *   - copying the PyTorch code.
 *
 * #result is swapped by htmx, so everything is bound once on `document`
 * (event delegation) and per-element set-up runs idempotently on
 * DOMContentLoaded, htmx:load and htmx:afterSwap.
 */
(() => {
  "use strict";

  const PLAY_INTERVAL_MS = 1200;
  const COPIED_MS = 2000;
  const DRAG_THRESHOLD_PX = 5;
  const ZOOM_STEP = 1.25;
  const ZOOM_MIN = 0.5; // relative to the whole graph
  const ZOOM_MAX = 20;
  const MAX_UPSCALE = 1.75; // never blow a small graph up beyond this
  const SMALL_SCREEN = "(max-width: 900px)";

  const enhanced = new WeakSet(); // elements already set up

  // --- small helpers -------------------------------------------------------

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    return el.matches("input, textarea, select");
  }

  /** Set one query parameter of the current URL without a reload. */
  function replaceUrlParam(name, value) {
    const url = new URL(window.location.href);
    url.searchParams.set(name, value);
    try {
      window.history.replaceState(window.history.state, "", url);
    } catch (_) {
      /* some sandboxed contexts forbid it; the page still works */
    }
  }

  function withParam(href, name, value) {
    const url = new URL(href, window.location.href);
    url.searchParams.set(name, value);
    return url.origin === window.location.origin
      ? url.pathname + url.search + url.hash
      : url.href;
  }

  /** Set a query parameter on a link's href and, if it has one, its hx-get. */
  function setLinkParam(link, name, value) {
    const href = link.getAttribute("href");
    if (href && !href.startsWith("#")) link.setAttribute("href", withParam(href, name, value));
    const hxGet = link.getAttribute("hx-get");
    if (hxGet) {
      link.setAttribute("hx-get", withParam(hxGet, name, value));
      // htmx reads hx-get when it processes an element; have it look again.
      if (window.htmx && typeof window.htmx.process === "function") window.htmx.process(link);
    }
  }

  /** Links to this page (same origin, path "/"), e.g. language, examples, views. */
  function pageLinks() {
    return $$("a[href]").filter((a) => {
      const href = a.getAttribute("href");
      if (!href || href.startsWith("#")) return false;
      const url = new URL(href, window.location.href);
      return url.origin === window.location.origin && url.pathname === window.location.pathname;
    });
  }

  // --- theme -----------------------------------------------------------------

  function shownTheme() {
    const set = document.documentElement.dataset.theme;
    if (set === "light" || set === "dark") return set;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function setTheme(theme) {
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

  function syncThemeToggle() {
    const button = document.getElementById("theme-toggle");
    if (!button) return;
    const theme = shownTheme();
    // Optional translated labels naming the theme the button switches to.
    const next = theme === "dark" ? "light" : "dark";
    const label = button.dataset[next === "dark" ? "labelDark" : "labelLight"];
    if (label) button.textContent = label;
  }

  // --- graph: nodes, classes -------------------------------------------------

  function graphSvg() {
    return $("#graph svg");
  }

  function graphNodes(svg) {
    return svg ? $$("g.node", svg) : [];
  }

  /** Edge endpoints from Graphviz's <title>tail->head</title>. */
  function edgeEnds(edge) {
    if (!edge._ends) {
      const title = $("title", edge);
      const parts = title ? title.textContent.split("->") : [];
      edge._ends = parts.length === 2 ? [parts[0].trim(), parts[1].trim()] : [null, null];
    }
    return edge._ends;
  }

  /** The node's name: its details heading where that includes what the box
   * shows (e.g. "MulBackward0 5*x**3"), else the box's own text, which the
   * name must contain (WCAG 2.5.3, label in name). */
  function nodeLabel(g) {
    const squash = (text) => text.replace(/\s+/g, " ").trim();
    const own = squash($$("text", g).map((t) => t.textContent).join(" "));
    const details = detailsFor(g.id);
    const heading = details && $("h2, h3, h4", details);
    const named = heading ? squash(heading.textContent) : "";
    if (named && named.includes(own)) return named;
    return own || named || g.id;
  }

  function detailsFor(id) {
    if (!id) return null;
    return $$(".details .node-details").find((d) => d.dataset.node === id) || null;
  }

  /** Set up a newly arrived graph; true if it was new. */
  function enhanceGraph() {
    const svg = graphSvg();
    if (!svg || enhanced.has(svg)) return false;
    enhanced.add(svg);

    // Zoom state: the original viewBox, kept for reset.
    if (!svg.dataset.viewBox) {
      const vb = svg.getAttribute("viewBox");
      if (vb) {
        svg.dataset.viewBox = vb;
      } else {
        const box = svg.getBBox();
        svg.dataset.viewBox = `${box.x} ${box.y} ${box.width} ${box.height}`;
        svg.setAttribute("viewBox", svg.dataset.viewBox);
      }
    }
    // Fill the width, but don't blow a tiny graph up to cartoon size.
    const natural = svg.width && svg.width.baseVal;
    if (natural && natural.value > 0) {
      svg.style.maxWidth = `${Math.round(natural.value * MAX_UPSCALE)}px`;
    }

    let interactive = false;
    graphNodes(svg).forEach((g) => {
      if (!detailsFor(g.id)) return; // nothing to show: not a control
      interactive = true;
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      const label = nodeLabel(g);
      g.setAttribute("aria-label", label);
      const title = $("title", g);
      if (title) title.textContent = label; // the tooltip said "n3"
    });
    // A role="img" hides its children from assistive technology; once the
    // nodes are buttons the graph is a labelled group of them.
    const area = svg.closest("#graph");
    if (interactive && area && area.getAttribute("role") === "img") area.setAttribute("role", "group");
    return true;
  }

  // --- zoom and pan ------------------------------------------------------------

  function readViewBox(svg) {
    const vb = svg.viewBox.baseVal;
    return { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
  }

  function originalViewBox(svg) {
    const [x, y, w, h] = (svg.dataset.viewBox || "0 0 100 100").split(/[\s,]+/).map(Number);
    return { x, y, w, h };
  }

  /** Where the viewBox sits on screen (preserveAspectRatio xMidYMid meet). */
  function screenMapping(svg, vb) {
    const rect = svg.getBoundingClientRect();
    const scale = Math.min(rect.width / vb.w, rect.height / vb.h) || 1;
    return {
      scale,
      left: rect.left + (rect.width - vb.w * scale) / 2,
      top: rect.top + (rect.height - vb.h * scale) / 2,
    };
  }

  function clampViewBox(svg, vb) {
    const orig = originalViewBox(svg);
    // Keep the centre of the view over the graph, so it can't get lost.
    const cx = Math.min(Math.max(vb.x + vb.w / 2, orig.x), orig.x + orig.w);
    const cy = Math.min(Math.max(vb.y + vb.h / 2, orig.y), orig.y + orig.h);
    return { x: cx - vb.w / 2, y: cy - vb.h / 2, w: vb.w, h: vb.h };
  }

  function writeViewBox(svg, vb) {
    const v = clampViewBox(svg, vb);
    const r = (n) => Math.round(n * 100) / 100;
    svg.setAttribute("viewBox", `${r(v.x)} ${r(v.y)} ${r(v.w)} ${r(v.h)}`);
  }

  /** Zoom by `factor` (>1 = in) keeping the point under (clientX, clientY) fixed. */
  function zoomAt(svg, factor, clientX, clientY) {
    const vb = readViewBox(svg);
    const orig = originalViewBox(svg);
    const current = orig.w / vb.w;
    const target = Math.min(Math.max(current * factor, ZOOM_MIN), ZOOM_MAX);
    const f = target / current;
    if (!Number.isFinite(f) || f === 1) return;
    const m = screenMapping(svg, vb);
    let ux = vb.x + vb.w / 2;
    let uy = vb.y + vb.h / 2;
    if (clientX !== undefined) {
      ux = vb.x + (clientX - m.left) / m.scale;
      uy = vb.y + (clientY - m.top) / m.scale;
    }
    writeViewBox(svg, {
      x: ux - (ux - vb.x) / f,
      y: uy - (uy - vb.y) / f,
      w: vb.w / f,
      h: vb.h / f,
    });
  }

  function panBy(svg, dxPx, dyPx) {
    const vb = readViewBox(svg);
    const m = screenMapping(svg, vb);
    writeViewBox(svg, { x: vb.x - dxPx / m.scale, y: vb.y - dyPx / m.scale, w: vb.w, h: vb.h });
  }

  function resetZoom(svg) {
    svg.setAttribute("viewBox", svg.dataset.viewBox || svg.getAttribute("viewBox"));
  }

  // Pointer gestures on #graph: one pointer pans, two pinch.
  const gesture = {
    pointers: new Map(), // pointerId -> {x, y}
    startX: 0,
    startY: 0,
    dragged: false, // moved past the threshold since pointerdown
    suppressClick: false,
    pinchDist: 0,
  };

  function onPointerDown(event) {
    const area = event.target.closest && event.target.closest("#graph");
    if (!area || !graphSvg()) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    // A primary pointer starts a new gesture: forget any pointer whose "up"
    // we never saw (released outside the window, cancelled by the browser).
    if (event.isPrimary) gesture.pointers.clear();
    gesture.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (gesture.pointers.size === 1) {
      gesture.startX = event.clientX;
      gesture.startY = event.clientY;
      gesture.dragged = false;
      gesture.suppressClick = false;
    } else if (gesture.pointers.size === 2) {
      gesture.dragged = true; // a pinch is never a tap
      gesture.pinchDist = pinchDistance();
      capture(area, event.pointerId);
      gesture.pointers.forEach((_, id) => capture(area, id));
    }
  }

  function capture(area, pointerId) {
    try {
      area.setPointerCapture(pointerId);
    } catch (_) {
      /* pointer already gone */
    }
  }

  function pinchDistance() {
    const [a, b] = Array.from(gesture.pointers.values());
    return Math.hypot(a.x - b.x, a.y - b.y);
  }

  function pinchCentre() {
    const [a, b] = Array.from(gesture.pointers.values());
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }

  function onPointerMove(event) {
    const last = gesture.pointers.get(event.pointerId);
    if (!last) return;
    const svg = graphSvg();
    const area = document.getElementById("graph");
    if (!svg || !area) return;
    if (gesture.pointers.size === 1) {
      if (!gesture.dragged) {
        const moved = Math.hypot(event.clientX - gesture.startX, event.clientY - gesture.startY);
        if (moved < DRAG_THRESHOLD_PX) return;
        gesture.dragged = true;
        area.classList.add("is-panning");
        capture(area, event.pointerId);
      }
      panBy(svg, event.clientX - last.x, event.clientY - last.y);
      gesture.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    } else if (gesture.pointers.size === 2) {
      const before = pinchCentre();
      gesture.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      const after = pinchCentre();
      const dist = pinchDistance();
      if (gesture.pinchDist > 0 && dist > 0) {
        zoomAt(svg, dist / gesture.pinchDist, after.x, after.y);
      }
      gesture.pinchDist = dist;
      panBy(svg, after.x - before.x, after.y - before.y);
    }
    event.preventDefault();
  }

  function onPointerEnd(event) {
    if (!gesture.pointers.has(event.pointerId)) return;
    gesture.pointers.delete(event.pointerId);
    if (gesture.pointers.size === 1) {
      // Pinch became a pan: continue from the remaining finger.
      const [p] = Array.from(gesture.pointers.values());
      gesture.startX = p.x;
      gesture.startY = p.y;
    }
    if (gesture.pointers.size === 0) {
      gesture.suppressClick = gesture.dragged && event.type === "pointerup";
      gesture.dragged = false;
      const area = document.getElementById("graph");
      if (area) area.classList.remove("is-panning");
      // The click (if any) follows pointerup in the same task.
      window.setTimeout(() => {
        gesture.suppressClick = false;
      }, 0);
    }
  }

  function onWheel(event) {
    const area = event.target.closest && event.target.closest("#graph");
    const svg = area && graphSvg();
    if (!svg) return;
    event.preventDefault();
    const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
    const delta = Math.max(-300, Math.min(300, event.deltaY * unit));
    zoomAt(svg, Math.exp(-delta * 0.002), event.clientX, event.clientY);
  }

  function onZoomButton(button) {
    const svg = graphSvg();
    if (!svg) return;
    const how = button.dataset.zoom;
    if (how === "in") zoomAt(svg, ZOOM_STEP);
    else if (how === "out") zoomAt(svg, 1 / ZOOM_STEP);
    else resetZoom(svg);
  }

  // --- node details ----------------------------------------------------------

  function showDetails(g) {
    const details = detailsFor(g.id);
    if (!details) return;
    const section = details.closest(".details");
    $$(".node-details", section).forEach((d) => {
      d.hidden = d !== details;
    });
    if (section && section.hidden) {
      section.hidden = false;
      section.dataset.openedByScript = "1";
    }
    graphNodes(graphSvg()).forEach((n) => n.classList.toggle("selected", n === g));
    details._openedFrom = g;
    if (!details.hasAttribute("tabindex")) details.setAttribute("tabindex", "-1");
    // On a phone the details sit far below the graph; on a desktop this
    // only scrolls when they are out of sight.
    const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    details.scrollIntoView({
      behavior: reduce ? "auto" : "smooth",
      block: window.matchMedia(SMALL_SCREEN).matches ? "start" : "nearest",
    });
    details.focus({ preventScroll: true });
  }

  function closeDetails(button) {
    const section = button.closest(".details");
    const panes = button.closest(".node-details")
      ? [button.closest(".node-details")]
      : section
        ? $$(".node-details", section)
        : [];
    let returnTo = null;
    panes.forEach((d) => {
      if (!d.hidden && d._openedFrom && d._openedFrom.isConnected) returnTo = d._openedFrom;
      d.hidden = true;
    });
    if (section && section.dataset.openedByScript) {
      section.hidden = true;
      delete section.dataset.openedByScript;
    }
    graphNodes(graphSvg()).forEach((n) => n.classList.remove("selected"));
    if (returnTo) returnTo.focus({ preventScroll: true });
  }

  // --- stepper -----------------------------------------------------------------

  let playTimer = null;
  let playingStepper = null;

  function stepperEl() {
    return document.getElementById("stepper");
  }

  function stepItems(stepper) {
    return $$("ol.steps > li.step", stepper);
  }

  function totalSteps(stepper) {
    const n = parseInt(stepper.dataset.total, 10);
    if (Number.isFinite(n)) return n;
    return Math.max(0, ...stepItems(stepper).map((li) => parseInt(li.dataset.step, 10) || 0));
  }

  function currentStep(stepper) {
    const k = parseInt(stepper.dataset.step, 10);
    return Number.isFinite(k) ? k : 0;
  }

  /** Show step k: the list item, the graph classes, counter, links, URL, live region. */
  function showStep(stepper, k, { announce = true, updateUrl = true } = {}) {
    const total = totalSteps(stepper);
    k = Math.min(Math.max(0, k), total);
    const items = stepItems(stepper);
    let shown = null;
    items.forEach((li) => {
      const here = parseInt(li.dataset.step, 10) === k;
      li.hidden = !here;
      if (here) shown = li;
    });
    stepper.dataset.step = String(k);

    paintGraph(items, k, shown);

    const counter = $('[data-testid="step-counter"]', stepper);
    if (counter && counter.dataset.template) {
      counter.textContent = counter.dataset.template
        .replace(/\{k\}/g, String(k))
        .replace(/\{n\}/g, String(total));
    }

    const targets = {
      "step-first": 0,
      "step-prev": Math.max(0, k - 1),
      "step-next": Math.min(total, k + 1),
      "step-last": total,
    };
    Object.entries(targets).forEach(([testid, target]) => {
      const link = $(`[data-testid="${testid}"]`, stepper);
      if (!link) return;
      if (link.hasAttribute("href")) {
        link.setAttribute("href", withParam(link.getAttribute("href"), "step", target));
      }
      const atEnd = testid === "step-first" || testid === "step-prev" ? k === 0 : k === total;
      if (atEnd) link.setAttribute("aria-disabled", "true");
      else link.removeAttribute("aria-disabled");
    });

    if (updateUrl) {
      replaceUrlParam("step", k);
      // Switching the view or the language keeps the step.
      $$('[data-testid^="view-"][href], [data-testid^="lang-"][href], .lang-switch a[href]').forEach(
        (a) => setLinkParam(a, "step", k),
      );
      // The share panel offers the step on screen as the embed's start step.
      const shareStep = document.querySelector('[data-testid="share-step"]');
      if (shareStep && shareStep.value !== String(k)) {
        shareStep.value = String(k);
        shareStep.dispatchEvent(new Event("change", { bubbles: true }));
      }
      const shareLink = document.querySelector('[data-testid="share-link"]');
      if (shareLink) {
        const link = new URL(shareLink.value, window.location.href);
        link.searchParams.set("step", String(k));
        shareLink.value = link.href;
      }
    }

    if (announce) {
      const live = document.getElementById("step-live");
      const sentence = shown && $(".sentence", shown);
      if (live) live.textContent = sentence ? sentence.textContent.trim() : "";
    }
  }

  function paintGraph(items, k, shown) {
    const svg = graphSvg();
    if (!svg) return;
    const nodes = graphNodes(svg);
    const current = shown ? shown.dataset.node || "" : "";
    const done = new Set();
    items.forEach((li) => {
      const i = parseInt(li.dataset.step, 10);
      if (i >= 1 && i < k && !li.classList.contains("forward") && li.dataset.node) {
        done.add(li.dataset.node);
      }
    });
    let built = null; // null: everything exists
    if (shown && shown.classList.contains("forward") && shown.dataset.built !== undefined) {
      built = new Set(shown.dataset.built.split(/\s+/).filter(Boolean));
    }
    const unbuilt = new Set();
    nodes.forEach((g) => {
      const isUnbuilt = built !== null && !built.has(g.id);
      if (isUnbuilt) unbuilt.add(g.id);
      g.classList.toggle("unbuilt", isUnbuilt);
      g.classList.toggle("current", g.id === current);
      g.classList.toggle("done", g.id !== current && done.has(g.id));
      if (g.id === current) g.setAttribute("aria-current", "step");
      else g.removeAttribute("aria-current");
    });
    // Edges: hidden while an end is not built; the ones into the current node lit.
    $$("g.edge", svg).forEach((edge) => {
      const [tail, head] = edgeEnds(edge);
      edge.classList.toggle("unbuilt", unbuilt.has(tail) || unbuilt.has(head));
      edge.classList.toggle("current", !!current && head === current);
    });
  }

  function stop() {
    if (playTimer !== null) window.clearInterval(playTimer);
    playTimer = null;
    const stepper = playingStepper;
    playingStepper = null;
    if (stepper) {
      stepper.classList.remove("is-playing");
      syncPlayButton(stepper, false);
    }
  }

  function syncPlayButton(stepper, playing) {
    const button = $('[data-testid="step-play"]', stepper);
    if (!button) return;
    const label = playing ? button.dataset.labelPause : button.dataset.labelPlay;
    if (label) button.textContent = label;
  }

  function play(stepper) {
    stop();
    if (currentStep(stepper) >= totalSteps(stepper)) showStep(stepper, 0);
    playingStepper = stepper;
    stepper.classList.add("is-playing");
    syncPlayButton(stepper, true);
    playTimer = window.setInterval(() => {
      if (!stepper.isConnected) return stop();
      const next = currentStep(stepper) + 1;
      showStep(stepper, next);
      if (next >= totalSteps(stepper)) stop();
    }, PLAY_INTERVAL_MS);
  }

  function stepTo(stepper, k) {
    stop();
    showStep(stepper, k);
  }

  function enhanceStepper() {
    const stepper = stepperEl();
    if (!stepper || enhanced.has(stepper)) return;
    enhanced.add(stepper);
    if (playingStepper && !playingStepper.isConnected) stop();
    syncPlayButton(stepper, false);
    // The server already rendered this step; apply it again so the graph,
    // counter and links agree even if the markup was restored from history.
    showStep(stepper, currentStep(stepper), { announce: false, updateUrl: false });
    if (stepper.dataset.autoplay === "1") play(stepper);
  }

  // --- copy --------------------------------------------------------------------

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

  // --- delegated events ----------------------------------------------------------

  const STEP_LINKS = {
    "step-first": () => 0,
    "step-prev": (k) => k - 1,
    "step-next": (k) => k + 1,
    "step-last": (k, n) => n,
  };

  // Capture phase: step links are handled here before anything else
  // (e.g. htmx boosting) can follow them.
  document.addEventListener(
    "click",
    (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
        return; // let "open in new tab" work
      }
      const link = event.target.closest && event.target.closest("#stepper [data-testid^='step-']");
      if (!link || !(link.dataset.testid in STEP_LINKS)) return;
      const stepper = link.closest("#stepper");
      event.preventDefault();
      event.stopPropagation();
      if (link.getAttribute("aria-disabled") === "true") return;
      const k = currentStep(stepper);
      stepTo(stepper, STEP_LINKS[link.dataset.testid](k, totalSteps(stepper)));
    },
    true,
  );

  document.addEventListener("click", (event) => {
    const t = event.target;
    if (!t.closest) return;

    // A click anywhere outside an open examples menu closes it.
    $$("header details[open]").forEach((d) => {
      if (!d.contains(t)) d.open = false;
    });

    const themeButton = t.closest("#theme-toggle");
    if (themeButton) {
      event.preventDefault();
      setTheme(shownTheme() === "dark" ? "light" : "dark");
      return;
    }

    const playButton = t.closest('#stepper [data-testid="step-play"]');
    if (playButton) {
      event.preventDefault();
      const stepper = playButton.closest("#stepper");
      if (playingStepper === stepper) stop();
      else play(stepper);
      return;
    }

    const zoom = t.closest("[data-zoom]");
    if (zoom) {
      event.preventDefault();
      onZoomButton(zoom);
      return;
    }

    const copy = t.closest("[data-copy]");
    if (copy) {
      event.preventDefault();
      onCopy(copy);
      return;
    }

    const close = t.closest("[data-close-details]");
    if (close) {
      event.preventDefault();
      closeDetails(close);
      return;
    }

    const node = t.closest("#graph g.node");
    if (node) {
      if (gesture.suppressClick) return; // that was a pan, not a tap
      showDetails(node);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented) return;
    const t = event.target;

    if (event.key === "Escape") {
      const open = $("header details[open]");
      if (open) {
        open.open = false;
        const summary = $("summary", open);
        if (summary) summary.focus();
        return;
      }
      const pane = t.closest && t.closest(".node-details");
      const close = pane && $("[data-close-details]", pane);
      if (close) closeDetails(close);
      return;
    }

    const node = t.closest && t.closest("#graph g.node[role='button']");
    if (node && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      showDetails(node);
      return;
    }

    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (isTyping(document.activeElement)) return;
    const stepper = stepperEl();
    if (!stepper) return;
    event.preventDefault();
    stepTo(stepper, currentStep(stepper) + (event.key === "ArrowRight" ? 1 : -1));
  });

  document.addEventListener("pointerdown", onPointerDown);
  document.addEventListener("pointermove", onPointerMove, { passive: false });
  document.addEventListener("pointerup", onPointerEnd);
  document.addEventListener("pointercancel", onPointerEnd);
  document.addEventListener("wheel", onWheel, { passive: false });

  // Leaving the page content: stop playing before htmx swaps it out.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail && event.detail.target;
    if (playingStepper && target && target.contains(playingStepper)) stop();
  });

  window
    .matchMedia("(prefers-color-scheme: dark)")
    .addEventListener("change", syncThemeToggle);

  // --- errors ------------------------------------------------------------------

  /** A long function scrolls inside its box: bring the marked part into view. */
  function revealErrorMarks() {
    $$(".error-where").forEach((pre) => {
      const mark = $("mark", pre);
      if (!mark || enhanced.has(pre)) return;
      enhanced.add(pre);
      const overflow = pre.scrollWidth - pre.clientWidth;
      if (overflow <= 0) return;
      const preBox = pre.getBoundingClientRect();
      const markBox = mark.getBoundingClientRect();
      const centre = markBox.left - preBox.left + pre.scrollLeft + markBox.width / 2;
      pre.scrollLeft = Math.max(0, Math.min(overflow, centre - pre.clientWidth / 2));
    });
  }

  // --- scrollable blocks ---------------------------------------------------------

  /** A <pre> that scrolls sideways must be reachable by keyboard (WCAG 2.1.1). */
  function markScrollables() {
    $$("pre").forEach((pre) => {
      const scrolls = pre.scrollWidth > pre.clientWidth + 1;
      if (scrolls && !pre.hasAttribute("tabindex")) {
        pre.setAttribute("tabindex", "0");
        pre.dataset.scrollFocus = "1";
      } else if (!scrolls && pre.dataset.scrollFocus) {
        pre.removeAttribute("tabindex");
        delete pre.dataset.scrollFocus;
      }
    });
  }

  let resizeFrame = 0;
  window.addEventListener("resize", () => {
    if (resizeFrame) return;
    resizeFrame = window.requestAnimationFrame(() => {
      resizeFrame = 0;
      markScrollables();
    });
  });

  // --- set-up ----------------------------------------------------------------------

  function init() {
    syncThemeToggle();
    const freshGraph = enhanceGraph();
    const stepper = stepperEl();
    if (stepper && enhanced.has(stepper) && freshGraph) {
      // Only the graph was swapped (e.g. the other view): paint the step on it.
      showStep(stepper, currentStep(stepper), { announce: false, updateUrl: false });
    }
    enhanceStepper();
    revealErrorMarks();
    markScrollables();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  // After a result computed in place, the share panel (outside #result) must
  // offer the new state: its permalink, and the state its snippet is made from.
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

  document.addEventListener("htmx:pushedIntoHistory", syncShare);
  document.addEventListener("htmx:load", init);
  document.addEventListener("htmx:afterSwap", init);
  document.addEventListener("htmx:historyRestore", init);
})();
