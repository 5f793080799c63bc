// elforge dashboard: the only script, served as a file (the CSP allows no inline script).
// It never writes markup from data: every value goes in through textContent.
"use strict";

function autoSubmitFilters() {
  const form = document.getElementById("package-filter");
  if (!form) return;
  let timer = null;
  form.addEventListener("change", () => form.submit());
  const name = document.getElementById("filter-name");
  if (name) {
    name.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => form.submit(), 400);
    });
  }
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function badgeCell(state) {
  const td = document.createElement("td");
  const span = document.createElement("span");
  span.className = "badge";
  span.textContent = state || "–";
  td.appendChild(span);
  return td;
}

function showProgress(detail) {
  const run = detail.run;
  document.getElementById("run-recorded").textContent = String(run.recorded);
  document.getElementById("run-total").textContent = run.total === null ? "" : ` of ${run.total}`;
  const bar = document.getElementById("run-progress");
  bar.max = run.total || Math.max(run.recorded, 1);
  bar.value = run.recorded;
  document.getElementById("run-status").textContent = run.status;
  document.getElementById("run-finished").textContent = run.finished ? `finished ${run.finished}` : "in progress";
  const body = document.querySelector("#run-packages tbody");
  body.replaceChildren();
  for (const pkg of detail.packages) {
    const tr = document.createElement("tr");
    const name = document.createElement("td");
    const link = document.createElement("a");
    link.href = `/packages/${encodeURIComponent(pkg.name)}`;
    link.textContent = pkg.name;
    name.appendChild(link);
    tr.appendChild(name);
    for (const stage of ["import", "patch", "build", "verify"]) tr.appendChild(badgeCell(pkg.stages[stage]));
    tr.appendChild(cell(pkg.updated));
    body.appendChild(tr);
  }
}

function followRun() {
  const run = document.getElementById("run");
  if (!run || run.dataset.finished === "yes" || !window.EventSource) return;
  const events = new EventSource(run.dataset.events);
  events.addEventListener("progress", (e) => showProgress(JSON.parse(e.data)));
  events.addEventListener("finished", () => { run.dataset.finished = "yes"; events.close(); });
  events.addEventListener("gone", () => events.close());
}

document.addEventListener("DOMContentLoaded", () => {
  autoSubmitFilters();
  followRun();
});
