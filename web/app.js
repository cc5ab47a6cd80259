// pgkeep's dashboard: reads the daemon's API with the key the user gives
// (kept in this tab's sessionStorage only) and redraws every 10 s. Every
// value from the API is put on the page as text, never as HTML.
"use strict";

const REFRESH_MS = 10000;
const state = { key: sessionStorage.getItem("pgkeep-key") || "", role: "", timer: null, charts: [],
                lastJob: {} };  // database -> the id of the job this page last started

function $(id) { return document.getElementById(id); }

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { "Authorization": "Bearer " + state.key, "Content-Type": "application/json" },
  });
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    const err = new Error((body && body.error) || ("HTTP " + res.status));
    err.status = res.status;
    throw err;
  }
  return body;
}

function span(seconds) {
  if (seconds === null || seconds === undefined || seconds < 0) return "—";
  if (seconds < 10) return (Math.round(seconds * 10) / 10) + " s";
  if (seconds < 120) return Math.round(seconds) + " s";
  if (seconds < 7200) return Math.floor(seconds / 60) + " min";
  if (seconds < 172800) return Math.floor(seconds / 3600) + " h";
  return Math.floor(seconds / 86400) + " d";
}

function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

function durationSeconds(text) {
  const m = /^(\d+)([smhdw])$/.exec(text || "");
  if (!m) return null;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]];
}

function badge(text, kind) { return el("span", { class: "badge " + kind }, text); }

async function login(event) {
  if (event) event.preventDefault();
  const typed = $("key").value.trim();
  if (typed) state.key = typed;
  try {
    const me = await api("/api/whoami");
    state.role = me.role;
    sessionStorage.setItem("pgkeep-key", state.key);
    $("who").textContent = me.name + " (" + me.role + ")";
    $("login-panel").hidden = true;
    $("dashboard").hidden = false;
    $("logout").hidden = false;
    $("login-error").textContent = "";
    await refresh();
    clearInterval(state.timer);
    state.timer = setInterval(refresh, REFRESH_MS);
  } catch (e) {
    sessionStorage.removeItem("pgkeep-key");
    state.key = "";
    $("login-error").textContent = e.status === 401 ? "That key is not valid." : "Cannot log in: " + e.message;
  }
}

function logout() {
  clearInterval(state.timer);
  sessionStorage.removeItem("pgkeep-key");
  state.key = "";
  $("dashboard").hidden = true;
  $("logout").hidden = true;
  $("login-panel").hidden = false;
  $("who").textContent = "";
  $("key").value = "";
}

async function runBackup(db, button) {
  button.disabled = true;
  button.textContent = "Queued…";
  try {
    const r = await api("/api/backups", { method: "POST", body: JSON.stringify({ db }) });
    state.lastJob[db] = r.job_id;
    button.textContent = "Job " + r.job_id + " queued";
    button.setAttribute("data-job", String(r.job_id));
    await refresh();
  } catch (e) {
    button.textContent = "Failed: " + e.message;
  }
  setTimeout(() => { button.disabled = false; button.textContent = "Run backup now"; }, 3000);
}

function chart(container, title, points, unit) {
  if (typeof uPlot === "undefined" || points.length < 1) return;
  const width = Math.max(240, container.clientWidth || 300);
  const opts = {
    title, width, height: 140,
    // One backup still gets a readable axis: an hour either side of it.
    scales: { x: { time: true, range: (u, min, max) => (min === max ? [min - 3600, max + 3600] : [min, max]) } },
    axes: [{}, { values: (u, vals) => vals.map(v => unit === "bytes" ? bytes(v) : span(v)), size: 70 }],
    series: [{}, { label: title, stroke: "#1d4ed8", width: 2, points: { show: true, size: 5 } }],
    legend: { show: false },
  };
  const data = [points.map(p => p[0]), points.map(p => p[1])];
  state.charts.push(new uPlot(opts, data, container));
}

