/* sipd dashboard: polls /api/stats, /api/registrations and /api/calls once a
 * second, draws counts and rates with small canvas charts, and the chosen
 * call's messages as a ladder diagram (one vertical line per address, an
 * arrow per message, as sngrep draws them). A token given as #token=... in
 * the address is sent as "Authorization: Bearer" (and kept for the tab). */
"use strict";

const POLL_MS = 1000;
const HISTORY = 90; /* samples kept per chart */

const token = (() => {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("sipd-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("sipd-token");
})();

async function api(path) {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 5000);
  try {
    const r = await fetch(path, { headers, signal: ctl.signal, cache: "no-store" });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return await r.json();
  } finally {
    clearTimeout(timer);
  }
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/* ---- cards and charts ---------------------------------------------------- */

const CARDS = [
  { id: "req_rate", label: "requests/s", rate: (s) => s.requests_received, chart: true },
  { id: "resp_rate", label: "responses/s", rate: (s) => s.responses_received, chart: true },
  { id: "calls_rate", label: "calls/s", rate: (s) => s.calls_total, chart: true },
  { id: "calls_active", label: "active calls", value: (s) => s.calls_active, chart: true },
  { id: "bindings", label: "bindings", value: (s) => s.bindings, chart: true },
  { id: "aors", label: "AORs", value: (s) => s.aors },
  { id: "transactions", label: "transactions", value: (s) => s.transactions, chart: true },
  { id: "calls_total", label: "calls (total)", value: (s) => s.calls_total },
  { id: "retrans", label: "retransmissions", value: (s) => s.retransmissions },
  { id: "auth_fail", label: "auth failures", value: (s) => s.auth_failures },
  { id: "parse_err", label: "parse errors", value: (s) => s.parse_errors },
  { id: "store", label: "store update ms", value: (s) => s.store_update_avg_ms.toFixed(2) },
  { id: "cpu", label: "CPU %", rate: (s) => s.cpu_seconds * 100, chart: true, digits: 1 },
  { id: "rss", label: "memory MiB", value: (s) => (s.rss_bytes / 1048576).toFixed(1) },
];

const series = {};
let last = null;

function buildCards() {
  const box = document.getElementById("cards");
  for (const c of CARDS) {
    const card = el("div", { class: "card", id: "card-" + c.id },
      el("div", { class: "label" }, c.label), el("div", { class: "value" }, "–"));
    if (c.chart) card.append(el("canvas", { width: 160, height: 34 }));
    box.append(card);
    series[c.id] = [];
  }
}

function spark(canvas, data) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (data.length < 2) return;
  const max = Math.max(1, ...data);
  ctx.beginPath();
  data.forEach((v, i) => {
    const x = (i / (HISTORY - 1)) * w, y = h - 2 - (v / max) * (h - 4);
    if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
  });
  ctx.strokeStyle = "#2c6bed";
  ctx.lineWidth = 1.5;
  ctx.stroke();
  ctx.lineTo(((data.length - 1) / (HISTORY - 1)) * w, h);
  ctx.lineTo(0, h);
  ctx.fillStyle = "rgba(44,107,237,.12)";
  ctx.fill();
}

function showStats(s) {
  const now = performance.now();
  for (const c of CARDS) {
    let v;
    if (c.rate) {
      if (!last) continue;
      const dt = (now - last.t) / 1000;
      v = dt > 0 ? Math.max(0, (c.rate(s) - c.rate(last.s)) / dt) : 0;
    } else {
      v = c.value(s);
    }
    const card = document.getElementById("card-" + c.id);
    card.querySelector(".value").textContent =
      typeof v === "number" ? v.toFixed(c.digits !== undefined ? c.digits : (c.rate ? 1 : 0)) : v;
    if (c.chart) {
      const d = series[c.id];
      d.push(Number(v));
      if (d.length > HISTORY) d.shift();
      spark(card.querySelector("canvas"), d);
    }
  }
  last = { s, t: now };
  const up = s.uptime, h = Math.floor(up / 3600), m = Math.floor((up % 3600) / 60);
  document.getElementById("uptime").textContent = `up ${h}h ${m}m ${up % 60}s`;
}

/* ---- tables -------------------------------------------------------------- */

function fmtTime(t) {
  return t ? new Date(t * 1000).toLocaleTimeString() : "";
}

function fmtDur(d) {
  if (d < 60) return d.toFixed(1) + " s";
  return Math.floor(d / 60) + " min " + Math.floor(d % 60) + " s";
}

function showRegistrations(list) {
  list.sort((a, b) => a.aor.localeCompare(b.aor) || a.contact.localeCompare(b.contact));
  const body = document.querySelector("#registrations tbody");
  body.replaceChildren(...list.map((b) => el("tr", { class: "binding" },
    el("td", { class: "mono" }, b.aor), el("td", { class: "mono" }, b.contact),
    el("td", {}, b.expires + " s"), el("td", { class: "mono" }, b.received),
    el("td", {}, b.user_agent))));
  document.getElementById("reg-count").textContent = `(${list.length})`;
}

let chosen = null; /* the Call-ID whose ladder is shown */
let chosenMsg = -1;
let shownCount = -1; /* messages in the ladder drawn */

