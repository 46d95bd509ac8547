// tallyman's web page: reads the collector's API (doc/api.md) with the
// token the user gives, and shows the fleet.  Everything that came from an
// agent or a container is untrusted: it only ever reaches the page as
// text (textContent), never as HTML.
"use strict";

const REFRESH_MS = 10000;
let token = sessionStorage.getItem("tallyman-token") || "";

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function $(id) {
  return document.getElementById(id);
}

function when(s) {
  // 2026-12-06T10:00:00.123456789Z -> 2026-12-06 10:00:00
  if (!s) return "-";
  return s.replace("T", " ").replace(/\.\d+Z$/, "").replace(/Z$/, "");
}

function lifetime(ns) {
  if (ns === null || ns === undefined) return "-";
  return ns >= 1e9 ? (ns / 1e9).toFixed(1) + " s" : Math.round(ns / 1e6) + " ms";
}

function cell(v) {
  return v === null || v === undefined || v === "" ? "-" : v;
}

class Unauthorized extends Error {}

async function api(path) {
  const r = await fetch(path, {
    headers: { Authorization: "Bearer " + token },
    cache: "no-store",
  });
  if (r.status === 401) throw new Unauthorized("the token was refused");
  const body = await r.json();
  if (!r.ok) throw new Error(body.reason || ("HTTP " + r.status));
  return body;
}

function fill(tableId, rows, cols) {
  const tb = $(tableId).querySelector("tbody");
  tb.replaceChildren();
  if (rows.length === 0) {
    const tr = el("tr");
    const td = el("td", "none", "muted");
    td.colSpan = $(tableId).querySelectorAll("th").length;
    tr.append(td);
    tb.append(tr);
    return;
  }
  for (const row of rows) {
    const tr = el("tr");
    for (const c of cols) {
      const v = c(row);
      const td = el("td", cell(v));
      tr.append(td);
    }
    tb.append(tr);
  }
}

function card(label, value, cls) {
  const d = el("div", null, "card " + (cls || ""));
  d.append(el("div", value, "value"), el("div", label, "label"));
  return d;
}

async function loadStats() {
  const s = await api("/api/v1/stats");
  $("cards").replaceChildren(
    card("hosts", s.hosts),
    card("containers running", s.containers_running + " / " + s.containers),
    card("images", s.images),
    card("packages", s.packages),
    card("open findings", s.findings_open, s.findings_open > 0 ? "alert" : ""),
    card("advisories loaded", s.advisories),
  );
}

async function loadFindings() {
  const q = new URLSearchParams({ limit: "200" });
  if ($("f-severity").value) q.set("min_severity", $("f-severity").value);
  if ($("f-kind").value) q.set("kind", $("f-kind").value);
  if ($("f-host").value.trim()) q.set("host", $("f-host").value.trim());
  const f = await api("/api/v1/findings?" + q);
  fill("findings", f.findings, [
    (x) => x.severity,
    (x) => x.kind,
    (x) => x.host,
    (x) => x.container_name || x.container,
    (x) => x.advisory || (x.check ? "CIS " + x.check : null),
    (x) => x.package,
    (x) => x.installed_version,
    (x) => x.fixed_version,
    (x) => x.title || x.detail,
    (x) => when(x.first_seen),
  ]);
  for (const tr of $("findings").querySelectorAll("tbody tr")) {
    const sev = tr.firstChild && tr.firstChild.textContent;
    if (sev) tr.classList.add("sev-" + sev);
  }
  $("findings-more").textContent = f.total > f.findings.length ?
    f.findings.length + " of " + f.total + " shown" : "";
}

async function loadHosts() {
  const h = await api("/api/v1/hosts?limit=1000");
  fill("hosts", h.hosts, [
    (x) => x.id,
    (x) => x.hostname,
    (x) => x.os_pretty || [x.os_id, x.os_version].filter(Boolean).join(" "),
    (x) => x.agent_version,
    (x) => x.containers_running,
    (x) => when(x.last_heartbeat),
    (x) => (x.silent ? "since " + when(x.silent_since) : "no"),
    (x) => x.sequence.missing,
  ]);
}

