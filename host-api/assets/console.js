// invhost console: the forms and live updates, through the HTTP API. No
// inline script: the page's Content-Security-Policy allows this file only.
"use strict";

function csrf() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function api(method, path, body) {
  const options = { method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  return { ok: response.ok, status: response.status, data };
}

function say(form, text, bad) {
  let box = form.querySelector(".notice");
  if (!box) {
    box = document.createElement("div");
    box.className = "notice";
    box.setAttribute("role", "status");
    form.appendChild(box);
  }
  box.classList.toggle("bad", !!bad);
  box.textContent = text;
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const kind = form.dataset.action;
  if (!kind) return;
  event.preventDefault();
  const field = (name) => form.elements[name] ? form.elements[name].value : undefined;
  if (kind === "sign-in") {
    const r = await api("POST", "/api/v1/session", { name: field("name"), password: field("password") });
    if (r.ok) { window.location.assign("/console/connectors"); } else { say(form, r.data ? r.data.message : "sign-in failed", true); }
  } else if (kind === "sign-out") {
    await api("DELETE", "/api/v1/session");
    window.location.assign("/console/sign-in");
  } else if (kind === "execute") {
    const r = await api("POST", "/api/v1/execute", {
      repository: field("repository"), action: field("action"), clean: form.elements.clean.checked,
    });
    if (r.ok) { window.location.assign("/console/processes"); } else { say(form, r.data ? r.data.message : "refused", true); }
  } else if (kind === "test") {
    say(form, "Testing…");
    const r = await api("POST", "/api/v1/connectors/" + encodeURIComponent(field("connector")) + "/test");
    if (!r.ok) { say(form, r.data ? r.data.message : "refused", true); return; }
    const list = r.data.checks || [];
    const failed = list.some((c) => c.status === "failed");
    const lines = list.map((c) => c.status + ": " + c.name + (c.message ? " — " + c.message : ""));
    say(form, (failed ? "Test failed. " : "Test passed. ") + lines.join("; "), failed);
  } else if (kind === "connector-add" || kind === "connector-edit") {
    const parameters = {}, secrets = {}, unset = [];
    form.querySelectorAll("[data-param]").forEach((input) => {
      const key = input.dataset.param, how = input.dataset.kind;
      if (how === "bool") { parameters[key] = input.checked; return; }
      if (how === "multi") {
        const chosen = [...input.querySelectorAll("input:checked")].map((c) => c.value);
        if (chosen.length) { parameters[key] = chosen.join(","); } else if (kind === "connector-edit") { unset.push(key); }
        return;
      }
      const value = input.value;
      if (how === "secret") { if (value !== "") secrets[key] = value; return; }
      if (value === "") { if (kind === "connector-edit") unset.push(key); return; }
      parameters[key] = value;
    });
    const runConsolidation = form.querySelector("#run-consolidation").checked;
    const r = kind === "connector-add"
      ? await api("POST", "/api/v1/connectors", {
          name: form.elements.name.value, type: form.dataset.type, parameters, secrets, run_consolidation: runConsolidation,
        })
      : await api("PATCH", "/api/v1/connectors/" + encodeURIComponent(form.dataset.name), {
          parameters, secrets, unset, run_consolidation: runConsolidation,
        });
    if (r.ok) { window.location.assign("/console/connectors"); } else { say(form, r.data ? r.data.message : "refused", true); }
  } else if (kind === "schedule-run") {
    const r = await api("POST", "/api/v1/schedules/" + encodeURIComponent(field("schedule")) + "/run");
    if (r.ok) { window.location.assign("/console/processes"); } else { say(form, r.data ? r.data.message : "refused", true); }
  } else if (kind === "cancel") {
    const r = await api("POST", "/api/v1/processes/" + field("id") + "/cancel");
    say(form, r.ok ? "Cancel asked" : (r.data ? r.data.message : "refused"), !r.ok);
  }
});

function cell(row, name, text, className) {
  const td = row.querySelector('[data-field="' + name + '"]');
  if (!td) return;
  td.textContent = text;
  if (className !== undefined) td.className = className;
}

function counts(p) {
  const source = p.status === "running" && p.progress ? p.progress : p.counts;
  return Object.entries(source || {}).map(([k, v]) => k + " " + v).join(", ");
}

function showProcess(p) {
  const table = document.querySelector("table[data-live-log] tbody");
  if (!table) return;
  let row = table.querySelector('tr[data-id="' + p.id + '"]');
  if (!row) {
    const template = document.getElementById("process-row");
    if (!template) return;
    row = template.content.firstElementChild.cloneNode(true);
    row.dataset.id = p.id;
    table.prepend(row);
  }
  cell(row, "id", String(p.id));
  cell(row, "action", p.action);
  cell(row, "repository", p.repository);
  cell(row, "status", p.status, "status-" + p.status);
  cell(row, "trigger", p.trigger);
  cell(row, "parent", p.parent_id === null ? "" : String(p.parent_id));
  cell(row, "queued", (p.queued_at || "").replace("T", " ").slice(0, 19));
  cell(row, "duration", p.duration_seconds === null ? "" : p.duration_seconds.toFixed(1) + " s");
  cell(row, "counts", counts(p), "");
  cell(row, "message", p.message || "", "message");
  const id = row.querySelector('input[name="id"]');
  if (id) id.value = String(p.id);
  const cancel = row.querySelector("form[data-action=cancel]");
  if (cancel) cancel.hidden = !(p.status === "queued" || p.status === "running");
}

const live = document.querySelector("table[data-live-log]");
if (live && window.EventSource) {
  const source = new EventSource("/api/v1/processes/events");
  source.addEventListener("process", (event) => showProcess(JSON.parse(event.data)));
}
