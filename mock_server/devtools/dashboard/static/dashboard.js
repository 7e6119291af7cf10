// The dashboard's few behaviours that need a script: confirmations, copying, refreshing, and
// restoring a snapshot file. Every page works without it except copying and restoring.
"use strict";

const REFRESH_KEY = "flexprice-mock-refresh";
const REFRESH_MS = 5000;

function copyText(text, button) {
  const done = () => { button.textContent = "copied"; setTimeout(() => { button.textContent = button.dataset.label; }, 1500); };
  button.dataset.label = button.dataset.label || button.textContent;
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
  } else {
    fallbackCopy(text, done);
  }
}

function fallbackCopy(text, done) {
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  done();
}

async function restore(form) {
  const result = document.getElementById("restore-result");
  const file = form.querySelector("input[type=file]").files[0];
  result.hidden = false;
  result.textContent = "restoring...";
  const response = await fetch(form.dataset.import, {
    method: "POST", credentials: "same-origin", headers: {"content-type": "application/json"}, body: await file.text(),
  });
  const answer = await response.json();
  if (response.ok) {
    const records = Object.values(answer.records || {}).reduce((sum, n) => sum + n, 0);
    result.textContent = `Restored: ${records} records.`;
    result.className = "notice";
  } else {
    result.textContent = `Not restored (${response.status}): ${answer.message}`;
    result.className = "error";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      if (form.dataset.import) {
        event.preventDefault();
        restore(form);
      }
    });
  }
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", () => copyText(document.querySelector(button.dataset.copy).textContent, button));
  }
  for (const button of document.querySelectorAll("[data-copy-next]")) {
    button.addEventListener("click", () => copyText(button.parentElement.nextElementSibling.textContent, button));
  }
  for (const box of document.querySelectorAll("[data-auto-refresh]")) {
    box.checked = window.localStorage.getItem(REFRESH_KEY) === "on";
    box.addEventListener("change", () => {
      window.localStorage.setItem(REFRESH_KEY, box.checked ? "on" : "off");
      if (box.checked) setTimeout(() => window.location.reload(), REFRESH_MS);
    });
    if (box.checked) setTimeout(() => window.location.reload(), REFRESH_MS);
  }
});
