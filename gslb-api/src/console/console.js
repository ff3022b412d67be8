// The gslb web console: reads the REST API with the token kept in sessionStorage (sent in
// the Authorization header, never in a URL); writes only drain/undrain and drill abort,
// each after a confirm(). Every value from the API is inserted as text, never as HTML.
"use strict";

const TOKEN_KEY = "gslb-token";
const GROUPS_KEY = "gslb-client-groups";
const REFRESH_MS = 5000;
let page = "health";
let timer = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  }
  return node;
}

function table(id, headers, rows) {
  const target = document.getElementById(id);
  target.replaceChildren(
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
  if (!response.ok) {
    const message = json && json.message ? json.message : text || response.statusText;
    const error = new Error(response.status + ": " + message);
    error.status = response.status;
    throw error;
  }
  return json === null ? text : json;
}

const get = (path) => api("GET", path);
const seg = (text) => encodeURIComponent(text);
const when = (ms) => (ms ? new Date(ms).toISOString().replace(".000Z", "Z") : "-");
const secondsLeft = (ms, now) => (ms ? Math.max(0, Math.round((ms - now) / 1000)) + "s" : "-");

function say(text, isError) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = isError ? "error" : "";
}

async function allPages(path) {
  let items = [];
  let after = null;
  for (let i = 0; i < 100; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await get(path + (after ? sep + "after=" + seg(after) : ""));
    items = items.concat(page.items || []);
    if (!page.next) break;
    after = page.next;
  }
  return items;
}

// Health: regions with drain/undrain, and the endpoint x vantage matrix.
async function showHealth() {
  const [health, checks, endpoints] = await Promise.all([get("/v1/health"),
    allPages("/v1/checks"), allPages("/v1/endpoints")]);
  const regionOf = Object.fromEntries(endpoints.map((e) => [e.id, e.region]));
  const regionStatus = Object.fromEntries(health.regions.map((r) => [r.id, r.status]));
  const now = health.at;
  const vantages = health.regions.map((r) => r.id);
  table("regions", ["Region", "Status", "Checks say", "Votes (deep)", "Endpoints up",
    "Capacity", "Lease left", "Overrides", ""], health.regions.map((region) => {
    const drains = (region.overrides || []).filter((o) => o.action === "drain" && !o.drill);
    const button = drains.length
      ? el("button", { onclick: () => undrain(region.id, drains) }, "Undrain")
      : el("button", { onclick: () => drain(region.id) }, "Drain");
    const v = region.votes;
    return el("tr", { "data-region": region.id },
      el("td", {}, region.id),
      el("td", { class: region.status, "data-status": region.status }, region.status),
      el("td", {}, region.health || region.status),
      el("td", {}, `${v.up} up, ${v.down} down, ${v.stale} stale of ${v.total} (quorum ${v.quorum})`),
      el("td", {}, `${region.endpoints_up} of ${region.endpoints_enabled} (need ${region.min_healthy})`),
      el("td", {}, region.capacity ?? "-"),
      el("td", {}, secondsLeft(region.lease_expires_at, now)),
      el("td", {}, (region.overrides || []).map((o) =>
        `${o.action} by ${o.drill ? "drill " + o.drill : "override " + o.id}: ${o.reason}` +
        (o.expires_at ? ` (until ${when(o.expires_at)})` : "")).join("; ") || "-"),
      el("td", {}, button));
  }));
  const byEndpoint = {};
  for (const check of checks) {
    if (check.endpoint) (byEndpoint[check.endpoint] ||= []).push(check.id);
  }
  const checkHealth = Object.fromEntries(health.checks.map((c) => [c.id, c]));
  table("matrix", ["Endpoint", "Region", "Status", "Votes"].concat(vantages),
    health.endpoints.map((endpoint) => {
      const v = endpoint.votes;
      const cells = vantages.map((vantage) => {
        const errors = (byEndpoint[endpoint.id] || [])
          .map((id) => checkHealth[id] && checkHealth[id].errors[vantage]).filter(Boolean);
        const rtt = endpoint.rtt_us[vantage];
        if (errors.length) return el("td", { class: "down" }, errors.join("; "));
        if (rtt !== undefined) return el("td", { class: "up" }, (rtt / 1000).toFixed(1) + " ms");
        return el("td", { class: "stale" }, "no fresh vote");
      });
      const region = regionOf[endpoint.id] || "";
      return el("tr", { "data-endpoint": endpoint.id, "data-region": region },
        el("td", {}, endpoint.id),
        el("td", { class: regionStatus[region] || "unknown" },
          `${region} (${regionStatus[region] || "unknown"})`),
        el("td", { class: endpoint.status }, endpoint.status),
        el("td", {}, `${v.up}/${v.total} up, ${v.down} down, ${v.stale} stale (q ${v.quorum})`),
        cells);
    }));
}

