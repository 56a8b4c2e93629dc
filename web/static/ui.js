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
