// One show() output: the pictures inlined, the step table made a stepper, the picture
// following the step, a click on a node opening its details. output.html wraps this in a
// function of its own and calls init(root), so that outputs in one notebook share nothing.
// The page's scripts do the same for the page (static/app/stepper.js, details.js).

const PLAY_INTERVAL_MS = 1200;

function init(root) {
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  inlinePictures(root);
  const table = root.querySelector(".step-table");
  const prefix = root.dataset.prefix;
  const out = {
    root,
    table,
    labels: table ? JSON.parse(table.dataset.labels) : {},
    canvases: Array.from(root.querySelectorAll(".graph-canvas")),
    // <prefix>t-n3 (torchviz), <prefix>a-n3 (with values), <prefix>c-n3 (collapsed): n3
    nodeId: (g) => g.id.slice(prefix.length + 2),
  };
  out.nodes = () => out.canvases.flatMap((c) => Array.from(c.querySelectorAll("g.node")));
  makeViewSwitch(out);
  makeDetails(out);
  if (table) makeStepper(out);
}

function button(testid, text, label) {
  const b = document.createElement("button");
  b.type = "button";
  b.dataset.testid = testid;
  b.textContent = text;
  if (label) b.setAttribute("aria-label", label);
  return b;
}

// Each picture arrives as an <img> of its SVG (readable where no script runs);
// inlined, its nodes can be lit and clicked.
function inlinePictures(root) {
  root.querySelectorAll('.graph-canvas > img[src^="data:image/svg+xml;base64,"]').forEach((img) => {
    const bytes = Uint8Array.from(atob(img.getAttribute("src").split(",")[1]), (c) => c.charCodeAt(0));
    const parsed = new DOMParser().parseFromString(new TextDecoder().decode(bytes), "image/svg+xml");
    const svg = parsed.documentElement;
    if (svg.nodeName !== "svg") return; // keep the picture as it is
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", img.alt);
    img.replaceWith(document.importNode(svg, true));
  });
}

function makeViewSwitch(out) {
  const { root, labels, canvases } = out;
  const graph = root.querySelector(".graph");
  if (!graph) return;
  // The pictures drawn beside the first (with values; every module collapsed) join it.
  root.querySelectorAll("details.values, details.collapsed").forEach((holder) => {
    graph.appendChild(holder.querySelector(".graph-canvas"));
    holder.hidden = true;
  });
  const has = (view) => canvases.some((c) => c.dataset.view === view);
  const group = document.createElement("div");
  group.className = "view-switch";
  group.setAttribute("role", "group");
  const plain = button("view-torchviz", labels.torchviz);
  const withValues = button("view-annotated", labels.annotated);
  const fold = button("lines-collapse-all", labels.collapse);
  let view = "torchviz";
  let folded = false;
  const choose = () => {
    const shown = view === "torchviz" && folded ? "collapsed" : view;
    canvases.forEach((c) => { c.hidden = c.dataset.view !== shown; });
    plain.setAttribute("aria-pressed", String(view === "torchviz"));
    withValues.setAttribute("aria-pressed", String(view === "annotated"));
    fold.dataset.testid = folded ? "lines-expand-all" : "lines-collapse-all";
    fold.textContent = folded ? labels.expand : labels.collapse;
    fold.hidden = view !== "torchviz";
  };
  plain.addEventListener("click", () => { view = "torchviz"; choose(); });
  withValues.addEventListener("click", () => { view = "annotated"; choose(); });
  fold.addEventListener("click", () => { folded = !folded; choose(); });
  if (has("annotated")) group.append(plain, withValues);
  if (has("collapsed")) group.append(fold);
  graph.before(group);
  choose();
}