async function drain(region) {
  if (!confirm(`Drain region ${region}? New clients stop being sent there.`)) return;
  await write(() => api("POST", "/v1/overrides", {
    id: "console-drain-" + region, region, action: "drain",
    reason: "drained from the web console",
  }), `drained ${region}`);
}

async function undrain(region, drains) {
  if (!confirm(`Undrain region ${region}? It takes new clients again.`)) return;
  await write(async () => {
    for (const rule of drains) await api("DELETE", "/v1/overrides/" + seg(rule.id));
  }, `undrained ${region}`);
}

async function abortDrill(id) {
  if (!confirm(`Abort drill ${id}? Its region comes back at once.`)) return;
  await write(() => api("POST", "/v1/drills/" + seg(id) + "/abort",
    { reason: "aborted from the web console" }), `aborted ${id}`);
}

async function write(action, done) {
  try {
    await action();
    say(done);
  } catch (error) {
    say(error.message, true);
  }
  await render();
}

// GSLB records with the live answer per client group.
async function showRecords() {
  const [zones, networks] = await Promise.all([allPages("/v1/zones"), allPages("/v1/networks")]);
  const extra = (sessionStorage.getItem(GROUPS_KEY) || "").split(/[\s,]+/).filter(Boolean);
  const groups = [...new Set([null].concat(networks.map((n) => n.cidr), extra))];
  const rows = [];
  for (const zone of zones) {
    const records = await allPages("/v1/zones/" + seg(zone.apex) + "/gslb-records");
    for (const record of records) {
      const name = record.name.endsWith(".") ? record.name : record.name + "." + zone.apex;
      const answers = await Promise.all(groups.map((group) =>
        get(`/v1/resolve?name=${seg(name)}&type=${seg(record.type)}` +
          (group ? "&client=" + seg(group) : "")).catch((e) => ({ error: e.message }))));
      rows.push(el("tr", { "data-record": name },
        el("td", {}, name), el("td", {}, record.type),
        answers.map((answer) => el("td", {}, answer.error ? answer.error :
          answer.answers.flatMap((set) => set.data).join(", ") || answer.rcode))));
    }
  }
  table("decisions", ["Name", "Type"].concat(groups.map((g) => g || "no client subnet")), rows);
}

async function showZones() {
  const zones = await allPages("/v1/zones");
  const target = document.getElementById("zones");
  const blocks = [];
  for (const zone of zones) {
    const records = await allPages("/v1/zones/" + seg(zone.apex) + "/records");
    const body = el("tbody", {}, records.map((r) => el("tr", {},
      el("td", {}, r.name), el("td", {}, r.type), el("td", {}, r.ttl ?? "-"),
      el("td", {}, r.data.join(" | ")))));
    blocks.push(el("h3", {}, `${zone.apex} (serial ${zone.serial})`),
      el("table", {}, el("thead", {}, el("tr", {}, ["Name", "Type", "TTL", "Data"]
        .map((h) => el("th", {}, h)))), body));
  }
  target.replaceChildren(...blocks);
}

async function showDrills() {
  const drills = await allPages("/v1/drills");
  table("drills", ["Drill", "Region", "Mode", "Status", "Started", "Planned end", "Records", ""],
    drills.map((d) => el("tr", { "data-drill": d.id },
      el("td", {}, d.id), el("td", {}, d.region), el("td", {}, d.mode),
      el("td", {}, d.status), el("td", {}, when(d.started_at)), el("td", {}, when(d.planned_end)),
      el("td", {}, (d.records || []).join(", ")),
      el("td", {}, d.status === "running"
        ? el("button", { onclick: () => abortDrill(d.id) }, "Abort")
        : el("button", { onclick: () => report(d.id) }, "Report")))));
}

async function report(id) {
  const text = await get("/v1/drills/" + seg(id) + "/report?format=markdown");
  document.getElementById("report").textContent = text;
}

