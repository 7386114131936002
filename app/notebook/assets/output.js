// One show() output: the step table becomes a stepper, the picture follows the step,
// a click on a node opens its details. Wrapped by output.html in a function of its own
// and given its root, so that outputs in one notebook share nothing.
// The page's scripts do the same for the page (static/app/stepper.js, details.js).

function init(root) {
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  const prefix = root.dataset.prefix;
  inlinePictures();
  const table = root.querySelector(".step-table");
  const labels = table ? JSON.parse(table.dataset.labels) : {};
  const canvases = Array.from(root.querySelectorAll(".graph-canvas"));
  const nodeId = (g) => g.id.slice(prefix.length + 2); // <prefix>t-n3 or <prefix>a-n3: n3
  const nodes = () => canvases.flatMap((c) => Array.from(c.querySelectorAll("g.node")));
  const button = (testid, text, label) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.testid = testid;
    b.textContent = text;
    if (label) b.setAttribute("aria-label", label);
    return b;
  };
  makeViewSwitch();
  makeDetails();
  if (table) makeStepper();

  // Each picture arrives as an <img> of its SVG (readable where no script runs);
  // inlined, its nodes can be lit and clicked.
  function inlinePictures() {
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

  function makeViewSwitch() {
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

  function makeStepper() {
    const rows = Array.from(table.querySelectorAll("tbody tr.step"));
    const total = rows.length;
    const stepper = document.createElement("div");
    stepper.className = "stepper";
    stepper.dataset.testid = "stepper";
    const controls = document.createElement("div");
    controls.className = "step-controls";
    const first = button("step-first", "⇤", labels.first);
    const prev = button("step-prev", "◀ " + labels.prev);
    const next = button("step-next", labels.next + " ▶");
    const last = button("step-last", "⇥", labels.last);
    const counter = document.createElement("p");
    counter.className = "step-counter";
    counter.dataset.testid = "step-counter";
    controls.append(first, prev, next, last, counter);
    const list = document.createElement("ol");
    list.className = "steps";
    const overview = root.querySelector(".overview");
    const items = [overview.cloneNode(true), ...rows.map(stepItem)];
    items[0].removeAttribute("data-testid");
    items.forEach((li, k) => {
      const item = li.tagName === "LI" ? li : document.createElement("li");
      if (item !== li) item.appendChild(li);
      item.classList.add("step");
      item.dataset.step = String(k);
      if (k > 0) Object.assign(item.dataset, { node: rows[k - 1].dataset.node, done: rows[k - 1].dataset.done });
      items[k] = item;
      list.appendChild(item);
    });
    const live = document.createElement("div");
    live.className = "visually-hidden";
    live.setAttribute("aria-live", "polite");
    live.dataset.testid = "step-live";
    stepper.append(controls, list, live);
    overview.hidden = true;
    table.hidden = true;
    table.after(stepper);
    let current = 0;
    const show = (k, announce) => {
      current = Math.min(Math.max(0, k), total);
      items.forEach((li, i) => {
        li.hidden = i !== current;
        if (i === current) li.dataset.testid = "step-explanation";
        else delete li.dataset.testid;
      });
      stepper.dataset.step = String(current);
      counter.textContent = labels.counter.replace("{k}", current).replace("{n}", total);
      [first, prev].forEach((b) => { b.disabled = current === 0; });
      [next, last].forEach((b) => { b.disabled = current === total; });
      paint(items[current]);
      const sentence = items[current].querySelector(".sentence, .overview");
      if (announce && sentence) live.textContent = sentence.textContent.trim();
    };
    first.addEventListener("click", () => show(0, true));
    prev.addEventListener("click", () => show(current - 1, true));
    next.addEventListener("click", () => show(current + 1, true));
    last.addEventListener("click", () => show(total, true));
    root.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
      event.preventDefault();
      event.stopPropagation(); // the notebook's own keys stay with the notebook
      show(current + (event.key === "ArrowRight" ? 1 : -1), true);
    });
    show(0, false);
  }

  function stepItem(row) {
    const li = document.createElement("li");
    const heading = document.createElement("h4");
    heading.innerHTML = row.querySelector(".head").innerHTML;
    li.appendChild(heading);
    Array.from(row.querySelector(".body").childNodes).forEach((n) => li.appendChild(n.cloneNode(true)));
    return li;
  }

  function paint(item) {
    const current = item.dataset.node || "";
    const done = (item.dataset.done || "").split(/\s+/).filter(Boolean);
    canvases.forEach((canvas) => {
      // In the collapsed picture a node inside a module is drawn as the module's box.
      const boxes = canvas.dataset.boxes ? JSON.parse(canvas.dataset.boxes) : {};
      const drawn = (id) => boxes[id] || id;
      const lit = current && drawn(current);
      const finished = new Set(done.map(drawn));
      canvas.querySelectorAll("g.node").forEach((g) => {
        const id = nodeId(g);
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

  function makeDetails() {
    const list = root.querySelector("details.node-list");
    if (!list) return null;
    const panes = Array.from(list.querySelectorAll(".node-details"));
    const byNode = new Map(panes.map((d) => [d.dataset.node, d]));
    const panel = document.createElement("div");
    panel.className = "details-panel";
    panel.hidden = true;
    const close = button("details-close", labels.close || "Close");
    panel.appendChild(close);
    panes.forEach((d) => { d.hidden = true; panel.appendChild(d); });
    list.hidden = true;
    list.after(panel);
    const open = (g) => {
      const pane = byNode.get(nodeId(g));
      if (!pane) return;
      panes.forEach((d) => { d.hidden = d !== pane; });
      panel.hidden = false;
      nodes().forEach((n) => n.classList.toggle("selected", nodeId(n) === nodeId(g)));
    };
    close.addEventListener("click", () => {
      panel.hidden = true;
      nodes().forEach((n) => n.classList.remove("selected"));
    });
    nodes().forEach((g) => {
      if (!byNode.has(nodeId(g))) return;
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.addEventListener("click", () => open(g));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(g); }
      });
    });
  }
}
