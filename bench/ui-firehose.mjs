#!/usr/bin/env node
// UI under a firehose: the built UI in headless Chromium against a real `sscope serve`,
// measured the way DESIGN.md states the UI targets (100,000 frames/s arriving keeps the
// window responsive, memory stays bounded, nothing is lost; a million recorded frames
// scroll smoothly). It prints the figures; BENCHMARKS.md keeps them. It asserts no time.
//
//   node bench/ui-firehose.mjs                  (from the repository root)
//
// Knobs (environment):
//   SSCOPE_BIN    the server (default: the release build in /var/tmp/streamscope-target
//                 when there is one, else the debug build)
//   CHROMIUM      default /usr/bin/chromium; never downloads a browser
//   SKIP_BUILD=1  serve ui/dist as it is (default: `npm run build` in ui/ first)
//   CASES         firehose cases, comma-separated `proto@rate` (default ws@100000,sse@100000);
//                 `ws@100000:nochart` runs with the rate charts folded away, to tell their
//                 cost from the frame list's
//   SECS          seconds per firehose case (default 30)
//   SCROLL_ROWS   records recorded for the scroll run (default 1000000; 0 skips it)
//                 (CASES= with nothing runs the scroll run alone)
//   JUMPS         jumps to random places in the scroll run (default 20)
//   OUT           the figures as JSON (default bench/results/ui-firehose-<stamp>.json)
//   PROFILE=path  also writes a CPU profile of the page's main thread per firehose case
//                 (path-ws-100000.cpuprofile; open it in Chrome DevTools)
//   TRACE=path    also writes a Chromium trace per firehose case (path-ws-100000.json)
//   SERVER_LOG=path  the server's output
//
// playwright-core comes from ui/node_modules (`cd ui && npm ci` once).
//
// Why the page is not a Playwright page: Playwright attaches to every page and worker it
// manages and enables DevTools' network domain there, which copies every WebSocket frame
// the live worker receives to the driver. At ~15 MB/s of live batches that tripled the
// worker's and the browser's CPU time in a side-by-side test (same page, same feed:
// worker 21 % of a core under Playwright, 7 % without). So Playwright launches and stops
// Chromium, and the page lives in a browser context Playwright does not know (it detaches
// from those), driven over a plain CDP session: Runtime.evaluate, Input.* (trusted input
// events, as a user's), Performance.getMetrics. Nothing there records network traffic.
//
// What runs: for each case, a fresh browser context opens the UI (two panes, as a new
// user sees it), points one pane at the demo ticker (`/demo/ws/ticker?rate=…` or
// `/demo/sse/ticker?rate=…`), connects, and lets it run SECS seconds while the page
// records every requestAnimationFrame interval, every long task, and the latency of
// inputs (a key typed in the pane's search box, Backspace, clicks on Pause and Resume)
// from the input event to the next frame. Every second it samples the JS heap (CDP
// `Performance.getMetrics`), the renderer's memory (PSS), and how far the list lags:
// the newest seq shown against the server's `last_seq`, and the age of the newest row
// shown. Then it disconnects, waits until the UI holds what the server recorded, and
// checks that the store was handed every seq once, without a gap (it wraps the store's
// `apply` to count). The scroll run records SCROLL_ROWS ticker messages into one pane as
// fast as the server goes, then wheels through rows in memory and rows paged from the
// server, jumps to the top, the middle, the bottom and random places, and drags the
// scrollbar thumb through the whole recording, timing frames and rows shown.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { startServe } from '../ui/e2e/serve.mjs';
import { CdpTab, uiReady, until } from './cdp.mjs';
import { processTable, pssMiB, readStat, rssMiB, threadIds } from './proc.mjs';
import { everySecond, frameStats, instrument, lagStats, max, pct } from './probe.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const uiDir = join(repo, 'ui');
const require = createRequire(join(uiDir, 'package.json'));
const { chromium } = require('playwright-core');