function makeStepper(out) {
  const { root, table, labels } = out;
  const rows = Array.from(table.querySelectorAll("tbody tr.step"));
  const overview = root.querySelector(".overview");
  const stepper = document.createElement("div");
  stepper.className = "stepper";
  stepper.dataset.testid = "stepper";
  const play = button("step-play", "▶ " + labels.play);
  const first = button("step-first", "⇤", labels.first);
  const prev = button("step-prev", "◀ " + labels.prev);
  const next = button("step-next", labels.next + " ▶");
  const last = button("step-last", "⇥", labels.last);
  const counter = document.createElement("p");
  counter.className = "step-counter";
  counter.dataset.testid = "step-counter";
  const controls = document.createElement("div");
  controls.className = "step-controls";
  controls.append(play, first, prev, next, last, counter);
  const list = document.createElement("ol");
  list.className = "steps";
  const items = [overview, ...rows].map((source, k) => stepItem(source, k));
  list.append(...items);
  const live = document.createElement("div");
  live.className = "visually-hidden";
  live.setAttribute("aria-live", "polite");
  live.dataset.testid = "step-live";
  stepper.append(controls, list, live);
  overview.hidden = true;
  table.hidden = true;
  table.after(stepper);
  const state = { k: 0, total: rows.length, timer: null };
  const show = (k, announce) => {
    state.k = Math.min(Math.max(0, k), state.total);
    items.forEach((li, i) => {
      li.hidden = i !== state.k;
      if (i === state.k) li.dataset.testid = "step-explanation";
      else delete li.dataset.testid;
    });
    stepper.dataset.step = String(state.k);
    counter.textContent = labels.counter.replace("{k}", state.k).replace("{n}", state.total);
    [first, prev].forEach((b) => { b.disabled = state.k === 0; });
    [next, last].forEach((b) => { b.disabled = state.k === state.total; });
    paint(out, items[state.k]);
    const sentence = items[state.k].querySelector(".sentence, .overview");
    if (announce && sentence) live.textContent = sentence.textContent.trim();
  };
  const stop = () => {
    window.clearInterval(state.timer);
    state.timer = null;
    play.textContent = "▶ " + labels.play;
  };
  const go = (k) => { stop(); show(k, true); };
  play.addEventListener("click", () => {
    if (state.timer !== null) return stop();
    if (state.k >= state.total) show(0, false);
    play.textContent = "❚❚ " + labels.pause;
    state.timer = window.setInterval(() => {
      if (!root.isConnected || state.k >= state.total) return stop();
      show(state.k + 1, true);
    }, PLAY_INTERVAL_MS);
  });
  first.addEventListener("click", () => go(0));
  prev.addEventListener("click", () => go(state.k - 1));
  next.addEventListener("click", () => go(state.k + 1));
  last.addEventListener("click", () => go(state.total));
  root.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    event.stopPropagation(); // the notebook's own keys stay with the notebook
    go(state.k + (event.key === "ArrowRight" ? 1 : -1));
  });
  show(0, false);
}

// A step of the stepper from its row of the table (or the overview, step 0).
function stepItem(source, k) {
  const li = document.createElement("li");
  li.className = "step";
  li.dataset.step = String(k);
  if (k === 0) {
    const sentence = source.cloneNode(true);
    sentence.removeAttribute("data-testid");
    sentence.hidden = false;
    li.appendChild(sentence);
    return li;
  }
  li.dataset.node = source.dataset.node;
  li.dataset.done = source.dataset.done;
  const heading = document.createElement("h4");
  heading.append(...Array.from(source.querySelector(".head").childNodes).map((n) => n.cloneNode(true)));
  li.appendChild(heading);
  li.append(...Array.from(source.querySelector(".body").childNodes).map((n) => n.cloneNode(true)));
  return li;
}

// Light the step's node and mark the nodes of the steps before it done, in every picture.
function paint(out, item) {
  const current = item.dataset.node || "";
  const done = (item.dataset.done || "").split(/\s+/).filter(Boolean);
  out.canvases.forEach((canvas) => {
    // In the collapsed picture a node inside a module is drawn as the module's box.
    const boxes = canvas.dataset.boxes ? JSON.parse(canvas.dataset.boxes) : {};
    const drawn = (id) => boxes[id] || id;
    const lit = current && drawn(current);
    const finished = new Set(done.map(drawn));
    canvas.querySelectorAll("g.node").forEach((g) => {
      const id = out.nodeId(g);
      g.classList.toggle("current", id === lit);
      g.classList.toggle("done", id !== lit && finished.has(id));
      if (id === lit) g.setAttribute("aria-current", "step");
      else g.removeAttribute("aria-current");
    });
    canvas.querySelectorAll("g.edge").forEach((edge) => {
      const title = edge.querySelector("title");
      const ends = title ? title.textContent.split("->") : [];
      edge.classList.toggle("current", !!lit && ends.length === 2 && ends[1].trim() === lit);
    });
  });
}

function makeDetails(out) {
  const list = out.root.querySelector("details.node-list");
  if (!list) return;
  const panes = Array.from(list.querySelectorAll(".node-details"));
  const byNode = new Map(panes.map((d) => [d.dataset.node, d]));
  const panel = document.createElement("div");
  panel.className = "details-panel";
  panel.hidden = true;
  const close = button("details-close", out.labels.close || "Close");
  panel.appendChild(close);
  panes.forEach((d) => { d.hidden = true; panel.appendChild(d); });
  list.hidden = true;
  list.after(panel);
  const open = (g) => {
    const pane = byNode.get(out.nodeId(g));
    if (!pane) return;
    panes.forEach((d) => { d.hidden = d !== pane; });
    panel.hidden = false;
    out.nodes().forEach((n) => n.classList.toggle("selected", out.nodeId(n) === out.nodeId(g)));
  };
  close.addEventListener("click", () => {
    panel.hidden = true;
    out.nodes().forEach((n) => n.classList.remove("selected"));
  });
  out.nodes().forEach((g) => {
    if (!byNode.has(out.nodeId(g))) return;
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.addEventListener("click", () => open(g));
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(g); }
    });
  });
}
