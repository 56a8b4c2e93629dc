// Guildnode's web UI works without this file; it adds two conveniences.
"use strict";

// A copy button: <button data-copy="ID"> copies the value of the input with that id.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const input = document.getElementById(button.dataset.copy);
  const note = document.querySelector(`[data-copied="${button.dataset.copy}"]`);
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    document.execCommand("copy");
  }
  if (note) note.hidden = false;
});

// Long operations: a form with data-busy shows its progress note while the node works.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.dataset || !form.dataset.busy) return;
  const busy = form.querySelector(".busy");
  if (busy) {
    busy.querySelector(".busy-text").textContent = form.dataset.busy;
    busy.hidden = false;
  }
  // No second press while the first is under way (the form is already being sent).
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.disabled = true;
  }
});

// Notifications, live: the node pushes what waits on the owner as Server-Sent Events; the
// header's badge, and the list on the Notifications page, follow without a reload.
const WHEN = (at) => new Date(at * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";

let shownKeys = null; // the keys of the notices last shown (null before the first event)

function showNotices(data) {
  const badge = document.querySelector("[data-notice-count]");
  if (badge) {
    badge.textContent = String(data.count);
    badge.classList.toggle("none", data.count === 0);
  }
  const list = document.querySelector("[data-notice-list]");
  const fresh = shownKeys ? data.notices.filter((n) => !shownKeys.has(n.key)) : [];
  shownKeys = new Set(data.notices.map((n) => n.key));
  if (list) {
    list.replaceChildren(...data.notices.map((n) => {
      const item = document.createElement("li");
      item.dataset.key = n.key;
      item.className = `notice-${n.kind}`;
      const link = document.createElement("a");
      link.href = n.link;
      link.textContent = n.title;
      const meta = document.createElement("p");
      meta.className = "meta";
      meta.textContent = `${n.action} · ${WHEN(n.at)}`;
      item.append(link, meta);
      return item;
    }));
    const empty = document.querySelector("[data-notice-empty]");
    if (empty) empty.hidden = data.count > 0;
  }
  const announce = document.querySelector("[data-notice-announce]");
  if (announce && fresh.length) {
    announce.textContent = fresh.length === 1 ? `New: ${fresh[0].title}` : `${fresh.length} new notifications`;
  }
}

if (document.body.dataset.live && window.EventSource) {
  const stream = new EventSource(document.body.dataset.live);
  stream.addEventListener("notices", (event) => showNotices(JSON.parse(event.data)));
  // Leaving the page closes the stream at once, so the node's slot is free for the next.
  window.addEventListener("pagehide", () => stream.close());
}