const target = '/var/tmp/streamscope-target';
const bin =
  process.env.SSCOPE_BIN ||
  (existsSync(`${target}/release/sscope`) ? `${target}/release/sscope` : `${target}/debug/sscope`);
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const SECS = Number(process.env.SECS || 30);
const SCROLL_ROWS = Number(process.env.SCROLL_ROWS ?? 1_000_000);
const JUMPS = Number(process.env.JUMPS || 20);
const CASES = (process.env.CASES ?? 'ws@100000,sse@100000')
  .split(',')
  .filter(Boolean)
  .map((c) => {
    const [what, option] = c.trim().split(':');
    const [proto, rate] = what.split('@');
    if ((proto !== 'ws' && proto !== 'sse') || !(Number(rate) > 0) || (option && option !== 'nochart'))
      fatal(`bad case ${c}: want ws@RATE or sse@RATE, optionally :nochart`);
    return { proto, rate: Number(rate), nochart: option === 'nochart' };
  });
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
const OUT = process.env.OUT || join(repo, 'bench', 'results', `ui-firehose-${stamp}.json`);
const VIEWPORT = { width: 1440, height: 900 };

function fatal(msg) {
  console.error(`ui-firehose: ${msg}`);
  process.exit(1);
}
const log = (...a) => console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

if (!existsSync(bin)) fatal(`no sscope at ${bin}; CARGO_TARGET_DIR=${target} cargo build -p sscope --release`);
if (!existsSync(chromiumPath)) fatal(`no Chromium at ${chromiumPath}`);
if (!process.env.SKIP_BUILD) {
  log('building the UI (npm run build in ui/)…');
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: uiDir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0) fatal('npm run build failed');
}

// --- the server ---------------------------------------------------------------------------

const {
  server,
  uiUrl,
  token,
  output: serverOutput,
  stop: stopServer,
} = await startServe(bin).catch((e) => fatal(e.message));
process.on('SIGINT', () => process.exit(130));
const origin = new URL(uiUrl).origin;
const host = new URL(uiUrl).host;

async function api(path, init = {}) {
  const res = await fetch(origin + path, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 || res.status === 202 ? null : res.json();
}

// The demo catalog says which rates the tickers take.
const catalog = await api('/demo');
for (const proto of ['ws', 'sse']) {
  const ticker = catalog.find((d) => d.proto === proto && d.path.endsWith('/ticker'));
  const top = ticker?.params.find((p) => p.name === 'rate')?.max;
  if (!ticker || !top) fatal(`GET /demo lists no ${proto} ticker with a rate`);
  for (const c of CASES) if (c.proto === proto && c.rate > top) fatal(`the ${proto} ticker takes at most rate=${top}`);
  if (proto === 'ws' && SCROLL_ROWS > 0 && top < 1_000_000)
    fatal(`the ws ticker's top rate is ${top}; the scroll run wants 1000000`);
}

// --- the machine: processes, memory, CPU ---------------------------------------------------

/** Our Chromium's processes (descendants of this node process), by type. */
function chromiumPids() {
  const table = processTable();
  const mine = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, p] of table)
      if (!mine.has(pid) && mine.has(p.ppid)) {
        mine.add(pid);
        grew = true;
      }
  }
  mine.delete(process.pid);
  mine.delete(server.pid);
  const byType = { renderer: [], gpu: [], other: [] };
  for (const pid of mine) {
    const args = table.get(pid)?.cmdline.join(' ') ?? '';
    if (!args.includes('chrom')) continue;
    if (args.includes('--type=renderer')) byType.renderer.push(pid);
    else if (args.includes('--type=gpu-process')) byType.gpu.push(pid);
    else byType.other.push(pid);
  }
  return byType;
}
/** CPU seconds of the renderers' threads, by role: main thread, the live worker, the rest. */
function rendererCpu(pids) {
  const out = { main: 0, worker: 0, other: 0 };
  for (const pid of pids)
    for (const tid of threadIds(pid)) {
      const st = readStat(`/proc/${pid}/task/${tid}/stat`);
      if (!st) continue; // gone
      const role = /^DedicatedWorker/.test(st.comm) ? 'worker' : Number(tid) === pid ? 'main' : 'other';
      out[role] += st.cpu;
    }
  return out;
}
const procCpu = (pids) => pids.reduce((s, pid) => s + (readStat(`/proc/${pid}/stat`)?.cpu ?? 0), 0);
/** Summed over `pids`, those gone meanwhile left out. */
const pssOfMiB = (pids) => pids.reduce((s, pid) => s + (pssMiB(pid) || 0), 0);
const uptime = () => spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

// --- the browser and a page nobody instruments ---------------------------------------------------

const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });

