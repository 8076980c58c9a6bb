// The status page's script: reads stats.json every second and redraws.
// Rates are the difference of two readings over the time between them.
"use strict";

const period = 1000, keep = 60;
let prev = null;
const history = []; // [{in, out}] bytes per second, oldest first

const $ = (sel) => document.querySelector(sel);
const set = (k, text) => { for (const e of document.querySelectorAll(`[data-k="${k}"]`)) e.textContent = text; };

const units = ["B", "KiB", "MiB", "GiB", "TiB"];
function bytes(n) {
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
}
const count = (n) => Math.round(n).toLocaleString("en-US");
function seconds(s) {
  if (s < 1e-3) return (s * 1e6).toFixed(0) + " µs";
  if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + " ms";
  return s.toFixed(2) + " s";
}

function rows(table, list) {
  table.replaceChildren(...list.map(([label, n]) => {
    const tr = document.createElement("tr");
    if (!n) tr.className = "zero";
    tr.innerHTML = "<td></td><td></td>";
    tr.children[0].textContent = label;
    tr.children[1].textContent = count(n);
    return tr;
  }));
}

function drawSpark() {
  const max = Math.max(1, ...history.map((h) => Math.max(h.in, h.out)));
  for (const dir of ["in", "out"]) {
    const pts = history.map((h, i) => `${(600 * (i + keep - history.length)) / (keep - 1)},${118 - (116 * h[dir]) / max}`);
    $(`#spark polyline.${dir}`).setAttribute("points", pts.join(" "));
  }
  $("#spark-max").textContent = "top " + bytes(max) + "/s";
}

function drawLoops(snap, dt) {
  const tbody = $("#loops tbody");
  const total = Math.max(1, snap.loops.reduce((s, l) => s + l.active, 0));
  while (tbody.children.length > snap.loops.length) tbody.lastChild.remove();
  while (tbody.children.length < snap.loops.length) {
    const tr = document.createElement("tr");
    tr.innerHTML = '<td></td><td></td><td class="bar"><div class="meter"></div></td><td></td><td></td><td></td><td></td>';
    tbody.append(tr);
  }
  snap.loops.forEach((l, i) => {
    const p = prev && prev.loops[i];
    const c = tbody.children[i].children;
    c[0].textContent = l.loop;
    c[1].textContent = count(l.active);
    c[2].firstChild.style.width = (100 * l.active) / total + "%";
    c[3].textContent = count(l.accepted);
    c[4].textContent = p ? bytes((l.bytes_read - p.bytes_read) / dt) : "–";
    c[5].textContent = p ? bytes((l.bytes_written - p.bytes_written) / dt) : "–";
    c[6].textContent = bytes(l.queued_bytes);
  });
}

// quantile estimates q from per-bucket counts: the bound of the bucket in
// which the q-th observation falls, as Prometheus' histogram_quantile
// would at its upper end.
function quantile(h, q) {
  let seen = 0;
  for (const b of h.buckets) {
    seen += b.count;
    if (seen >= q * h.count) return b.le;
  }
  return null;
}

function drawHistograms(list) {
  const box = $("#histograms");
  box.replaceChildren(...(list || []).map((h) => {
    const div = document.createElement("div");
    div.className = "panel hist";
    const head = document.createElement("h2");
    head.className = "name";
    head.textContent = h.name;
    head.title = h.help;
    const info = document.createElement("div");
    info.className = "sub";
    const p = (q) => { const v = quantile(h, q); return v == null ? "> last bound" : "≤ " + seconds(v); };
    info.textContent = h.count
      ? `${count(h.count)} observed · mean ${seconds(h.sum / h.count)} · p50 ${p(0.5)} · p99 ${p(0.99)}`
      : "nothing observed yet";
    const svgNS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 600 120");
    svg.setAttribute("preserveAspectRatio", "none");
    const top = Math.max(1, ...h.buckets.map((b) => b.count));
    const w = 600 / h.buckets.length;
    h.buckets.forEach((b, i) => {
      const r = document.createElementNS(svgNS, "rect");
      const ht = (100 * b.count) / top;
      r.setAttribute("x", i * w + 1);
      r.setAttribute("width", Math.max(1, w - 2));
      r.setAttribute("y", 104 - ht);
      r.setAttribute("height", ht);
      const t = document.createElementNS(svgNS, "title");
      t.textContent = `${b.le == null ? "+Inf" : "≤ " + seconds(b.le)}: ${count(b.count)}`;
      r.append(t);
      svg.append(r);
      if (i % Math.ceil(h.buckets.length / 6) === 0) {
        const lab = document.createElementNS(svgNS, "text");
        lab.setAttribute("x", i * w + 1);
        lab.setAttribute("y", 117);
        lab.textContent = b.le == null ? "+Inf" : seconds(b.le);
        svg.append(lab);
      }
    });
    div.append(head, info, svg);
    return div;
  }));
}