function showCalls(list) {
  const body = document.querySelector("#calls tbody");
  body.replaceChildren(...list.map((c) => {
    const tr = el("tr", { class: "call" + (c.call_id === chosen ? " selected" : ""),
      "data-call-id": c.call_id, onclick: () => choose(c.call_id) },
      el("td", {}, el("span", { class: "state " + c.state }, c.state)),
      el("td", { class: "mono" }, c.from), el("td", { class: "mono" }, c.to),
      el("td", {}, fmtTime(c.start)), el("td", {}, fmtDur(c.duration)),
      el("td", { class: "mono" }, c.call_id));
    return tr;
  }));
  const live = list.filter((c) => ["calling", "ringing", "answered"].includes(c.state)).length;
  document.getElementById("call-count").textContent = `(${live} active, ${list.length} recent)`;
}

/* ---- the ladder diagram -------------------------------------------------- */

const COL_W = 230, ROW_H = 30, TOP = 52, LEFT = 90;

function drawLadder(data) {
  const msgs = data.messages;
  const hosts = [];
  for (const m of msgs) for (const a of [m.src, m.dst]) if (!hosts.includes(a)) hosts.push(a);
  const x = (a) => LEFT + hosts.indexOf(a) * COL_W + COL_W / 2;
  const width = LEFT + hosts.length * COL_W, height = TOP + msgs.length * ROW_H + 20;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  /* sipd is where the received messages went. */
  const self = (msgs.find((m) => m.dir === "in") || {}).dst;
  hosts.forEach((h) => {
    root.append(svg("text", { x: x(h), y: 18, "text-anchor": "middle", class: "host" }, h));
    if (h === self) root.append(svg("text", { x: x(h), y: 31, "text-anchor": "middle", class: "self" }, "sipd"));
    root.append(svg("line", { x1: x(h), y1: 36, x2: x(h), y2: height - 6, class: "lifeline" }));
  });
  const t0 = msgs.length ? msgs[0].time : 0;
  msgs.forEach((m, i) => {
    const y = TOP + i * ROW_H + 14, x1 = x(m.src), x2 = x(m.dst), dir = x2 >= x1 ? 1 : -1;
    const resp = m.first_line.startsWith("SIP/");
    const g = svg("g", { class: "arrow ladder-msg" + (resp ? " resp" : "") + (i === chosenMsg ? " chosen" : ""),
      "data-index": i, "data-first-line": m.first_line });
    const label = m.first_line.length > 30 ? m.first_line.slice(0, 29) + "…" : m.first_line;
    g.append(svg("rect", { x: Math.min(x1, x2), y: y - 16, width: Math.abs(x2 - x1) || 10, height: ROW_H - 2, class: "hit" }));
    g.append(svg("text", { x: 6, y: y + 4, class: "time" }, "+" + (m.time - t0).toFixed(3)));
    g.append(svg("line", { x1, y1: y, x2: x2 - dir * 7, y2: y }));
    g.append(svg("polygon", { points: `${x2},${y} ${x2 - dir * 8},${y - 4} ${x2 - dir * 8},${y + 4}` }));
    g.append(svg("text", { x: (x1 + x2) / 2, y: y - 5, "text-anchor": "middle" }, label));
    g.append(svg("title", {}, `${m.dir} ${m.proto} ${m.src} → ${m.dst}\n${m.first_line}`));
    g.addEventListener("click", () => showMessage(m, i));
    root.append(g);
  });
  document.getElementById("ladder").replaceChildren(root);
}

function showMessage(m, i) {
  chosenMsg = i;
  const pre = document.getElementById("message-text");
  pre.hidden = false;
  pre.textContent = `${new Date(m.time * 1000).toISOString()}  ${m.dir === "in" ? "received" : "sent"} ` +
    `${m.proto} ${m.src} → ${m.dst}${m.truncated ? "  (truncated)" : ""}\n\n` + m.text.replace(/\r\n/g, "\n");
  document.querySelectorAll(".ladder-msg").forEach((g) =>
    g.classList.toggle("chosen", Number(g.dataset.index) === i));
}

async function loadLadder() {
  if (!chosen) return;
  const data = await api("/api/calls/" + encodeURIComponent(chosen) + "/messages");
  document.getElementById("ladder-title").textContent =
    `${data.call.from} → ${data.call.to} (${data.call.state}, ${data.messages.length} messages)`;
  shownCount = data.messages.length;
  drawLadder(data);
}

function choose(callId) {
  chosen = callId;
  chosenMsg = -1;
  shownCount = -1;
  document.getElementById("message-text").hidden = true;
  document.getElementById("ladder-panel").hidden = false;
  document.querySelectorAll("#calls tbody tr").forEach((tr) =>
    tr.classList.toggle("selected", tr.dataset.callId === callId));
  loadLadder().catch(failed);
}

/* ---- polling ------------------------------------------------------------- */

function failed(err) {
  const s = document.getElementById("status");
  s.className = "status err";
  s.textContent = String(err.message || err);
}

let busy = false;
async function poll() {
  if (busy) return;
  busy = true;
  try {
    const aor = document.getElementById("reg-filter").value.trim();
    const [stats, regs, calls] = await Promise.all([
      api("/api/stats"),
      api("/api/registrations" + (aor ? "?aor=" + encodeURIComponent(aor) : "")),
      api("/api/calls"),
    ]);
    showStats(stats);
    showRegistrations(regs);
    showCalls(calls);
    const call = calls.find((c) => c.call_id === chosen);
    if (call && call.messages !== shownCount) await loadLadder();
    const s = document.getElementById("status");
    s.className = "status ok";
    s.textContent = "live";
  } catch (err) {
    failed(err);
  } finally {
    busy = false;
  }
}

buildCards();
poll();
setInterval(poll, POLL_MS);