/** A page in its own browser context, driven over CDP (see the header for why). */
class Tab extends CdpTab {
  static async open(url) {
    const tab = await Tab.create(browser, VIEWPORT);
    await tab.send('Emulation.setFocusEmulationEnabled', { enabled: true });
    await tab.send('Page.enable');
    await tab.send('Page.addScriptToEvaluateOnNewDocument', { source: `(${instrument})()` });
    await tab.send('Performance.enable');
    await tab.send('Page.navigate', { url });
    await until('the UI with its live link', () => tab.eval(uiReady), 15_000, 100);
    return tab;
  }

  async metrics() {
    const { metrics } = await this.send('Performance.getMetrics');
    return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
  }

  mouse(type, x, y, extra = {}) {
    return this.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', ...extra });
  }
  async click(x, y) {
    await this.mouse('mouseMoved', x, y, { button: 'none' });
    await this.mouse('mousePressed', x, y, { clickCount: 1, buttons: 1 });
    await this.mouse('mouseReleased', x, y, { clickCount: 1 });
  }
  /** Clicks the centre of `selector` in pane `paneIndex` (the whole page when null). */
  async clickOn(paneIndex, selector) {
    const at = await this.eval((i, s) => window.__bench.at(i, s), paneIndex, selector);
    if (!at) throw new Error(`nothing to click at ${selector}`);
    await this.click(at.x, at.y);
  }
  wheel(x, y, deltaY) {
    return this.send('Input.dispatchMouseEvent', { type: 'mouseWheel', x, y, deltaX: 0, deltaY });
  }
  static KEYS = {
    Backspace: 8,
    Enter: 13,
    Escape: 27,
    End: 35,
    Home: 36,
  };
  async press(key) {
    const code = Tab.KEYS[key];
    const text = code === undefined ? key : code === 13 ? '\r' : undefined;
    const common = {
      key,
      code: code === undefined ? `Key${key.toUpperCase()}` : key,
      windowsVirtualKeyCode: code ?? key.toUpperCase().charCodeAt(0),
    };
    await this.send('Input.dispatchKeyEvent', { type: text ? 'keyDown' : 'rawKeyDown', text, ...common });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', ...common });
  }
  insertText(text) {
    return this.send('Input.insertText', { text });
  }
}

async function connectPane(tab, i, url) {
  await tab.eval((k, s) => window.__bench.focus(k, s, true), i, 'input.url');
  await tab.insertText(url);
  await tab.clickOn(i, 'button.connect');
  return until('the connection id', () => tab.eval((k) => globalThis.sscope.panes[k].connId, i), 10_000, 50);
}

/** Disconnects (or, with `disconnect` false, waits for the peer to end the stream), then
 * waits until the UI holds every record the server has. */
async function settle(tab, i, conn, { disconnect = true, timeout = 120_000 } = {}) {
  if (disconnect) await tab.clickOn(i, 'button.connect.danger');
  await until(
    'the connection to end',
    async () => ['closed', 'failed'].includes((await api(`/api/connections/${conn}`)).state),
    timeout,
  );
  const t0 = Date.now();
  const server = (await api(`/api/connections/${conn}`)).last_seq;
  const ui = await until(
    'the UI to hold every record',
    async () => {
      const s = await tab.eval((k) => window.__bench.shown(k), i);
      return s.held >= server && s;
    },
    timeout,
    100,
  );
  return { server, ui, catchUpMs: Date.now() - t0 };
}

// --- statistics ---------------------------------------------------------------------------------
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const pc = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '–');

// --- the firehose ------------------------------------------------------------------------------

