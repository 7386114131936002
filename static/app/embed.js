// Inside an embedded frame (/embed): tell the course page how tall the content is.
//
// Message, sent to the parent whenever the height changes:
//   {type: "autograd-playground:height", height: <CSS pixels, a number>}
// The height is no secret, so any parent may read it ("*"). /static/embed-host.js
// is a small script a course page can include to resize its frames from it.
// A host script that starts after a frame's first report asks again with
//   {type: "autograd-playground:measure"}
// and the frame answers with its height, changed or not.

let last = 0;

function report() {
  const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (height === last) return;
  last = height;
  window.parent.postMessage({ type: "autograd-playground:height", height }, "*");
}

// A module runs after the document is parsed.
if (window.parent !== window) {
  new ResizeObserver(report).observe(document.documentElement);
  document.body.addEventListener("htmx:afterSettle", report);
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    if (!event.data || event.data.type !== "autograd-playground:measure") return;
    last = 0;
    report();
  });
  report();
}
