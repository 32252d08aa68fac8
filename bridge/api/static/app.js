// The page: asks for a key once (kept in this tab's sessionStorage), then shows the Jobs and Search panels.

import { key } from "./api.js";
import { JobsPanel } from "./jobs.js";
import { SearchPanel } from "./search.js";

const $ = (sel) => document.querySelector(sel);
const jobs = new JobsPanel(signOut);
new SearchPanel();

function show(tab) {
  for (const b of document.querySelectorAll(".tab")) {
    const on = b.dataset.tab === tab;
    b.setAttribute("aria-selected", String(on));
    $(`#${b.dataset.tab}`).hidden = !on;
  }
}

function signOut(message = "") {
  jobs.stop();
  key.clear();
  for (const p of document.querySelectorAll(".panel")) p.hidden = true;
  $("#login").hidden = false;
  $("#forget").hidden = true;
  $("#state").textContent = "not connected";
  $("#key-error").textContent = message;
  $("#key").focus();
}

async function connect() {
  try {
    await jobs.start();
  } catch (e) {
    return signOut(e.status === 401 || e.status === 403 ? e.message : `cannot connect: ${e.message}`);
  }
  $("#login").hidden = true;
  $("#forget").hidden = false;
  show("jobs");
}

for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => key.get() && show(b.dataset.tab));
$("#forget").addEventListener("click", () => signOut());
$("#key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  key.set($("#key").value.trim());
  $("#key").value = "";
  connect();
});

if (key.get()) connect();
else signOut();