async function firehose({ proto, rate, nochart }) {
  const paneIndex = proto === 'ws' ? 0 : 1;
  const url =
    proto === 'ws' ? `ws://${host}/demo/ws/ticker?rate=${rate}` : `http://${host}/demo/sse/ticker?rate=${rate}`;
  log(`firehose: ${url} for ${SECS} s${nochart ? ', rate charts folded' : ''}`);
  const tab = await Tab.open(uiUrl);
  if (nochart) {
    if (await tab.eval(() => !!document.querySelector('section.rates button[aria-expanded="true"]')))
      await tab.clickOn(null, 'section.rates button[aria-expanded="true"]');
    else log('  (no open rate chart to fold)');
  }
  await sleep(1000);
  const pids = chromiumPids();
  const cpuNow = () => ({
    ...rendererCpu(pids.renderer),
    gpu: procCpu(pids.gpu),
    browser: procCpu(pids.other),
    server: procCpu([server.pid]),
  });
  const cpu0 = cpuNow();
  const m0 = await tab.metrics();
  await tab.eval(() => window.__bench.start());
  const conn = await connectPane(tab, paneIndex, url);
  if (process.env.TRACE)
    await browser.startTracing(undefined, {
      categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink', 'toplevel'],
    });
  if (process.env.PROFILE) {
    await tab.send('Profiler.enable');
    await tab.send('Profiler.setSamplingInterval', { interval: 200 });
    await tab.send('Profiler.start');
  }
  const t0 = Date.now();
  // One sample a second: the lag, the JS heap, the renderer's memory.
  const sampler = everySecond(t0, async () => {
    const [shown, m] = await Promise.all([tab.eval((i) => window.__bench.shown(i, true), paneIndex), tab.metrics()]);
    return {
      s: (Date.now() - t0) / 1000,
      shown: shown.seq,
      age: shown.age,
      held: shown.held,
      server: shown.serverSeq,
      paused: shown.paused,
      filtered: shown.filtered,
      heap: m.JSHeapUsedSize / 2 ** 20,
      renderer: pssOfMiB(chromiumPids().renderer),
      serverRss: rssMiB(server.pid),
    };
  });
  const { samples } = sampler;
  // Inputs from the third second on, one every second: a key in the search box (a filter
  // that matches every tick) and its removal, or Pause and Resume; each undone before
  // the next sample, so the lag is measured on the plain live view.
  for (let k = 2; k < SECS - 1; k++) {
    const due = t0 + k * 1000 + 400;
    if (Date.now() < due) await sleep(due - Date.now());
    if (k % 2 === 0) {
      await tab.clickOn(paneIndex, 'input[aria-label="Search frames"]');
      await tab.press('n');
      await sleep(200);
      await tab.press('Backspace');
    } else {
      await tab.clickOn(paneIndex, 'button[aria-label="Pause"]');
      await sleep(200);
      await tab.clickOn(paneIndex, 'button[aria-label="Resume"]');
    }
  }
  await sleep(Math.max(0, t0 + SECS * 1000 - Date.now()));
  await sampler.stop();
  const rec = await tab.eval(() => window.__bench.stop());
  if (process.env.TRACE) writeFileSync(`${process.env.TRACE}-${proto}-${rate}.json`, await browser.stopTracing());
  if (process.env.PROFILE) {
    const { profile } = await tab.send('Profiler.stop');
    writeFileSync(`${process.env.PROFILE}-${proto}-${rate}.cpuprofile`, JSON.stringify(profile));
  }
  const m1 = await tab.metrics();
  const cpu1 = cpuNow();
  const wall = (Date.now() - t0) / 1000;
  const settled = await settle(tab, paneIndex, conn);
  const final = await tab.eval((k) => window.__bench.shown(k), paneIndex);
  const view = await api(`/api/connections/${conn}`);
  const errors = await tab.eval(() => window.__bench.errors);
  await tab.close();
  await api(`/api/connections/${conn}`, { method: 'DELETE' }).catch(() => {});
  // The lag of the plain live view: not while paused or filtered.
  const steady = samples.filter((s) => s.s >= 2 && !s.paused && !s.filtered);
  const lagRows = steady.map((s) => s.server - s.shown);
  const inputs = rec.inputs.map((x) => x.ms);
  const gaps = rec.batches.slice(1).map((b, k) => b.at - rec.batches[k].at);
  const sizes = rec.batches.map((b) => b.n);
  const first = samples.find((s) => s.s >= 2);
  const last = samples.at(-1);
  const cpu = {};
  for (const k of Object.keys(cpu1)) cpu[k] = (cpu1[k] - cpu0[k]) / wall;
  return {
    case: `${proto} @ ${rate.toLocaleString('en-US')}/s${nochart ? ', charts folded' : ''}`,
    proto,
    rate,
    nochart,
    secs: wall,
    recorded: view.last_seq,
    recordedPerSec: first && last && last.s > first.s ? (last.server - first.server) / (last.s - first.s) : NaN,
    frame: frameStats(rec),
    mainBusy: (m1.TaskDuration - m0.TaskDuration) / wall,
    cpu,
    input: {
      n: inputs.length,
      p50: pct(inputs, 50),
      p95: pct(inputs, 95),
      max: max(inputs),
      slowEvents: rec.events.length,
      slowestEvent: rec.events.length ? max(rec.events.map((e) => e.dur)) : 0,
    },
    batches: {
      perSec: rec.batches.length / (rec.wall / 1000),
      gapP50: pct(gaps, 50),
      gapP99: pct(gaps, 99),
      gapMax: max(gaps),
      sizeP50: pct(sizes, 50),
      sizeMax: max(sizes),
    },
    lag: lagStats(lagRows, steady.map((s) => s.age)),
    memory: {
      heapAt10: samples.find((s) => s.s >= 10)?.heap,
      heapLast: last?.heap,
      heapMax: max(samples.map((s) => s.heap)),
      rendererAt10: samples.find((s) => s.s >= 10)?.renderer,
      rendererLast: last?.renderer,
      rendererMax: max(samples.map((s) => s.renderer)),
      serverRssLast: last?.serverRss,
    },
    integrity: {
      serverLastSeq: settled.server,
      uiLastSeq: final.held,
      uiReceived: final.received,
      gaps: final.gaps,
      catchUpMs: settled.catchUpMs,
      ok: final.gaps === 0 && final.received === settled.server && final.held === settled.server,
    },
    errors,
    samples,
  };
}