function databaseCard(d, settings, health, backups) {
  const card = el("div", { class: "card", "data-db": d.name });
  card.append(el("h3", {}, d.name, badge(d.healthy ? "healthy" : "unhealthy", d.healthy ? "ok" : "bad"),
                 el("span", { class: "muted" }, d.method + ", " + d.criticality)));
  const dl = el("dl");
  const row = (k, v, attrs) => { dl.append(el("dt", {}, k), el("dd", attrs || {}, v)); };
  const last = d.last_backup;
  if (last) {
    const over = d.max_backup_age_seconds && last.age_seconds > d.max_backup_age_seconds;
    row("last backup", el("span", { "data-field": "last-backup" }, last.id + " (" + last.kind + ")"));
    row("age", el("span", { class: over ? "error" : "" }, span(last.age_seconds) + " of max " + span(d.max_backup_age_seconds)));
    row("size", bytes(last.bytes) + " (" + bytes(last.stored_bytes) + " stored)");
  } else {
    row("last backup", el("span", { "data-field": "last-backup", class: "error" }, "none yet"));
  }
  row("backups kept", String(d.backups));
  if (d.wal) {
    const w = d.wal.pitr_window;
    row("PITR window", w ? w.earliest + " … " + w.latest : "none");
    row("WAL lag", span(d.wal.last_archived_age_seconds));
  }
  if (health) {
    const h = health.status === "healthy" && (!health.problems || !health.problems.length);
    row("database", el("span", {}, badge(health.status, h ? "ok" : "bad"), " ",
        health.status === "error" ? (health.error || "") :
        (health.latency_ms || 0).toFixed(1) + " ms, " + health.connections + "/" + health.max_connections + " connections"));
    if (health.pool)
      row("pool", health.pool.idle + " idle, " + health.pool.busy + " busy of " + health.pool.max +
          (health.pool.waiting ? ", " + health.pool.waiting + " waiting" : ""));
  }
  if (d.last_drill) {
    const dr = d.last_drill;
    const rto = settings && durationSeconds(settings.rto);
    const rpo = settings && durationSeconds(settings.rpo);
    row("last drill", el("span", {}, badge(dr.passed ? "passed" : "failed", dr.passed ? "ok" : "bad"), " " + span(dr.age_seconds) + " ago"));
    row("RTO", span(dr.rto_seconds) + (rto ? " (target " + span(rto) + ")" : ""));
    row("RPO", span(dr.rpo_seconds) + (rpo ? " (target " + span(rpo) + ")" : ""));
  } else {
    row("last drill", "none");
    if (settings && (settings.rto || settings.rpo))
      row("targets", "RTO " + (settings.rto || "—") + ", RPO " + (settings.rpo || "—"));
  }
  if (settings) {
    const r = settings.retention || {};
    const parts = ["last", "daily", "weekly", "monthly", "yearly"].filter(k => r[k] !== undefined).map(k => k + " " + r[k]);
    if (r.within) parts.push("within " + r.within);
    parts.push("min_keep " + r.min_keep);
    row("retention", parts.join(", "));
    row("schedule", Object.entries(settings.schedule || {}).map(([k, v]) => k + " " + v).join("; ") || "none");
  }
  card.append(dl);
  if (d.reasons && d.reasons.length) card.append(el("ul", {}, ...d.reasons.map(r => el("li", {}, r))));
  const mine = backups.filter(b => b.meta && b.meta.database === d.name);
  const sizes = el("div", { class: "chart" });
  const durations = el("div", { class: "chart" });
  card.append(sizes, durations);
  if (state.role === "operator" || state.role === "admin") {
    const button = el("button", { class: "primary", "data-run": d.name, type: "button" }, "Run backup now");
    // Redrawn every refresh: the job it started stays on it.
    if (state.lastJob[d.name]) button.setAttribute("data-job", String(state.lastJob[d.name]));
    button.addEventListener("click", () => runBackup(d.name, button));
    card.append(button);
  }
  return { card, draw: () => {
    chart(sizes, "size", mine.map(b => [b.stop_unix, b.stats.bytes]), "bytes");
    chart(durations, "duration", mine.map(b => [b.stop_unix, b.stop_unix - b.start_unix]), "seconds");
  } };
}

