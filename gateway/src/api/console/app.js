// Veil console: one page, hash-routed, reading the gateway's own API (same origin). It shows
// the ledger exactly as the caller's certificate may see it: the gateway decides what is
// decrypted and what is redacted; the page only renders. Amounts may exceed 2^53: responses are
// parsed, printed and summed with exact-json.js (loaded first), never through a double.
"use strict";

const main = document.getElementById("main");
const PAGE = 50;
const COLORS = ["#3b6fd8", "#e0892f", "#2f9e6e", "#b04fc1", "#c9483c", "#6b7a90"];

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

async function api(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  const body = await response.text().then(parseExact).catch(() => null);
  if (!response.ok) {
    const detail = body && (body.detail || body.title) ? body.detail || body.title : response.statusText;
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

function isRedacted(value) {
  return value && typeof value === "object" && value.redacted === true;
}

// Flattens an entry's fields into [path, value] rows; nested objects become dotted paths.
function rows(fields, prefix = "") {
  const out = [];
  for (const [key, value] of Object.entries(fields || {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === "object" && !Array.isArray(value) && !isRedacted(value)) {
      out.push(...rows(value, path));
    } else {
      out.push([path, value]);
    }
  }
  return out;
}

function cell(value) {
  if (isRedacted(value)) {
    const commitment = value.commitment ? `commitment <code class="hash">${esc(value.commitment)}</code>` : "";
    return `<span class="redacted" data-redacted="true"><span class="label">redacted</span>${commitment}</span>`;
  }
  if (typeof value === "string") return `<span data-value="true">${esc(value)}</span>`;
  return `<span data-value="true"><code>${esc(stringifyExact(value))}</code></span>`;
}

function proofs(p) {
  if (!p) return "";
  const mark = (ok) => (ok === true ? '<span class="ok">verified</span>' : ok === false ? '<span class="bad">FAILED</span>' : '<span class="muted">n/a</span>');
  return `proofs ${mark(p.verified)} · repayment split ${mark(p.splits_verified)} · Poseidon link ${mark(p.circuit_link_verified)}`;
}

// Every entry of `type` (or all), oldest first, up to 2,000.
async function allEntries(type) {
  let out = [];
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const query = new URLSearchParams({ limit: "100" });
    if (type) query.set("type", type);
    if (cursor) query.set("cursor", cursor);
    const body = await api(`/v1/entries?${query}`);
    out = out.concat(body.entries);
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return out;
}

async function health() {
  const s = await api("/v1/status");
  const peers = (s.peers || []).map((p) => `<tr><td>${esc(p.member || p.id || "")}</td><td>${esc(p.height ?? "")}</td><td class="hash">${esc(p.head_hash || p.head || "")}</td></tr>`).join("");
  return `<h1>Consortium health</h1>
  <table><tr><th>member</th><td>${esc(s.member)}</td></tr>
  <tr><th>gateway</th><td>${esc(s.gateway)}</td></tr>
  <tr><th>height</th><td id="height">${esc(s.height)}</td></tr>
  <tr><th>head</th><td class="hash">${esc(s.head_hash)}</td></tr>
  <tr><th>waiting entries</th><td>${esc(s.mempool)}</td></tr>
  <tr><th>policy hash</th><td class="hash">${esc(s.policy_hash)}</td></tr></table>
  <h2>Peers</h2><table><tr><th>peer</th><th>height</th><th>head</th></tr>${peers || '<tr><td colspan="3" class="muted">none connected</td></tr>'}</table>`;
}

async function ledger(params) {
  const entries = (await allEntries(params.get("type"))).reverse();
  const page = Number(params.get("page") || "0");
  const shown = entries.slice(page * PAGE, (page + 1) * PAGE);
  const list = shown.map((e) => `<tr><td>${esc(e.height)}</td><td><a href="#/entry/${esc(e.id)}">${esc(e.id)}</a></td><td>${esc(e.type)}</td><td>${esc(e.submitter)}</td><td>${proofs(e.proofs)}</td></tr>`).join("");
  const pager = [];
  if (page > 0) pager.push(`<a href="#/ledger?page=${page - 1}">newer</a>`);
  if ((page + 1) * PAGE < entries.length) pager.push(`<a href="#/ledger?page=${page + 1}">older</a>`);
  return `<h1>Ledger</h1><p class="muted">${entries.length} entries, newest first</p>
  <table><tr><th>height</th><th>entry</th><th>type</th><th>submitter</th><th>checks</th></tr>${list}</table>
  <p class="pager">${pager.join("")}</p>`;
}

async function entry(id) {
  const e = await api(`/v1/entries/${encodeURIComponent(id)}`);
  const fields = rows(e.fields).map(([path, value]) => `<tr data-field="${esc(path)}"><th>${esc(path)}</th><td>${cell(value)}</td></tr>`).join("");
  const loan = e.type === "loan.originated" && typeof e.fields.loan_id === "string" ? `<p><a href="#/loan/${esc(e.fields.loan_id)}">the loan</a></p>` : "";
  return `<h1>${esc(e.type)}</h1>
  <p class="hash">${esc(e.id)}</p>
  <p>submitted by ${esc(e.submitter)} at height ${esc(e.height)} · ${proofs(e.proofs)}</p>${loan}
  <table><tr><th>field</th><th>as you see it</th></tr>${fields}</table>`;
}

async function loan(id) {
  const l = await api(`/v1/loans/${encodeURIComponent(id)}`);
  const terms = rows(l.terms).map(([path, value]) => `<tr><th>${esc(path)}</th><td>${cell(value)}</td></tr>`).join("");
  const funding = rows(l.funding).map(([bank, value]) => `<tr><th>${esc(bank)}</th><td>${cell(value)}</td></tr>`).join("");
  const repayments = (l.repayments || []).map((r) => `<tr><td><a href="#/entry/${esc(r.id)}">${esc(r.id)}</a></td><td>${cell(r.fields ? r.fields.period : "")}</td><td>${cell(r.fields ? r.fields.amount : "")}</td></tr>`).join("");
  return `<h1>Loan ${esc(l.loan_id)}</h1><p>originated by ${esc(l.originator)} · ${proofs(l.proofs)}</p>
  <h2>Terms</h2><table>${terms}</table>
  <h2>Funding by bank</h2><table>${funding}</table>
  <h2>Repayments</h2><table><tr><th>entry</th><th>period</th><th>amount</th></tr>${repayments}</table>
  <h2>Outstanding</h2><p>${cell(l.outstanding)}</p>`;
}

async function settlements() {
  const list = (await allEntries("settlement.closed")).reverse();
  const body = list.map((s) => {
    const due = rows(s.fields.due || {}).map(([bank, value]) => `${esc(bank)}: ${cell(value)}`).join("<br>");
    const proof = `<a class="snarkjs" href="/v1/entries/${esc(s.id)}/proof" download="settlement-${esc(s.id)}.json">Groth16 proof (snarkjs JSON)</a>`;
    return `<tr><td>${cell(s.fields.period)}</td><td><a href="#/entry/${esc(s.id)}">${esc(s.id)}</a></td><td>${due}</td><td>${proofs(s.proofs)}</td><td>${proof}</td></tr>`;
  }).join("");
  return `<h1>Settlements</h1>
  <p class="muted">Each settlement's amounts due are proved twice: from the period's repayment allocations (Pedersen commitments, proofs of zero), and by a Groth16 proof that they follow from the period's repayments with exact rounding. Every node checks both, and this page again.
  The download holds the proof, its public inputs and the verifying key in snarkjs' format (<code>snarkjs groth16 verify</code>), or use <code>veil settlement export</code>.</p>
  <table><tr><th>period</th><th>entry</th><th>amount due</th><th>checks</th><th>proof</th></tr>${body || '<tr><td colspan="5" class="muted">none yet</td></tr>'}</table>`;
}

// Sums what the caller can read of `field.<bank>` per period, per bank.
function totals(entries, field) {
  const byPeriod = new Map();
  for (const e of entries) {
    const period = e.fields.period;
    const values = e.fields[field];
    if (typeof period !== "string" || !values || isRedacted(values)) continue;
    const row = byPeriod.get(period) || new Map();
    for (const [bank, value] of Object.entries(values)) {
      if (typeof value === "number" || typeof value === "bigint") row.set(bank, addExact(row.get(bank) ?? 0, value));
    }
    byPeriod.set(period, row);
  }
  return byPeriod;
}

function bars(title, byPeriod) {
  const periods = [...byPeriod.keys()].sort();
  const banks = [...new Set(periods.flatMap((p) => [...byPeriod.get(p).keys()]))].sort();
  if (periods.length === 0 || banks.length === 0) return `<h2>${esc(title)}</h2><p class="muted">nothing you may read yet</p>`;
  // Totals may be BigInts: `>` compares Numbers and BigInts exactly (Math.max would throw).
  const max = periods.flatMap((p) => [...byPeriod.get(p).values()]).reduce((m, v) => (v > m ? v : m), 1);
  const group = banks.length * 22 + 30;
  const width = 60 + periods.length * group;
  const height = 240;
  let svg = `<svg width="${width}" height="${height + 40}" role="img" aria-label="${esc(title)}">`;
  periods.forEach((p, i) => {
    banks.forEach((bank, j) => {
      const value = byPeriod.get(p).get(bank) || 0;
      const h = Math.round((Number(value) / Number(max)) * height); // pixels only: a ratio, not an amount
      const x = 50 + i * group + j * 22;
      svg += `<rect x="${x}" y="${height - h}" width="18" height="${h}" fill="${COLORS[j % COLORS.length]}"><title>${esc(bank)} ${esc(p)}: ${value}</title></rect>`;
    });
    svg += `<text x="${50 + i * group}" y="${height + 18}">${esc(p)}</text>`;
  });
  svg += `<text x="0" y="12">${max}</text><text x="0" y="${height}">0</text></svg>`;
  const legend = banks.map((b, j) => `<span><svg width="10" height="10"><rect width="10" height="10" fill="${COLORS[j % COLORS.length]}"></rect></svg> ${esc(b)}</span>`).join("");
  return `<h2>${esc(title)}</h2><div class="legend">${legend}</div>${svg}`;
}

async function chart() {
  const [repaid, settled] = await Promise.all([allEntries("loan.repaid"), allEntries("settlement.closed")]);
  return `<h1>Repayments and settlements</h1><p class="muted">Only amounts you may read are counted.</p>
  ${bars("Repayment allocations per bank, by period", totals(repaid, "allocations"))}
  ${bars("Settled amounts due per bank, by period", totals(settled, "due"))}`;
}

async function disclosures() {
  let d;
  try {
    d = await api("/v1/disclosures");
  } catch (error) {
    return `<h1>Disclosure log</h1><p class="muted">Only regulators read the disclosure log (${esc(error.message)}).</p>`;
  }
  const rowsHtml = (d.records || []).map((r) => `<tr><td>${esc(r.sequence)}</td><td>${esc(r.who)}</td><td class="hash">${esc(r.entry)}</td><td>${esc((r.fields || []).join(", "))}</td><td>${esc(new Date(r.time_ms).toISOString())}</td></tr>`).join("");
  const chain = d.chain_verified ? '<span class="ok" id="chain">chain verified</span>' : '<span class="bad" id="chain">chain BROKEN</span>';
  const a = d.anchors || {};
  const latest = a.latest ? ` (latest: record ${esc(a.latest.sequence)} at height ${esc(a.latest.height)})` : "";
  const anchored = d.anchors_verified
    ? `<span class="ok" id="anchors">agrees with its ${esc(a.count || 0)} anchor(s) on the ledger${latest}</span>`
    : `<span class="bad" id="anchors">disagrees with ${esc((a.mismatches || []).length)} anchor(s) on the ledger: records dropped or rewritten after they were anchored</span>`;
  return `<h1>Disclosure log</h1><p>${chain}; ${anchored}</p>
  <table><tr><th>#</th><th>who</th><th>entry</th><th>fields</th><th>time</th></tr>${rowsHtml}</table>`;
}

async function alerts() {
  const d = await api("/v1/alerts");
  const rows = d.alerts || [];
  if (rows.length === 0) {
    return `<h1>Alerts</h1><p class="ok" id="alerts">No alerts: every entry this gateway is a recipient of opened and checked out.</p>`;
  }
  const rowsHtml = rows.map((a) => `<tr><td class="hash"><a href="#/entry/${encodeURIComponent(a.entry)}">${esc(a.entry)}</a></td><td>${esc(a.type)}</td><td>${esc(a.signer)}</td><td class="bad">${esc(a.finding)}</td><td>${esc(a.detail)}</td><td>${esc(a.height)}</td></tr>`).join("");
  return `<h1>Alerts</h1><p class="bad" id="alerts">${rows.length} entr${rows.length === 1 ? "y" : "ies"} this gateway should read ${rows.length === 1 ? "is" : "are"} wrong. Each signed entry is kept as evidence against its signer (GET /v1/alerts).</p>
  <table><tr><th>entry</th><th>type</th><th>signer</th><th>finding</th><th>where</th><th>height</th></tr>${rowsHtml}</table>`;
}

async function route() {
  const [path, query] = (location.hash.slice(1) || "/health").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  main.innerHTML = "<p>Loading…</p>";
  try {
    let html;
    if (parts[0] === "ledger") html = await ledger(params);
    else if (parts[0] === "entry" && parts[1]) html = await entry(decodeURIComponent(parts[1]));
    else if (parts[0] === "loan" && parts[1]) html = await loan(decodeURIComponent(parts[1]));
    else if (parts[0] === "settlements") html = await settlements();
    else if (parts[0] === "chart") html = await chart();
    else if (parts[0] === "disclosures") html = await disclosures();
    else if (parts[0] === "alerts") html = await alerts();
    else html = await health();
    main.innerHTML = html;
  } catch (error) {
    main.innerHTML = `<h1>Error</h1><p class="bad" id="error">${esc(error.message)}</p>`;
  }
  document.body.dataset.ready = "true";
}

async function whoami() {
  try {
    const s = await api("/v1/status");
    document.getElementById("who").textContent = `${s.gateway} gateway`;
  } catch (_) { /* shown by the page itself */ }
}

window.addEventListener("hashchange", route);
whoami();
route();