// --- the scroll run ---------------------------------------------------------------------------

async function scroll() {
  const paneIndex = 0;
  const url = `ws://${host}/demo/ws/ticker?rate=1000000&count=${SCROLL_ROWS}`;
  log(`scroll: recording ${SCROLL_ROWS.toLocaleString('en-US')} ticks from ${url}`);
  const tab = await Tab.open(uiUrl);
  const t0 = Date.now();
  const conn = await connectPane(tab, paneIndex, url);
  const settled = await settle(tab, paneIndex, conn, { disconnect: false, timeout: 300_000 });
  const recordSecs = (Date.now() - t0) / 1000;
  const total = settled.server;
  log(`scroll: ${total} records in ${recordSecs.toFixed(1)} s; scrolling`);
  const phases = {};
  const heap = [];
  const vp = () => tab.eval((i) => window.__bench.at(i, '.viewport'), paneIndex);
  // Focus without a click: a click selects a row, and the detail it opens shortens the list.
  await tab.eval((i) => window.__bench.focus(i, '.viewport'), paneIndex);
  const box = await vp();
  const rowsVisible = Math.floor(box.height / 22);

  async function measure(name, fn) {
    await tab.eval((k) => window.__bench.start(k), paneIndex);
    await fn();
    phases[name] = frameStats(await tab.eval(() => window.__bench.stop()));
    heap.push((await tab.metrics()).JSHeapUsedSize / 2 ** 20);
  }
  /** `n` wheel notches of `dy` pixels, one per 16 ms, over the list. */
  async function wheel(n, dy) {
    const b = await vp();
    await tab.mouse('mouseMoved', b.x, b.y, { button: 'none' });
    for (let k = 0; k < n; k++) {
      const due = Date.now() + 16;
      await tab.wheel(b.x, b.y, dy);
      const left = due - Date.now();
      if (left > 0) await sleep(left);
    }
  }
  const thumbAndTrack = () =>
    tab.eval((i) => ({ thumb: window.__bench.at(i, '.thumb'), track: window.__bench.at(i, '.track') }), paneIndex);
  /** Drags the thumb so its top lands at `frac` of the track (0 = top, 1 = bottom), in
   * `steps` moves `every` ms apart. */
  async function dragTo(frac, steps = 1, every = 0) {
    const { thumb, track } = await thumbAndTrack();
    const span = track.height - thumb.height;
    const from = thumb.y;
    // To an end, a hand goes past it; a drag that lands a fraction of a pixel short of the
    // bottom would leave the list one row short of following.
    const past = frac >= 1 ? 40 : frac <= 0 ? -40 : 0;
    const to = thumb.y + (track.top + frac * span - thumb.top) + past;
    await tab.mouse('mouseMoved', thumb.x, from, { button: 'none' });
    await tab.mouse('mousePressed', thumb.x, from, { clickCount: 1, buttons: 1 });
    for (let k = 1; k <= steps; k++) {
      const due = Date.now() + every;
      await tab.mouse('mouseMoved', thumb.x, from + ((to - from) * k) / steps, { buttons: 1 });
      const left = due - Date.now();
      if (left > 0) await sleep(left);
    }
    await tab.mouse('mouseReleased', thumb.x, to, { clickCount: 1 });
  }
  /** Runs `act` and times, in the page, from its last input event (the key, or the
   * thumb's last move) to the first frame that shows loaded rows starting within `near`
   * rows of `want`. */
  async function jump(to, act, want, near) {
    await act();
    const r = await tab.eval((k, w, n) => window.__bench.rowsShown(k, w, n), paneIndex, want, near);
    jumps.push({ to, ...r });
  }
  const jumps = [];

  await measure('wheel, rows in memory (the newest 20,000)', () => wheel(240, -120));
  await tab.eval((i) => window.__bench.focus(i, '.viewport'), paneIndex);
  await jump('top (Home)', () => tab.press('Home'), 1, 0);
  // Home selects the first row; Escape closes its detail again.
  await tab.press('Escape');
  await jump('middle (thumb drag)', () => dragTo(0.5), total / 2, total / 100);
  await measure('wheel, rows paged from the server', () => wheel(240, 120));
  await tab.eval((i) => window.__bench.focus(i, '.viewport'), paneIndex);
  await jump('bottom (End)', () => tab.press('End'), total - rowsVisible + 1, rowsVisible);
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < JUMPS; k++) {
    const frac = 0.02 + 0.9 * rnd();
    await jump(`random ${(frac * 100).toFixed(0)} %`, () => dragTo(frac), frac * total, total / 50);
  }
  await dragTo(0);
  await sleep(500);
  let dragEnd;
  let dragSecs;
  await measure('drag the thumb from top to bottom (360 moves, 16 ms apart)', async () => {
    // Released at the bottom, the list follows the newest row again.
    const t = Date.now();
    await dragTo(1, 360, 16);
    dragSecs = (Date.now() - t) / 1000;
    dragEnd = await tab.eval(
      (k, w, n) => window.__bench.rowsShown(k, w, n),
      paneIndex,
      total - rowsVisible + 1,
      rowsVisible,
    );
  });
  await measure('wheel back up from the bottom', () => wheel(120, -120));
  const errors = await tab.eval(() => window.__bench.errors);
  const heapLast = (await tab.metrics()).JSHeapUsedSize / 2 ** 20;
  await tab.close();
  await api(`/api/connections/${conn}`, { method: 'DELETE' }).catch(() => {});
  return {
    total,
    recordSecs,
    catchUpMs: settled.catchUpMs,
    integrity: {
      gaps: settled.ui.gaps,
      received: settled.ui.received,
      ok: settled.ui.gaps === 0 && settled.ui.received === total,
    },
    rowsVisible,
    phases,
    jumps,
    dragEndMs: dragEnd?.ms,
    dragEnd,
    dragSecs,
    heapMax: max(heap),
    heapLast,
    errors,
  };
}