async function refresh() {
  let status, backups, jobs, health, alerts, settings;
  try {
    [status, backups, jobs, health, alerts, settings] = await Promise.all([
      api("/api/status").catch(e => { if (e.status === 503) return null; throw e; }),
      api("/api/backups"), api("/api/jobs?limit=25"), api("/api/health"), api("/api/alerts"), api("/api/databases"),
    ]);
  } catch (e) {
    if (e.status === 401) { logout(); $("login-error").textContent = "The key is no longer valid."; }
    return;
  }
  const overall = $("overall");
  if (status) {
    overall.textContent = status.healthy ? "healthy" : "unhealthy";
    overall.className = "badge " + (status.healthy ? "ok" : "bad");
    $("refreshed").textContent = "Repository read at " + status.refreshed + "; refreshes every " + REFRESH_MS / 1000 + " s.";
  } else {
    overall.textContent = "reading…";
    $("refreshed").textContent = "The daemon is reading the repository for the first time.";
  }

  const alertBox = $("alerts");
  alertBox.replaceChildren(...alerts.alerts.map(a =>
    el("div", { class: "alert", "data-alert": a.key }, "⚠ " + a.key + ": " + a.reason + " (since " + a.since + ")")));

  for (const c of state.charts) c.destroy();
  state.charts = [];
  const healthBy = Object.fromEntries(health.databases.map(h => [h.database, h]));
  const settingsBy = Object.fromEntries(settings.databases.map(s => [s.name, s]));
  const cards = (status ? status.databases : []).map(d => databaseCard(d, settingsBy[d.name], healthBy[d.name], backups.backups));
  $("databases").replaceChildren(...cards.map(c => c.card));
  for (const c of cards) c.draw();

  const tbody = $("jobs").querySelector("tbody");
  tbody.replaceChildren(...jobs.jobs.map(j => el("tr", { "data-job-row": String(j.id) },
    el("td", {}, String(j.id)), el("td", {}, j.job), el("td", {}, j.trigger), el("td", {}, j.started),
    el("td", {}, j.seconds === undefined ? "" : String(j.seconds)),
    el("td", { class: "result-" + j.result, "data-result": j.result, title: j.error || "" }, j.result))));

  // Row-level retention: period, mode and last run per tenant, and how long
  // erased rows still live in backups (the status's retention_policies).
  const policies = status ? (status.retention_policies || []) : [];
  $("retention-panel").hidden = policies.length === 0;
  const rows = [];
  const notes = [];
  for (const p of policies) {
    if (p.error) notes.push(p.policy + ": tenants unknown (" + p.error + ")");
    if (p.staged_batches > 0)
      notes.push(p.policy + ": " + p.staged_batches + " batch(es) of erasures since " + p.staged_since +
        " not in the forget log yet (the next retention run ships them)");
    for (const t of p.tenants) {
      const period = t.action === "keep" ? "forever" : t.days + " days";
      const inBackups = t.action === "keep" ? "" :
        (t.in_backups_days === null ? "no limit" : "up to " + t.in_backups_days + " days");
      rows.push(el("tr", { "data-policy": p.policy, "data-tenant": t.tenant },
        el("td", {}, p.policy), el("td", {}, t.tenant || "all rows"), el("td", {}, period),
        el("td", {}, t.action), el("td", {}, t.last_run || "never"),
        el("td", { class: t.contradiction ? "result-failed" : "", title: t.finding },
          inBackups + (t.contradiction ? " ⚠ contradiction" : ""))));
    }
  }
  $("retention").querySelector("tbody").replaceChildren(...rows);
  $("retention-notes").textContent = notes.join("; ");

  if (status) {
    const r = status.repository;
    $("repository").textContent = r.location + ": " + r.snapshots + " snapshot(s), " + bytes(r.stored_bytes) + " stored" +
      (r.free_bytes !== null && r.free_bytes !== undefined ? ", " + bytes(r.free_bytes) + " free" : "") +
      (r.last_expire ? "; last expire " + (r.last_expire.time || r.last_expire.finished || "") : "; never expired");
  }
}

$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
if (state.key) login();
