// Ballast live dashboard. Hand-written, no libraries: polls GET /v1/dashboard
// every second, reads margin notices from GET /v1/stream (fetch + streaming
// reader, because EventSource cannot send an Authorization header) and draws
// its charts on <canvas>. The token comes from the URL fragment "#token=…"
// (never sent to the server) or the sign-in box, and is kept in
// sessionStorage.
'use strict';

(function () {
  // Bounds and timings.
  const POLL_MS = 1000;
  const NOTICES_MAX = 200;          // rows kept in the notice list
  const FEED_POINTS_MAX = 600;      // sparkline points before halving the resolution
  const STREAM_BACKOFF_MIN_MS = 1000;
  const STREAM_BACKOFF_MAX_MS = 30000;
  const STREAM_IDLE_MS = 45000;     // 3 missed heartbeats: reconnect
  const STREAM_RECORD_BYTES_MAX = 1 << 20;
  const TOKEN_KEY = 'ballast.dashboard.token';
  const TOKEN_BYTES_MAX = 512;
  const HF_INF = 1e10;              // HealthFactorMax (1e6) ×10,000

  const C = {
    text: '#e6edf3', muted: '#9da7b3', grid: '#30363d', accent: '#58a6ff', purple: '#d2a8ff',
    ok: '#3fb950', warn: '#d29922', bad: '#f85149', grey: '#6e7681', amber: '#e3b341',
  };
  const BACKEND_COLORS = ['#58a6ff', '#d2a8ff', '#3fb950', '#f0883e', '#ff7b72', '#e3b341'];
  const KNOWN_BACKENDS = { cpu: 0, vsim: 1, fpga: 2 };

  const $ = (id) => document.getElementById(id);

  let token = null;
  let generation = 0;       // bumped on sign-in/out and auth failure: stops stale loops
  let last = null;          // last Summary, re-drawn on resize
  let feedSeries = [];      // {t, mps, pps}
  const backendSlots = new Map();
  const problems = new Map(); // source -> {text, level}
  let streamAbort = null;
  let noticeCount = 0;

  // ---------- formatting ----------

  const nf0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const nf2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function fmtInt(v) { return v === null || v === undefined ? '—' : nf0.format(v); }

  function fmtMoney(v) { return nf2.format(v / 1e4); }

  function fmtMoneyShort(v) {
    const x = v / 1e4;
    const a = Math.abs(x);
    if (a >= 1e9) return (x / 1e9).toFixed(2) + 'B';
    if (a >= 1e6) return (x / 1e6).toFixed(2) + 'M';
    if (a >= 1e4) return (x / 1e3).toFixed(1) + 'k';
    return nf2.format(x);
  }

  function fmtHF(v, noMargin) {
    if (noMargin || v >= HF_INF) return '∞';
    if (v <= -HF_INF) return '−∞';
    return (v / 1e4).toFixed(3);
  }

  function fmtDur(ns) {
    if (ns === null || ns === undefined || ns < 0) return '—';
    if (ns < 1e3) return ns.toFixed(0) + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 2 : 1) + ' µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : 1) + ' ms';
    return (ns / 1e9).toFixed(2) + ' s';
  }

  function fmtBound(ns) {
    if (ns < 1e3) return ns + 'ns';
    if (ns < 1e6) return +(ns / 1e3).toPrecision(3) + 'µs';
    if (ns < 1e9) return +(ns / 1e6).toPrecision(3) + 'ms';
    return +(ns / 1e9).toPrecision(3) + 's';
  }

  function fmtRate(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(2) + 'M';
    if (v >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    return nf0.format(v);
  }

  function fmtClock(d) {
    const p = (n) => String(n).padStart(2, '0');
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  function setText(id, text) {
    const el = $(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

  // ---------- status pills and the banner ----------

  function pill(id, level, text) {
    const p = $(id);
    p.className = 'pill pill-' + level;
    p.textContent = text;
  }

  function problem(source, level, text) {
    if (text) problems.set(source, { level, text }); else problems.delete(source);
    const b = $('banner');
    if (problems.size === 0) { b.hidden = true; b.textContent = ''; return; }
    let worst = 'warn';
    b.textContent = '';
    for (const p of problems.values()) {
      if (p.level === 'bad') worst = 'bad';
      b.appendChild(el('div', '', p.text));
    }
    b.className = worst === 'bad' ? 'banner' : 'banner warn';
    b.hidden = false;
  }

  // ---------- token ----------

  function readToken() {
    const frag = location.hash.replace(/^#/, '');
    const m = /(?:^|&)token=([^&]*)/.exec(frag);
    if (m) {
      let t = '';
      try { t = decodeURIComponent(m[1]); } catch (e) { t = ''; }
      // Drop the fragment from the address bar and history.
      history.replaceState(null, '', location.pathname + location.search);
      if (t) { storeToken(t); return t; }
    }
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function storeToken(t) {
    try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* storage off: keep it in memory */ }
  }

  function clearToken() {
    token = null;
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing stored */ }
  }

  function authHeaders() { return { Authorization: 'Bearer ' + token }; }

  function showLogin(message) {
    $('login').hidden = false;
    $('logout').hidden = true;
    if (message) problem('auth', 'bad', message);
    $('token-input').focus();
  }

  function stopAll() {
    generation++;
    if (streamAbort) { streamAbort.abort(); streamAbort = null; }
  }

  function authFailed(status, what) {
    stopAll();
    clearToken();
    pill('conn-data', 'bad', 'data: signed out');
    pill('conn-stream', 'bad', 'notices: signed out');
    problem('data', null, null);
    problem('stream', null, null);
    const msg = status === 403
      ? 'Access denied (403) on ' + what + ': this token\'s role may not view the dashboard. Use an ops or admin token.'
      : 'Not signed in (401) on ' + what + ': the token is missing, wrong or revoked. Sign in again.';
    showLogin(msg);
  }

  function start() {
    $('login').hidden = true;
    $('logout').hidden = false;
    problem('auth', null, null);
    const gen = ++generation;
    pollLoop(gen);
    streamLoop(gen);
  }

  // ---------- polling GET /v1/dashboard ----------

  async function errorText(res) {
    try {
      const j = await res.json();
      if (j && typeof j.error === 'string') return j.error;
    } catch (e) { /* not JSON */ }
    return res.statusText || '';
  }

  async function pollLoop(gen) {
    while (gen === generation) {
      try {
        const res = await fetch('/v1/dashboard', { headers: authHeaders(), cache: 'no-store' });
        if (gen !== generation) return;
        if (res.status === 401 || res.status === 403) { authFailed(res.status, 'GET /v1/dashboard'); return; }
        if (!res.ok) {
          const why = await errorText(res);
          pill('conn-data', 'bad', 'data: HTTP ' + res.status);
          problem('data', 'bad', 'Dashboard data unavailable (HTTP ' + res.status + (why ? ': ' + why : '') + '). Retrying every second.');
        } else {
          const s = await res.json();
          if (gen !== generation) return;
          last = s;
          render(s);
          pill('conn-data', 'ok', 'data: live');
          problem('data', null, null);
        }
      } catch (e) {
        if (gen !== generation) return;
        pill('conn-data', 'bad', 'data: unreachable');
        problem('data', 'bad', 'Cannot reach the appliance (' + e.message + '). Retrying every second.');
      }
      await sleep(POLL_MS);
    }
  }

  // ---------- notices from GET /v1/stream ----------

  async function streamLoop(gen) {
    let backoff = STREAM_BACKOFF_MIN_MS;
    while (gen === generation) {
      const ctl = new AbortController();
      streamAbort = ctl;
      let why = '';
      try {
        const res = await fetch('/v1/stream', { headers: authHeaders(), cache: 'no-store', signal: ctl.signal });
        if (gen !== generation) return;
        if (res.status === 401 || res.status === 403) { authFailed(res.status, 'GET /v1/stream'); return; }
        if (!res.ok || !res.body) {
          why = 'HTTP ' + res.status + ' ' + (await errorText(res));
        } else {
          pill('conn-stream', 'ok', 'notices: live');
          problem('stream', null, null);
          backoff = STREAM_BACKOFF_MIN_MS;
          why = await readEvents(res.body, ctl, gen);
        }
      } catch (e) {
        why = e.name === 'AbortError' ? 'no data for ' + STREAM_IDLE_MS / 1000 + ' s' : e.message;
      }
      if (gen !== generation) return;
      const wait = Math.round(backoff * (0.8 + 0.4 * Math.random()));
      pill('conn-stream', 'bad', 'notices: lost');
      problem('stream', 'warn', 'Notice stream lost (' + why + '); reconnecting in ' + Math.ceil(wait / 1000) +
        ' s. Notices sent meanwhile are not replayed: the account figures above stay current.');
      await sleep(wait);
      backoff = Math.min(backoff * 2, STREAM_BACKOFF_MAX_MS);
    }
  }

  // readEvents parses server-sent events until the body ends; it returns why.
  async function readEvents(body, ctl, gen) {
    const reader = body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let idle = setTimeout(() => ctl.abort(), STREAM_IDLE_MS);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (gen !== generation) { ctl.abort(); return 'signed out'; }
        clearTimeout(idle);
        idle = setTimeout(() => ctl.abort(), STREAM_IDLE_MS);
        if (done) return 'closed by the server';
        buf += dec.decode(value, { stream: true });
        if (buf.indexOf('\r') >= 0) buf = buf.replace(/\r\n?/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          handleRecord(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
        if (buf.length > STREAM_RECORD_BYTES_MAX) { ctl.abort(); return 'event too large'; }
      }
    } finally {
      clearTimeout(idle);
    }
  }

  function handleRecord(rec) {
    let event = 'message';
    const data = [];
    for (const line of rec.split('\n')) {
      if (line === '' || line[0] === ':') continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      let value = c < 0 ? '' : line.slice(c + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (event !== 'margin' || data.length === 0) return;
    let n;
    try { n = JSON.parse(data.join('\n')); } catch (e) { return; }
    if (n && typeof n === 'object') addNotice(n);
  }

  function addNotice(n) {
    const list = $('notices');
    const li = el('li', 'fresh');
    li.dataset.account = String(n.account);
    li.dataset.state = String(n.state);
    li.appendChild(el('span', 'time', fmtClock(new Date())));
    const what = el('span', 'what');
    what.appendChild(el('span', 'acct', String(n.account)));
    what.appendChild(document.createTextNode(' ' + (n.firm || '') + ' '));
    what.appendChild(el('span', 'state state-' + n.from, String(n.from)));
    what.appendChild(document.createTextNode(' → '));
    what.appendChild(el('span', 'state state-' + n.state, String(n.state)));
    li.appendChild(what);
    li.appendChild(el('span', 'fig', 'eq ' + fmtMoneyShort(n.equity) + ' · IM ' + fmtMoneyShort(n.initial_margin) +
      ' · MM ' + fmtMoneyShort(n.maintenance_margin)));
    li.title = 'epoch ' + n.epoch;
    list.insertBefore(li, list.firstChild);
    while (list.children.length > NOTICES_MAX) list.removeChild(list.lastChild);
    noticeCount++;
    $('notices-empty').hidden = true;
    setText('h-notices-count', String(noticeCount));
  }

  // ---------- canvas helpers ----------

  function canvas2d(id) {
    const cv = $(id);
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(cv.clientWidth, 50);
    const h = Math.max(cv.clientHeight, 50);
    if (cv.width !== Math.round(w * dpr) || cv.height !== Math.round(h * dpr)) {
      cv.width = Math.round(w * dpr);
      cv.height = Math.round(h * dpr);
    }
    const g = cv.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.font = '11px system-ui, "Liberation Sans", "DejaVu Sans", sans-serif';
    g.textBaseline = 'middle';
    return { cv, g, w, h };
  }

  // niceStep returns a round tick step (1, 2, 2.5 or 5 × 10ⁿ; whole numbers
  // when integer) so that four steps cover v.
  function niceStep(v, integer) {
    const raw = v > 0 ? v / 4 : 0.25;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) {
      const step = m * p;
      if (integer && step !== Math.round(step)) continue;
      if (raw <= step) return integer ? Math.max(1, step) : step;
    }
    return 10 * p;
  }

  // gridY draws four horizontal grid lines from 0 to 4 steps with labels,
  // returning the axis maximum; left is widened to fit the labels.
  function gridY(g, box, vmax, fmt, integer) {
    const step = niceStep(vmax, integer);
    const max = step * 4;
    const labels = [0, 1, 2, 3, 4].map((i) => fmt(step * i));
    const lw = Math.max(...labels.map((l) => g.measureText(l).width));
    box.left = Math.max(box.left, Math.ceil(lw) + 10);
    g.strokeStyle = C.grid;
    g.fillStyle = C.muted;
    g.lineWidth = 1;
    g.textAlign = 'right';
    for (let i = 0; i <= 4; i++) {
      const y = Math.round(box.bottom - (box.bottom - box.top) * i / 4) + 0.5;
      g.beginPath(); g.moveTo(box.left, y); g.lineTo(box.right, y); g.stroke();
      g.fillText(labels[i], box.left - 6, y);
    }
    return max;
  }

  // drawBars draws a bar chart of [{label, value, color}]. Labels that do
  // not fit under their bars go on two staggered rows, and if still too
  // wide only every m-th is written.
  function drawBars(id, bars, ariaPrefix) {
    const { cv, g, w, h } = canvas2d(id);
    const labelW = Math.max(1, ...bars.map((b) => g.measureText(b.label).width));
    const box = { left: 30, right: w - 6, top: 14, bottom: h - 18 };
    const slot0 = (box.right - box.left) / bars.length;
    const k = Math.ceil((labelW + 6) / slot0);
    if (k > 1) box.bottom = h - 30;
    const max = gridY(g, box, Math.max(0, ...bars.map((b) => b.value)), fmtRate, true);
    const slot = (box.right - box.left) / bars.length;
    const m = k > 1 ? Math.ceil(Math.ceil((labelW + 6) / slot) / 2) : 1;
    const bw = Math.max(3, Math.min(56, slot * 0.66));
    g.textAlign = 'center';
    let shown = 0;
    bars.forEach((b, i) => {
      const x = box.left + slot * i + (slot - bw) / 2;
      const bh = (box.bottom - box.top) * b.value / max;
      g.fillStyle = b.color;
      g.fillRect(x, box.bottom - bh, bw, Math.max(bh, b.value > 0 ? 1 : 0));
      g.fillStyle = C.text;
      if (b.value > 0) g.fillText(fmtInt(b.value), x + bw / 2, Math.max(box.bottom - bh - 7, box.top - 6));
      if (i % m === 0) {
        g.fillStyle = C.muted;
        const half = g.measureText(b.label).width / 2;
        const lx = Math.min(Math.max(x + bw / 2, half + 1), w - half - 1);
        g.fillText(b.label, lx, box.bottom + 10 + (k > 1 && shown % 2 ? 12 : 0));
        shown++;
      }
    });
    cv.setAttribute('aria-label', ariaPrefix + ': ' + bars.map((b) => b.label + ' ' + b.value).join(', '));
  }

  function drawEmpty(id, text, aria) {
    const { cv, g, w, h } = canvas2d(id);
    g.fillStyle = C.muted;
    g.textAlign = 'center';
    g.fillText(text, w / 2, h / 2);
    cv.setAttribute('aria-label', aria);
  }

  // ---------- sections ----------

  function renderAccounts(a) {
    setText('count-total', fmtInt(a.total));
    setText('count-healthy', fmtInt(a.by_state.HEALTHY));
    setText('count-margin-call', fmtInt(a.by_state.MARGIN_CALL));
    setText('count-liquidate', fmtInt(a.by_state.LIQUIDATE));
    setText('count-stale', fmtInt(a.stale));
    setText('count-risk-unknown', fmtInt(a.risk_unknown));
    $('count-liquidate').classList.toggle('alert', a.by_state.LIQUIDATE > 0);
    drawBars('chart-states', [
      { label: 'Healthy', value: a.by_state.HEALTHY, color: C.ok },
      { label: 'Margin call', value: a.by_state.MARGIN_CALL, color: C.warn },
      { label: 'Liquidate', value: a.by_state.LIQUIDATE, color: C.bad },
    ], 'Accounts by state');

    const hcol = (b, i) => (b.label === 'no margin' ? C.grey : i === 0 ? C.bad : i <= 2 ? C.warn : C.ok);
    drawBars('chart-health', (a.health || []).map((b, i) => ({ label: b.label, value: b.count, color: hcol(b, i) })),
      'Accounts per health factor range');

    const body = $('worst-body');
    const rows = document.createDocumentFragment();
    for (const r of a.worst || []) {
      const tr = el('tr');
      tr.dataset.account = String(r.id);
      tr.appendChild(el('td', '', String(r.id)));
      tr.appendChild(el('td', '', r.firm));
      const st = el('td');
      st.appendChild(el('span', 'state state-' + r.state, r.state));
      if (r.stale) st.appendChild(el('span', 'flag', 'stale'));
      tr.appendChild(st);
      tr.appendChild(el('td', 'num', fmtMoney(r.equity)));
      tr.appendChild(el('td', 'num', fmtMoney(r.initial_margin)));
      tr.appendChild(el('td', 'num', fmtMoney(r.maintenance_margin)));
      tr.appendChild(el('td', 'num', fmtHF(r.health_factor, r.no_margin)));
      rows.appendChild(tr);
    }
    if (!rows.firstChild) {
      const tr = el('tr');
      const td = el('td', 'muted', 'No accounts');
      td.colSpan = 7;
      tr.appendChild(td);
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
  }

  // renderLatency shows one transport's check latency histogram: ids
  // prefixed with pre ('lat-' or 'lat-sbe-'), drawn on the canvas chart.
  function renderLatency(l, pre, chart, name) {
    if (!l) {
      setText(pre + 'count', '—'); setText(pre + 'p50', '—'); setText(pre + 'p99', '—');
      drawEmpty(chart, 'not measured', name + ' check latency: not measured');
      return;
    }
    setText(pre + 'count', fmtInt(l.count));
    setText(pre + 'p50', l.count ? fmtDur(l.p50_ns) : '—');
    setText(pre + 'p99', l.count ? fmtDur(l.p99_ns) : '—');
    const bars = l.counts.map((c, i) => ({
      label: i < l.bounds_ns.length ? '≤' + fmtBound(l.bounds_ns[i]) : '>' + fmtBound(l.bounds_ns[i - 1]),
      value: c, color: C.accent,
    }));
    drawBars(chart, bars, name + ' check latency histogram, checks per bucket');
  }

  function renderLatencies(s) {
    renderLatency(s.sbe_check_latency, 'lat-sbe-', 'chart-latency-sbe', 'SBE');
    renderLatency(s.check_latency, 'lat-', 'chart-latency', 'HTTP');
  }

  function pushFeed(t, mps, pps) {
    feedSeries.push({ t, mps, pps });
    if (feedSeries.length >= FEED_POINTS_MAX) {
      // Halve the resolution so the sparkline keeps the page's whole lifetime.
      const merged = [];
      for (let i = 0; i + 1 < feedSeries.length; i += 2) {
        const a = feedSeries[i], b = feedSeries[i + 1];
        merged.push({ t: b.t, mps: (a.mps + b.mps) / 2, pps: (a.pps + b.pps) / 2 });
      }
      if (feedSeries.length % 2) merged.push(feedSeries[feedSeries.length - 1]);
      feedSeries = merged;
    }
  }

  function renderFeed(f, t) {
    if (!f) {
      for (const id of ['feed-mps', 'feed-pps', 'feed-age', 'feed-ring', 'feed-gaps-opened', 'feed-gaps-recovered',
        'feed-gaps-lost', 'feed-stale']) setText(id, '—');
      drawEmpty('chart-feed', 'no feed', 'Feed: none configured');
      return;
    }
    if (f.rates_known) pushFeed(t, f.messages_per_sec, f.packets_per_sec);
    setText('feed-mps', f.rates_known ? fmtRate(f.messages_per_sec) : '—');
    setText('feed-pps', f.rates_known ? fmtRate(f.packets_per_sec) : '—');
    setText('feed-age', f.last_tick_age_ns < 0 ? 'none' : fmtDur(f.last_tick_age_ns) + ' ago');
    setText('feed-ring', fmtInt(f.ring_depth) + (f.ring_capacity ? ' / ' + fmtInt(f.ring_capacity) : ''));
    setText('feed-gaps-opened', fmtInt(f.gaps_opened));
    setText('feed-gaps-recovered', fmtInt(f.gaps_recovered));
    setText('feed-gaps-lost', fmtInt(f.gaps_lost));
    setText('feed-stale', f.stale ? 'STALE' : 'fresh');
    $('feed-stale').classList.toggle('alert', !!f.stale);
    $('feed-stale').title = f.stale_reason || '';
    $('feed-gaps-lost').classList.toggle('alert', f.gaps_lost > 0);
    drawFeed();
  }

  function drawFeed() {
    const { cv, g, w, h } = canvas2d('chart-feed');
    const pts = feedSeries;
    const box = { left: 30, right: w - 6, top: 10, bottom: h - 18 };
    const max = gridY(g, box, Math.max(1, ...pts.map((p) => Math.max(p.mps, p.pps))), fmtRate, false);
    const { left, right, top, bottom } = box;
    if (pts.length < 2) {
      g.fillStyle = C.muted; g.textAlign = 'center';
      g.fillText('collecting…', (left + right) / 2, (top + bottom) / 2);
      cv.setAttribute('aria-label', 'Feed rate: collecting');
      return;
    }
    const t0 = pts[0].t, t1 = pts[pts.length - 1].t;
    const span = Math.max(t1 - t0, 1);
    const xOf = (t) => left + (right - left) * (t - t0) / span;
    const yOf = (v) => bottom - (bottom - top) * v / max;
    const line = (key, color, fill) => {
      g.beginPath();
      pts.forEach((p, i) => (i ? g.lineTo(xOf(p.t), yOf(p[key])) : g.moveTo(xOf(p.t), yOf(p[key]))));
      g.strokeStyle = color; g.lineWidth = 1.5; g.stroke();
      if (fill) {
        g.lineTo(xOf(t1), bottom); g.lineTo(xOf(t0), bottom); g.closePath();
        g.fillStyle = 'rgba(88,166,255,0.15)'; g.fill();
      }
    };
    line('mps', C.accent, true);
    line('pps', C.purple, false);
    g.textAlign = 'left'; g.fillStyle = C.muted;
    g.fillText(fmtClock(new Date(t0)), left, bottom + 10);
    g.textAlign = 'right';
    g.fillText(fmtClock(new Date(t1)), right, bottom + 10);
    g.textAlign = 'center';
    g.fillStyle = C.accent; g.fillText('messages/s', (left + right) / 2 - 40, bottom + 10);
    g.fillStyle = C.purple; g.fillText('packets/s', (left + right) / 2 + 40, bottom + 10);
    const lastP = pts[pts.length - 1];
    cv.setAttribute('aria-label', 'Feed rate since the page opened: now ' + fmtRate(lastP.mps) + ' messages/s, ' +
      fmtRate(lastP.pps) + ' packets/s');
  }

  function slotOf(backend) {
    if (!backendSlots.has(backend)) {
      const used = new Set(backendSlots.values());
      let s = KNOWN_BACKENDS[backend];
      if (s === undefined || used.has(s)) {
        s = 0;
        while (used.has(s) && s < BACKEND_COLORS.length - 1) s++;
      }
      backendSlots.set(backend, s);
    }
    return backendSlots.get(backend);
  }

  function renderEpochs(eps) {
    const legend = $('epoch-legend');
    if (!eps || eps.length === 0) {
      legend.replaceChildren();
      setText('epoch-last', 'No epoch yet.');
      drawEmpty('chart-epochs', 'no epoch yet', 'Epoch durations: no epoch yet');
      return;
    }
    const byBackend = new Map();
    for (const e of eps) {
      const t = Date.parse(e.started);
      if (!byBackend.has(e.backend)) byBackend.set(e.backend, []);
      byBackend.get(e.backend).push({ t, d: e.duration_ns / 1e6, e });
    }
    const names = [...byBackend.keys()].sort();
    const frag = document.createDocumentFragment();
    for (const name of names) {
      const li = el('li');
      li.appendChild(el('span', 'swatch sw-' + slotOf(name)));
      const pts = byBackend.get(name);
      const mean = pts.reduce((s, p) => s + p.d, 0) / pts.length;
      li.appendChild(document.createTextNode(name + ' — ' + pts.length + ' epochs, mean ' + fmtDur(mean * 1e6)));
      frag.appendChild(li);
    }
    legend.replaceChildren(frag);

    const { cv, g, w, h } = canvas2d('chart-epochs');
    const box = { left: 30, right: w - 8, top: 10, bottom: h - 18 };
    const ts = eps.map((e) => Date.parse(e.started));
    const t0 = Math.min(...ts), t1 = Math.max(...ts);
    const span = Math.max(t1 - t0, 1);
    const max = gridY(g, box, Math.max(...eps.map((e) => e.duration_ns / 1e6)), (v) => fmtDur(v * 1e6), false);
    const { left, right, top, bottom } = box;
    const xOf = (t) => (t1 === t0 ? (left + right) / 2 : left + (right - left) * (t - t0) / span);
    const yOf = (d) => bottom - (bottom - top) * d / max;
    for (const name of names) {
      const col = BACKEND_COLORS[slotOf(name)];
      const pts = byBackend.get(name).slice().sort((a, b) => a.t - b.t);
      g.strokeStyle = col; g.fillStyle = col; g.lineWidth = 1.25;
      g.beginPath();
      pts.forEach((p, i) => (i ? g.lineTo(xOf(p.t), yOf(p.d)) : g.moveTo(xOf(p.t), yOf(p.d))));
      g.stroke();
      for (const p of pts) { g.beginPath(); g.arc(xOf(p.t), yOf(p.d), 2.5, 0, 2 * Math.PI); g.fill(); }
    }
    g.fillStyle = C.muted;
    g.textAlign = 'left'; g.fillText(fmtClock(new Date(t0)), left, bottom + 10);
    g.textAlign = 'right'; g.fillText(fmtClock(new Date(t1)), right, bottom + 10);
    const newest = eps[eps.length - 1];
    setText('epoch-last', 'Latest: epoch ' + newest.id + ' on ' + newest.backend + ', ' + fmtInt(newest.scenarios) +
      ' scenarios in ' + fmtDur(newest.duration_ns) + '.');
    cv.setAttribute('aria-label', 'Epoch durations over time for ' + names.join(', ') + '; latest epoch ' + newest.id +
      ' took ' + fmtDur(newest.duration_ns));
  }

  function renderAccel(a) {
    if (!a) { pill('accel', 'wait', 'accelerator: unknown'); return; }
    const level = !a.healthy ? 'bad' : a.degraded ? 'warn' : 'ok';
    let text = 'accelerator: ' + a.backend;
    if (a.degraded) text += ' (degraded)';
    if (!a.healthy) text += ' (unhealthy)';
    pill('accel', level, text);
    $('accel').title = a.detail || '';
  }

  function render(s) {
    const t = Date.parse(s.generated) || Date.now();
    setText('generated', 'updated ' + fmtClock(new Date(t)));
    renderAccounts(s.accounts);
    renderLatencies(s);
    renderFeed(s.feed, t);
    renderEpochs(s.epochs);
    renderAccel(s.accelerator);
  }

  function redraw() {
    if (!last) return;
    const a = last.accounts;
    renderAccounts(a);
    renderLatencies(last);
    if (last.feed) drawFeed();
    renderEpochs(last.epochs);
  }

  // ---------- wiring ----------

  function init() {
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = $('token-input').value.trim();
      if (!v || v.length > TOKEN_BYTES_MAX) {
        problem('auth', 'bad', 'Enter a token of 1 to ' + TOKEN_BYTES_MAX + ' characters.');
        return;
      }
      $('token-input').value = '';
      token = v;
      storeToken(v);
      start();
    });
    $('logout').addEventListener('click', () => {
      stopAll();
      clearToken();
      pill('conn-data', 'wait', 'data: signed out');
      pill('conn-stream', 'wait', 'notices: signed out');
      problem('data', null, null);
      problem('stream', null, null);
      showLogin(null);
    });
    let resizeTimer = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(redraw, 100);
    });
    token = readToken();
    if (token) {
      start();
    } else {
      pill('conn-data', 'wait', 'data: signed out');
      pill('conn-stream', 'wait', 'notices: signed out');
      showLogin(null);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