async function plan(event) {
  event.preventDefault();
  const region = document.getElementById("plan-region").value;
  try {
    const preview = await api("POST", "/v1/drills/plan", { region });
    document.getElementById("plan-output").textContent = JSON.stringify(preview, null, 2);
  } catch (error) {
    document.getElementById("plan-output").textContent = error.message;
  }
}

async function showEvents() {
  const since = document.getElementById("since").value;
  const record = document.getElementById("event-record").value.trim();
  const events = await get("/v1/events?since=" + seg(since) +
    (record ? "&record=" + seg(record) : ""));
  table("events", ["Time", "Kind", "Subject", "Change", "Cause", "Votes", "Records"],
    events.items.slice().reverse().map((e) => el("tr", { "data-kind": e.kind, "data-subject": e.subject },
      el("td", {}, e.time), el("td", {}, e.kind), el("td", {}, e.subject),
      el("td", { class: e.to }, `${e.from} → ${e.to}`), el("td", {}, e.cause),
      el("td", {}, (e.votes || []).map((v) => `${v.check}@${v.vantage}=${v.vote}`).join(" ")),
      el("td", {}, (e.records || []).join(", ")))));
}

async function showCluster() {
  const cluster = await get("/v1/cluster");
  const n = cluster.node;
  document.getElementById("cluster-node").textContent =
    `answered by node ${n.id} (${n.role}, term ${n.term}); leader ${n.leader ?? "unknown"}; ` +
    `applied ${n.applied_index}; voters ${n.voters.join(", ")}; learners ${n.learners.join(", ") || "-"}`;
  table("members", ["Id", "Address", "DNS", "Region", "Raft role", "Roles", "Applied",
    "Last contact", "Reachable"], cluster.members.map((m) => el("tr", { "data-member": m.id },
    el("td", {}, m.id), el("td", {}, m.addr), el("td", {}, m.dns_addr ?? "-"),
    el("td", {}, m.region ?? "-"), el("td", {}, m.raft_role), el("td", {}, m.roles.join(",")),
    el("td", {}, m.applied_index),
    el("td", {}, m.last_contact_ms === undefined ? "never" : m.last_contact_ms + " ms ago"),
    el("td", { class: m.reachable ? "up" : "down" }, m.reachable ? "yes" : "no"))));
}

const PAGES = { health: showHealth, records: showRecords, zones: showZones,
  drills: showDrills, events: showEvents, cluster: showCluster };

async function render() {
  clearTimeout(timer);
  for (const section of document.querySelectorAll(".page")) {
    section.hidden = section.id !== "page-" + page;
  }
  for (const button of document.querySelectorAll("nav button[data-page]")) {
    button.classList.toggle("active", button.dataset.page === page);
  }
  try {
    await PAGES[page]();
    document.body.dataset.loaded = page;
    if (!document.getElementById("status").classList.contains("error")) {
      say("updated " + new Date().toLocaleTimeString());
    }
  } catch (error) {
    if (error.status === 401) return logout("the token was refused");
    say(error.message, true);
  }
  timer = setTimeout(render, REFRESH_MS);
}

function show(next) {
  page = next;
  delete document.body.dataset.loaded;
  say("");
  render();
}

function logout(reason) {
  clearTimeout(timer);
  sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById("nav").hidden = true;
  for (const section of document.querySelectorAll(".page")) section.hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("login-error").textContent = reason || "";
}

async function login(event) {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById("token").value);
  document.getElementById("token").value = "";
  try {
    await get("/v1/health");
  } catch (error) {
    return logout(error.status === 401 ? "the token was refused" : error.message);
  }
  start();
}

function start() {
  document.getElementById("login").hidden = true;
  document.getElementById("nav").hidden = false;
  show(page);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("login").addEventListener("submit", login);
  document.getElementById("plan").addEventListener("submit", plan);
  document.getElementById("logout").addEventListener("click", () => logout());
  document.getElementById("since").addEventListener("change", render);
  document.getElementById("event-record").addEventListener("change", render);
  const groups = document.getElementById("groups");
  groups.value = sessionStorage.getItem(GROUPS_KEY) || "";
  groups.addEventListener("change", () => {
    sessionStorage.setItem(GROUPS_KEY, groups.value);
    render();
  });
  for (const button of document.querySelectorAll("nav button[data-page]")) {
    button.addEventListener("click", () => show(button.dataset.page));
  }
  if (sessionStorage.getItem(TOKEN_KEY)) start();
});
