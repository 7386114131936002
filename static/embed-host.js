// For a course page that embeds Autograd Playground frames:
//   <script src="https://PLAYGROUND/static/embed-host.js" async></script>
// Each frame reports its content height with postMessage
//   {type: "autograd-playground:height", height: <number>}
// and this script sets that height on the <iframe> that sent it. Frames that
// reported before this script ran are asked again ("autograd-playground:measure").
// Without the script, frames keep the height their iframe attribute gives them.
"use strict";
(() => {
  const MAX_HEIGHT = 4000;
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (!data || data.type !== "autograd-playground:height") return;
    const height = Number(data.height);
    if (!Number.isFinite(height) || height <= 0) return;
    for (const frame of document.querySelectorAll("iframe")) {
      if (frame.contentWindow === event.source) {
        frame.style.height = `${Math.min(Math.ceil(height), MAX_HEIGHT)}px`;
        frame.dataset.reportedHeight = String(Math.ceil(height));
      }
    }
  });
  // Frames that loaded before this script reported to no one: ask them again.
  for (const frame of document.querySelectorAll("iframe")) {
    if (frame.contentWindow) {
      frame.contentWindow.postMessage({ type: "autograd-playground:measure" }, "*");
    }
  }
})();
