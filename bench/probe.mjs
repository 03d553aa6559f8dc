// What a firehose benchmark records inside the page, and the statistics it draws from
// it: shared by bench/ui-firehose.mjs (Chromium) and bench/desktop-firehose.mjs (the
// desktop app's WebKitGTK web view), so both measure the same things the same way.
// `instrument` is evaluated in the page (its source is sent), so it uses nothing from
// this module.

// Evaluated in the page (in Chromium before the UI's own script; in the desktop app once
// it has loaded, since WebDriver cannot run a script earlier). Recording is switched on per phase;
// while off, the rAF loop still runs (as it would without the benchmark) but keeps nothing.
export function instrument() {
  const st = {
    on: false,
    frames: [],
    loadingFrames: 0,
    scan: null,
    long: [],
    events: [],
    inputs: [],
    last: 0,
  };
  const errors = [];
  addEventListener('error', (e) => errors.push(String(e.message)));
  addEventListener('unhandledrejection', (e) => errors.push(String(e.reason?.message ?? e.reason)));
  try {
    new PerformanceObserver((list) => {
      if (st.on) for (const e of list.getEntries()) st.long.push({ start: e.startTime, dur: e.duration });
    }).observe({ type: 'longtask' });
  } catch {
    // not supported
  }
  try {
    // Event Timing: inputs slower than 16 ms from the event to its next paint, as Chromium
    // measures them.
    new PerformanceObserver((list) => {
      if (st.on) for (const e of list.getEntries()) st.events.push({ name: e.name, dur: e.duration });
    }).observe({ type: 'event', durationThreshold: 16 });
  } catch {
    // not supported
  }
  // Every batch the page takes from the live worker, seen from outside the store: when,
  // how many records, and per connection whether each chunk follows on from the last
  // seq without a gap. The store's `apply` is looked up per call (transport/live.ts
  // hands chunks to `store.apply`), so wrapping it sees every batch; it is wrapped as
  // soon as the app exists, before its live feed starts.
  const got = new Map();
  let wrapped = false;
  const wrap = () => {
    const store = globalThis.sscope?.store;
    if (!store) return;
    wrapped = true;
    const apply = store.apply.bind(store);
    store.apply = (chunks) => {
      let n = 0;
      for (const c of chunks) {
        n += c.n;
        const g = got.get(c.conn) ?? { last: 0, received: 0, gaps: 0 };
        if (c.n && (c.seq[0] !== g.last + 1 || c.seq[c.n - 1] - c.seq[0] !== c.n - 1)) g.gaps++;
        if (c.n) g.last = c.seq[c.n - 1];
        g.received += c.n;
        got.set(c.conn, g);
      }
      if (st.on) st.batches.push({ at: performance.now(), n });
      apply(chunks);
    };
  };
  // Installed after the app started (WebDriver): wrap now, not at the first frame, so no
  // batch goes uncounted however late that frame comes.
  wrap();
  const raf = (t) => {
    if (!wrapped) wrap();
    if (st.on) {
      if (st.last) st.frames.push(t - st.last);
      st.last = t;
      if (st.scan && st.scan.querySelector('.row .loading')) st.loadingFrames++;
    }
    requestAnimationFrame(raf);
  };
  requestAnimationFrame(raf);
  // Input to next frame: from the event's own timestamp to a task queued from the next
  // animation frame (after that frame's style, layout and paint were handed over).
  const ch = new MessageChannel();
  let waiting = [];
  ch.port1.onmessage = () => {
    const now = performance.now();
    for (const w of waiting) st.inputs.push({ name: w.name, ms: now - w.ts });
    waiting = [];
  };
  // The latest input of any kind, for the time from an input to what it shows.
  for (const type of ['keydown', 'pointerdown', 'pointermove', 'wheel'])
    addEventListener(type, (e) => e.isTrusted && (st.lastInput = e.timeStamp), true);
  for (const type of ['keydown', 'pointerdown'])
    addEventListener(
      type,
      (e) => {
        if (!st.on || !e.isTrusted) return;
        waiting.push({ name: type, ts: e.timeStamp });
        requestAnimationFrame(() => ch.port2.postMessage(0));
      },
      true,
    );
  const paneEl = (i) => document.querySelectorAll('section.pane')[i];
  window.__bench = {
    errors,
    start(scan) {
      Object.assign(st, {
        on: true,
        frames: [],
        long: [],
        events: [],
        inputs: [],
        batches: [],
        loadingFrames: 0,
        last: 0,
      });
      st.scan = scan != null ? paneEl(scan) : null;
      st.t0 = performance.now();
    },
    stop() {
      st.on = false;
      const { frames, long, events, inputs, batches, loadingFrames } = st;
      return {
        wall: performance.now() - st.t0,
        frames,
        long,
        events,
        inputs,
        batches,
        loadingFrames,
      };
    },
    /** The centre of an element, for a trusted click there. */
    at(paneIndex, selector) {
      const root = paneIndex == null ? document : paneEl(paneIndex);
      const el = root?.querySelector(selector);
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return {
        x: r.x + r.width / 2,
        y: r.y + r.height / 2,
        top: r.y,
        height: r.height,
        width: r.width,
      };
    },
    focus(paneIndex, selector, select) {
      const el = paneEl(paneIndex)?.querySelector(selector);
      el?.focus();
      if (select) el?.select();
      return !!el;
    },
    /** The newest row a pane shows, the age of its record, and what the store holds;
     * with `server`, also the connection's last seq on the server, fetched by the page
     * just before it looks at its rows (so both are read within a few ms). */
    async shown(paneIndex, server) {
      const app = globalThis.sscope;
      const pane = app?.panes[paneIndex];
      let serverSeq = NaN;
      if (server && pane?.connId) {
        const res = await fetch(`${app.session.base}/api/connections/${pane.connId}`, {
          headers: { authorization: `Bearer ${app.session.token}` },
        });
        if (res.ok) serverSeq = (await res.json()).last_seq;
      }
      const el = paneEl(paneIndex);
      let seq = 0;
      let newest = null;
      for (const r of el?.querySelectorAll('.viewport .row') ?? []) {
        const s = Number(r.dataset.seq) || 0;
        if (s > seq) [seq, newest] = [s, r];
      }
      const logv = pane?.connId ? app.store.get(pane.connId) : undefined;
      // The age of the newest row on screen, from the time it shows (local HH:MM:SS.mmm).
      let age = NaN;
      const m = /(\d\d):(\d\d):(\d\d)\.(\d\d\d)/.exec(newest?.querySelector('.c-time')?.textContent ?? '');
      if (m) {
        const now = new Date();
        const at = new Date(now);
        at.setHours(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
        age = (now.getTime() - at.getTime() + 86_400_000) % 86_400_000;
      }
      const f = pane?.filter;
      return {
        seq,
        age,
        held: logv?.lastSeq ?? 0,
        received: got.get(pane?.connId)?.received ?? 0,
        gaps: got.get(pane?.connId)?.gaps ?? 0,
        paused: !!pane?.paused,
        filtered: !!f && (f.text !== '' || f.kinds.length > 0 || f.dirs.length > 0),
        conn: pane?.connId ?? null,
        state: logv?.view?.state ?? null,
        serverSeq,
      };
    },
    /** Resolves on the first frame in which the pane's rows are all drawn and the first
     * is within `near` rows of seq `want`, with the time since `since` (ms, page clock;
     * by default the latest input event). */
    rowsShown(paneIndex, want, near, since = st.lastInput, timeout = 10_000) {
      const el = paneEl(paneIndex);
      return new Promise((resolve) => {
        const t0 = performance.now();
        const check = () => {
          const rows = el.querySelectorAll('.viewport .row');
          const first = rows.length ? Number(rows[0].getAttribute('data-seq')) : 0;
          const ok = rows.length > 0 && !el.querySelector('.row .loading') && Math.abs(first - want) <= near;
          const now = performance.now();
          if (ok) resolve({ ms: now - since, first });
          else if (now - t0 > timeout) resolve({ ms: NaN, first });
          else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
      });
    },
  };
}

export function pct(xs, p) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
export const max = (xs) => xs.filter(Number.isFinite).reduce((a, b) => Math.max(a, b), -Infinity);
/** Calls `take()` once a second from `t0` (a `Date.now()`), on its own clock so a slow
 * sample does not shift the next, and keeps what it returns in `samples` until `stop()`,
 * which resolves once the sample under way is in. */
export function everySecond(t0, take) {
  const samples = [];
  let on = true;
  const done = (async () => {
    for (let k = 0; on; k++) {
      const due = t0 + k * 1000;
      if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
      if (!on) break;
      samples.push(await take());
    }
  })();
  return {
    samples,
    stop: async () => {
      on = false;
      await done;
    },
  };
}

/** How far the view lagged behind the server over the steady samples: `rows` behind
 * (one per sample) and each sample's `ages` in ms. */
export function lagStats(rows, ages) {
  return {
    samples: ages.length,
    rowsP50: pct(rows, 50),
    rowsMax: max(rows),
    msP50: pct(ages, 50),
    msP95: pct(ages, 95),
    msMax: max(ages),
  };
}
export function frameStats(rec) {
  const f = rec.frames;
  const long = rec.long;
  return {
    frames: f.length,
    fps: f.length / (rec.wall / 1000),
    p50: pct(f, 50),
    p95: pct(f, 95),
    p99: pct(f, 99),
    max: max(f),
    over50Share: f.length ? f.filter((x) => x > 50).length / f.length : NaN,
    longTasks: long.length,
    longTaskMs: long.reduce((a, l) => a + l.dur, 0),
    longMax: long.length ? max(long.map((l) => l.dur)) : 0,
    loadingFrames: rec.loadingFrames,
  };
}
