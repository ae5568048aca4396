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
    say(form, failed ? "Test failed: fix what the failed checks say." : "Test passed.", failed);
    const checks = document.createElement("ul");
    checks.className = "checks";
    for (const c of list) {
      const item = document.createElement("li");
      const status = document.createElement("span");
      status.className = "status-" + c.status;
      status.textContent = c.status;
      item.append(status, " " + c.name + (c.message ? " — " + c.message : ""));
      checks.appendChild(item);
    }
    form.querySelector(".notice").appendChild(checks);
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
  } else if (kind === "schedule-add" || kind === "schedule-edit") {
    const actions = [...form.querySelectorAll("select[data-step]")].map((s) => s.value).filter((v) => v !== "");
    const body = {
      cron: form.elements.cron.value, repository: form.elements.repository.value, actions,
      continue_on_failure: form.querySelector("#continue-on-failure").checked,
      enabled: form.querySelector("#schedule-enabled").checked,
    };
    let r;
    if (kind === "schedule-add") {
      body.name = form.elements.name.value;
      r = await api("POST", "/api/v1/schedules", body);
    } else {
      r = await api("PATCH", "/api/v1/schedules/" + encodeURIComponent(form.dataset.name), body);
    }
    if (r.ok) { window.location.assign("/console/schedules"); } else { say(form, r.data ? r.data.message : "refused", true); }
  } else if (kind === "schedule-remove") {
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const r = await api("DELETE", "/api/v1/schedules/" + encodeURIComponent(field("schedule")));
    if (r.ok) { window.location.reload(); } else { say(form, r.data ? r.data.message : "refused", true); }
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
  const parent = row.querySelector('[data-field="parent"]');
  if (parent) {
    parent.textContent = "";
    if (p.parent_id !== null) {
      if (document.getElementById("process-" + p.parent_id)) {
        const link = document.createElement("a");
        link.href = "#process-" + p.parent_id;
        link.textContent = "after " + p.parent_id;
        parent.appendChild(link);
      } else {
        parent.textContent = "after " + p.parent_id;
      }
    }
  }
  row.id = "process-" + p.id;
  row.dataset.status = p.status;
  if (p.started_at) { row.dataset.started = p.started_at; } else { delete row.dataset.started; }
  row.classList.toggle("child", p.parent_id !== null);
  cell(row, "queued", (p.queued_at || "").replace("T", " ").slice(0, 19));
  cell(row, "duration", p.duration_seconds === null ? (p.status === "running" ? elapsed(p.started_at) : "") : p.duration_seconds.toFixed(1) + " s");
  cell(row, "counts", counts(p), "");
  cell(row, "message", p.message || "", "message");
  const id = row.querySelector('input[name="id"]');
  if (id) id.value = String(p.id);
  const cancel = row.querySelector("form[data-action=cancel]");
  if (cancel) cancel.hidden = !(p.status === "queued" || p.status === "running");
}

// A running process's time so far, from its start.
function elapsed(started) {
  if (!started) return "running";
  const seconds = Math.max(0, (Date.now() - Date.parse(started)) / 1000);
  return seconds < 60 ? Math.floor(seconds) + " s" : Math.floor(seconds / 60) + " min " + Math.floor(seconds % 60) + " s";
}

const live = document.querySelector("table[data-live-log]");
if (live && window.EventSource) {
  const source = new EventSource(live.dataset.events || "/api/v1/processes/events");
  source.addEventListener("process", (event) => showProcess(JSON.parse(event.data)));
  setInterval(() => {
    live.querySelectorAll('tbody tr[data-status="running"][data-started]').forEach((row) => {
      cell(row, "duration", elapsed(row.dataset.started));
    });
  }, 1000);
}

// The schedule form's preview of the next due times, as the expression is typed.
const cronInput = document.getElementById("schedule-cron");
if (cronInput) {
  const preview = document.getElementById("cron-preview");
  let timer = null;
  let asked = 0;
  const show = async () => {
    const mine = ++asked;
    const r = await api("GET", "/api/v1/cron/preview?cron=" + encodeURIComponent(cronInput.value));
    if (mine !== asked) return; // a later answer is on its way
    preview.textContent = "";
    preview.classList.toggle("bad", !r.ok);
    if (!r.ok) { preview.textContent = r.data ? r.data.message : "not a cron expression"; return; }
    preview.append("Next due times (UTC):");
    const list = document.createElement("ol");
    list.className = "checks";
    for (const due of r.data.upcoming) {
      const item = document.createElement("li");
      item.textContent = due.replace("T", " ").replace("Z", "") + " UTC";
      list.appendChild(item);
    }
    preview.appendChild(list);
  };
  cronInput.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(show, 250); });
  if (preview.textContent.trim() === "") show();
}