async function loadContainers() {
  const s = await api("/api/v1/containers?lifetime_lt=10s&limit=100");
  fill("short", s.containers, [
    (x) => x.host,
    (x) => x.name || x.id.slice(0, 12),
    (x) => x.image_ref,
    (x) => when(x.started),
    (x) => lifetime(x.lifetime_ns),
    (x) => x.exit_code,
    (x) => x.state,
  ]);
  const p = await api("/api/v1/containers?privileged=true&running=true&limit=100");
  fill("privileged", p.containers, [
    (x) => x.host,
    (x) => x.name || x.id.slice(0, 12),
    (x) => x.image_ref,
    (x) => when(x.started),
  ]);
}

async function searchPackage(ev) {
  if (ev) ev.preventDefault();
  const name = $("p-name").value.trim();
  const out = $("package-result");
  if (!name) return;
  const q = new URLSearchParams({ name });
  if ($("p-all").checked) q.set("running", "any");
  try {
    const r = await api("/api/v1/packages?" + q);
    out.replaceChildren();
    if (r.versions.length === 0) {
      out.append(el("p", "No stored image has a package named " + name + ".", "muted"));
      return;
    }
    const t = el("table");
    const hr = el("tr");
    for (const h of ["ecosystem", "version", "packages", "images", "hosts", "containers"])
      hr.append(el("th", h));
    t.append(el("thead"));
    t.tHead.append(hr);
    const tb = el("tbody");
    for (const v of r.versions) {
      const tr = el("tr");
      tr.append(
        el("td", v.ecosystem),
        el("td", v.version),
        el("td", v.packages.join(", ")),
        el("td", v.images.map((i) => i.ref || i.key).join(", ")),
        el("td", v.hosts.join(", ") || "-"),
        el("td", v.containers.map((c) => c.host + "/" + (c.name || c.id.slice(0, 12))).join(", ") || "-"),
      );
      tb.append(tr);
    }
    t.append(tb);
    out.append(t);
    out.dataset.searched = name;
  } catch (e) {
    out.replaceChildren(el("p", e.message, "error"));
  }
}

async function refresh() {
  try {
    await Promise.all([loadStats(), loadFindings(), loadHosts(), loadContainers()]);
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
    $("status").className = "ok";
    $("main").hidden = false;
    $("login").hidden = true;
    document.body.dataset.loaded = "yes";
  } catch (e) {
    if (e instanceof Unauthorized) {
      sessionStorage.removeItem("tallyman-token");
      showLogin("The collector refused this token.");
      return false;
    }
    $("status").textContent = "error: " + e.message;
    $("status").className = "error";
  }
  return true;
}

let timer = null;
function keepFresh() {
  if (timer === null) timer = setInterval(refresh, REFRESH_MS);
}

function showLogin(msg) {
  $("main").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = msg || "";
  $("status").textContent = "not connected";
}

async function start() {
  // The address may carry #token=... (taken once, then removed from the
  // address) and #package=NAME (a package search to show: a link to share).
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    token = hash.get("token");
    sessionStorage.setItem("tallyman-token", token);
    hash.delete("token");
    const rest = hash.toString();
    history.replaceState(null, "", location.pathname + location.search +
      (rest ? "#" + rest : ""));
  }
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem("tallyman-token", token);
    if (await refresh()) keepFresh();
  });
  $("findings-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    loadFindings().catch((e) => { $("status").textContent = "error: " + e.message; });
  });
  $("package-form").addEventListener("submit", searchPackage);
  // api.auth = none needs no token: try without one first.
  if (await refresh()) {
    keepFresh();
    if (hash.get("package")) {
      $("p-name").value = hash.get("package");
      $("p-all").checked = hash.get("all") === "1";
      await searchPackage();
    }
  }
}

document.addEventListener("DOMContentLoaded", start);
