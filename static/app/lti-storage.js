// The LTI state through the course platform's storage (LTI Client Side postMessages),
// for a browser that blocks the launch's cookie in the platform's frame. The server
// (app/web/lti/storage.py) says what to do in the data-* of #lti-storage:
//   put: keep the state in the platform's window, then go on to the platform's auth URL;
//   get: read the state back and submit the launch again, the state in lti_storage.
const WAIT_MS = 3000;

const box = document.getElementById("lti-storage");

function platformWindow(target) {
  if (window.parent === window) return null; // not in a frame: no platform to ask
  if (target === "_parent") return window.parent;
  try {
    return window.parent.frames[target] || null;
  } catch {
    return null;
  }
}

// One request to the platform's window; its answer, or an error after WAIT_MS.
function ask(target, origin, message) {
  const to = platformWindow(target);
  if (!to) return Promise.reject(new Error("no platform window"));
  const id = crypto.randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error("no answer")), WAIT_MS);
    function done(error, data) {
      clearTimeout(timer);
      window.removeEventListener("message", listen);
      if (error) reject(error);
      else resolve(data);
    }
    function listen(event) {
      const data = event.data;
      if (event.origin !== origin || !data || data.message_id !== id) return;
      if (data.subject !== `${message.subject}.response`) return;
      if (data.error) done(new Error(String(data.error.code || "refused")));
      else done(null, data);
    }
    window.addEventListener("message", listen);
    to.postMessage({ ...message, message_id: id }, origin);
  });
}

function refused() {
  box.hidden = true;
  document.querySelector("[data-testid=error]").hidden = false;
}

// The launch again, as a form of this page (our origin), so that its answer is the
// frame's own document: the activity, the picker or a refusal.
function launchAgain(data, value) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = data.action;
  form.hidden = true;
  const fields = { id_token: data.token, state: data.state, lti_storage: value };
  for (const [name, field] of Object.entries(fields)) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = field;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}

if (box) {
  const data = box.dataset;
  if (data.mode === "put") {
    ask(data.target, data.origin, { subject: "lti.put_data", key: data.key, value: data.value })
      .catch(() => {}) // the cookie may still do
      .finally(() => window.location.replace(data.redirect));
  } else if (data.mode === "get") {
    ask(data.target, data.origin, { subject: "lti.get_data", key: data.key })
      .then((reply) => {
        if (reply.value !== data.state) throw new Error("another state");
        launchAgain(data, reply.value);
      })
      .catch(refused);
  }
}
