// Download the graph as drawn by Graphviz: as SVG, or as PNG painted from
// that SVG on a canvas (in the browser, no request to the server).

import { graphSvg } from "./graph.js";

const PNG_SCALE = 2; // pixels per CSS pixel: sharp on paper and projectors

/** The graph's SVG as a file: without our pan, zoom and sizing. */
function svgText() {
  const clone = graphSvg().cloneNode(true);
  clone.removeAttribute("style");
  clone.removeAttribute("class");
  clone.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  clone.querySelectorAll("[tabindex], [role], [aria-label], [aria-current]").forEach((el) => {
    ["tabindex", "role", "aria-label", "aria-current"].forEach((a) => el.removeAttribute(a));
  });
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(clone);
}

function save(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function savePng(text) {
  const image = new Image();
  image.addEventListener("load", () => {
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil(image.naturalWidth * PNG_SCALE);
    canvas.height = Math.ceil(image.naturalHeight * PNG_SCALE);
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    canvas.toBlob((blob) => blob && save(blob, "graph.png"), "image/png");
  });
  image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(text);
}

export function bindDownload() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-download]");
    if (!button || !graphSvg()) return;
    event.preventDefault();
    const text = svgText();
    if (button.dataset.download === "png") savePng(text);
    else save(new Blob([text], { type: "image/svg+xml" }), "graph.svg");
  });
}