function draw(snap) {
  const st = snap.stats;
  const dt = prev ? (Date.parse(snap.time) - Date.parse(prev.time)) / 1000 : 0;
  const rate = (k) => (prev && dt > 0 ? (st[k] - prev.stats[k]) / dt : null);

  $("#name").textContent = snap.name;
  $("#engine").textContent = `engine ${snap.engine}, ${snap.loops.length} loop${snap.loops.length === 1 ? "" : "s"}`;
  const state = $("#state");
  state.textContent = snap.paused ? "paused: not accepting" : "serving";
  state.className = "state " + (snap.paused ? "paused" : "ok");
  $("#updated").textContent = "updated " + new Date(snap.time).toLocaleTimeString("en-GB");
  document.title = `${snap.name}: ${count(st.active)} open · proactor`;

  set("active", count(st.active));
  set("queued", bytes(st.queued_bytes));
  set("accepted", count(st.accepted));
  set("bytes-read", bytes(st.bytes_read));
  set("bytes-written", bytes(st.bytes_written));
  set("reads", count(st.reads));
  set("writes", count(st.writes));
  set("closed", count(st.closed));
  const ar = rate("accepted"), ir = rate("bytes_read"), or = rate("bytes_written");
  set("accepted-rate", ar == null ? "–" : count(ar) + "/s");
  set("in-rate", ir == null ? "–" : bytes(ir) + "/s");
  set("out-rate", or == null ? "–" : bytes(or) + "/s");

  const tf = st.tls_failures;
  const refused = [
    ["by the handler (OnAccept)", st.rejected_filter],
    ["address denied", st.rejected_denied],
    ["max connections", st.rejected_max_conns],
    ["max connections per IP", st.rejected_per_ip],
    ["accept failed (EMFILE, …)", st.accept_errors],
  ];
  // TLS's rows only where TLS is spoken (or spoken at).
  const tlsRefused = [
    ["TLS: not TLS", tf.not_tls],
    ["TLS: certificate", tf.certificate],
    ["TLS: alert", tf.alert],
    ["TLS: closed in handshake", tf.eof],
    ["TLS: handshake timeout", tf.timeout],
    ["TLS: too many handshakes", tf.busy],
    ["TLS: other", tf.other],
  ];
  const tls = st.tls_handshakes + st.tls_record_errors + tlsRefused.reduce((s, [, n]) => s + n, 0) > 0;
  if (tls) refused.push(...tlsRefused);
  rows($("#refused"), refused);
  set("rejected", count(refused.reduce((s, [, n]) => s + n, 0)));
  rows($("#closed"), [
    ["cleanly", st.closed - st.closed_by_err],
    ["with an error", st.closed_by_err],
    ["first-data timeout", st.first_data_timeouts],
    ["idle timeout", st.idle_timeouts],
    ["read timeout", st.read_timeouts],
    ["write timeout", st.write_timeouts],
    ["bad frame", st.frame_errors],
    ["write queue overflow", st.overflows],
    ["panic in a callback", st.panics],
  ].concat(tls ? [["TLS: bad record", st.tls_record_errors]] : []));

  if (ir != null) {
    history.push({ in: ir, out: or });
    if (history.length > keep) history.shift();
    drawSpark();
  }
  drawLoops(snap, dt);
  drawHistograms(snap.histograms);
  prev = snap;
}

async function tick() {
  try {
    const resp = await fetch("stats.json", { cache: "no-store" });
    if (!resp.ok) throw new Error(resp.status + " " + resp.statusText);
    draw(await resp.json());
  } catch (err) {
    const state = $("#state");
    state.textContent = "unreachable: " + err.message;
    state.className = "state down";
  }
  setTimeout(tick, period);
}
tick();