// --- run, print ---------------------------------------------------------------------------------

const started = new Date();
const loadBefore = uptime();
log(`ui-firehose: ${bin}, Chromium ${browser.version()} at ${chromiumPath}, ${origin}`);
log(`load: ${loadBefore}`);
const results = { date: started.toISOString(), bin, chromium: browser.version(), loadBefore, cases: [], scroll: null };
try {
  for (const c of CASES) {
    results.cases.push(await firehose(c));
    log(`  load: ${loadavg()}`);
  }
  if (SCROLL_ROWS > 0) results.scroll = await scroll();
} catch (e) {
  results.failure = String(e?.stack ?? e);
  log(`ui-firehose: ${results.failure}`);
} finally {
  results.loadAfter = uptime();
  await browser.close().catch(() => {});
  stopServer();
}

const lines = [];
const p = (s = '') => lines.push(s);
const loadOf = (u) => u.replace(/.*load average:\s*/, '');
p(`UI firehose benchmark, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
p(
  `server ${bin}; Chromium ${results.chromium}; load average before: ${loadOf(loadBefore)}; after: ${loadOf(results.loadAfter)}`,
);
p();
p(
  '| case | recorded/s | fps | frame p50 / p95 / p99 / max ms | frames > 50 ms | long tasks (total ms, max) | input → next frame p50 / max ms (n) | lag behind the server p50 / max (rows) | age of newest row shown p50 / p95 ms | JS heap at 10 s → end (max) MiB | renderer PSS at 10 s → end MiB | records server / UI, gaps |',
);
p('| --- | ---: | ---: | --- | ---: | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results.cases) {
  const fr = r.frame;
  p(
    `| ${r.case} | ${f0(r.recordedPerSec)} | ${f1(fr.fps)} | ${f1(fr.p50)} / ${f1(fr.p95)} / ${f1(fr.p99)} / ${f1(fr.max)} | ${pc(fr.over50Share)} | ${fr.longTasks} (${f0(fr.longTaskMs)}, ${f0(fr.longMax)}) | ${f1(r.input.p50)} / ${f1(r.input.max)} (${r.input.n}) | ${f0(r.lag.rowsP50)} / ${f0(r.lag.rowsMax)} | ${f0(r.lag.msP50)} / ${f0(r.lag.msP95)} | ${f1(r.memory.heapAt10)} → ${f1(r.memory.heapLast)} (${f1(r.memory.heapMax)}) | ${f1(r.memory.rendererAt10)} → ${f1(r.memory.rendererLast)} | ${f0(r.integrity.serverLastSeq)} / ${f0(r.integrity.uiReceived)}, ${r.integrity.gaps}${r.integrity.ok ? '' : ' **LOST**'} |`,
  );
}
p();
p('CPU, in cores busy over the run:');
p();
p(
  '| case | renderer main thread | live worker | renderer, other threads | GPU process | browser + network | sscope serve | main thread busy (CDP TaskDuration) | UI caught up after disconnect |',
);
p('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results.cases)
  p(
    `| ${r.case} | ${f1(100 * r.cpu.main)} % | ${f1(100 * r.cpu.worker)} % | ${f1(100 * r.cpu.other)} % | ${f1(100 * r.cpu.gpu)} % | ${f1(100 * r.cpu.browser)} % | ${f1(100 * r.cpu.server)} % | ${pc(r.mainBusy)} | ${f0(r.integrity.catchUpMs)} ms |`,
  );
p();
p('Live batches as the page received them:');
p();
p('| case | batches/s | gap between batches p50 / p99 / max ms | records per batch p50 / max |');
p('| --- | ---: | --- | --- |');
for (const r of results.cases)
  p(
    `| ${r.case} | ${f1(r.batches.perSec)} | ${f0(r.batches.gapP50)} / ${f0(r.batches.gapP99)} / ${f0(r.batches.gapMax)} | ${f0(r.batches.sizeP50)} / ${f0(r.batches.sizeMax)} |`,
  );
if (results.scroll) {
  const s = results.scroll;
  p();
  p(
    `Scroll: ${f0(s.total)} records recorded in ${f1(s.recordSecs)} s, ${s.rowsVisible} rows in view; the UI received all ${s.integrity.ok ? 'without a gap' : '**with gaps or short**'}; JS heap at most ${f1(s.heapMax)} MiB while scrolling, ${f1(s.heapLast)} MiB at the end.`,
  );
  p();
  p(
    '| scrolling | fps | frame p50 / p95 / p99 / max ms | frames > 50 ms | long tasks (max ms) | frames with "loading…" rows |',
  );
  p('| --- | ---: | --- | ---: | --- | ---: |');
  for (const [name, fr] of Object.entries(s.phases))
    p(
      `| ${name} | ${f1(fr.fps)} | ${f1(fr.p50)} / ${f1(fr.p95)} / ${f1(fr.p99)} / ${f1(fr.max)} | ${pc(fr.over50Share)} | ${fr.longTasks} (${f0(fr.longMax)}) | ${fr.loadingFrames} of ${fr.frames} |`,
    );
  p();
  p('| jump | rows shown after (ms) |');
  p('| --- | ---: |');
  const random = s.jumps.filter((j) => j.to.startsWith('random'));
  for (const j of s.jumps) if (!j.to.startsWith('random')) p(`| ${j.to} | ${f0(j.ms)} |`);
  const rms = random.map((j) => j.ms);
  p(
    `| ${random.length} random places (thumb drag): p50 / p90 / max | ${f0(pct(rms, 50))} / ${f0(pct(rms, 90))} / ${f0(max(rms))} |`,
  );
  p(`| the newest rows after the drag through (${f1(s.dragSecs)} s), from its last move | ${f0(s.dragEndMs)} |`);
}
if (results.failure) {
  p();
  p(`**the run failed:** ${results.failure.split('\n')[0]}`);
}
const errs = [...results.cases.flatMap((c) => c.errors), ...(results.scroll?.errors ?? [])];
if (errs.length) {
  p();
  p(`page errors: ${errs.join('; ')}`);
}
console.log(lines.join('\n'));
if (process.env.SERVER_LOG) writeFileSync(process.env.SERVER_LOG, serverOutput());
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(results, null, 2));
log(`figures: ${OUT}`);
process.exit(results.failure ? 1 : 0);
