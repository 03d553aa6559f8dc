#!/usr/bin/env node
// The firehose in the desktop app's own web view (WebKitGTK), measured as
// bench/ui-firehose.mjs measures it in Chromium: the built `streamscope` under Xvfb,
// driven through tauri-driver and WebKitWebDriver as tests/desktop/smoke.mjs drives it,
// one pane connected to the embedded demo ticker at RATE messages a second for SECS
// seconds. It prints the figures (BENCHMARKS.md keeps them) and asserts no time.
//
//   xvfb-run -a -s "-screen 0 1600x1000x24" node bench/desktop-firehose.mjs [path/to/streamscope]
//
// Knobs (environment): PROTO (ws or sse, default ws), RATE (default 100000), SECS (30),
// NOCHART=1 (the rate charts folded away, to tell their cost from the frame list's),
// OUT (the figures as JSON, default bench/results/desktop-firehose-<stamp>.json).
//
// The page records what bench/probe.mjs records in Chromium: every animation frame's
// interval, and the time from an input (a key typed into the pane's search box and
// Backspace, clicks on Pause and Resume, sent by WebDriver as a user's input) to the next
// frame; once a second the newest row shown against the server's last seq. What WebKit
// does not have is reported as missing, not guessed: long tasks and Event Timing
// (PerformanceObserver types Chromium has) and the JS heap (`performance.memory`); the
// web process's memory (PSS from /proc) stands in for the heap. CPU comes from
// /proc/PID/stat of the shell, the web process (its main thread and its workers apart)
// and the network process. Records lost: after the run the pane is disconnected and the
// store must have been handed every seq once, without a gap, up to the server's last.
// The probe is installed once the page has loaded (WebDriver cannot run a script before
// the UI's own), before the pane connects.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Driver, freePort, portOpen, spawnTauriDriver } from '../tests/desktop/webdriver.mjs';
import { processTable, pssMiB, readStat, threadIds } from './proc.mjs';
import { everySecond, frameStats, instrument, lagStats, max, pct } from './probe.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = process.env.CARGO_TARGET_DIR ?? '/var/tmp/streamscope-target';
const app = resolve(process.argv[2] ?? join(target, 'debug', 'streamscope'));
const nativeDriver = process.env.WEBKIT_WEBDRIVER ?? '/usr/bin/WebKitWebDriver';
const tauriDriver = process.env.TAURI_DRIVER ?? join(os.homedir(), '.cargo', 'bin', 'tauri-driver');
const PROTO = process.env.PROTO ?? 'ws';
const RATE = Number(process.env.RATE ?? 100_000);
const SECS = Number(process.env.SECS ?? 30);
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
const OUT = process.env.OUT ?? join(repo, 'bench', 'results', `desktop-firehose-${stamp}.json`);
const PANE = PROTO === 'sse' ? 1 : 0;

const log = (...a) => console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function fatal(msg) {
  log(`desktop-firehose: ${msg}`);
  process.exit(1);
}
if (!process.env.DISPLAY) fatal('no display: run it under xvfb-run -a');
if (PROTO !== 'ws' && PROTO !== 'sse') fatal(`PROTO is ws or sse, not ${PROTO}`);

// --- processes ---------------------------------------------------------------------------

function descendants(root) {
  const t = processTable();
  const out = [];
  const walk = (p) => {
    for (const [pid, e] of t)
      if (e.ppid === p) {
        out.push({ pid, exe: e.cmdline[0] });
        walk(pid);
      }
  };
  walk(root);
  return out;
}
/** CPU seconds of the shell, the network process, and the web process's main thread,
 * its workers ("WebCore: Worker") and the rest of its threads. */
function cpu(procs) {
  const out = { shell: 0, network: 0, webMain: 0, webWorkers: 0, webOther: 0, threads: {} };
  for (const [role, pid] of Object.entries(procs)) {
    if (!pid) continue;
    if (role !== 'web') {
      out[role] += readStat(`/proc/${pid}/stat`)?.cpu ?? 0;
      continue;
    }
    for (const tid of threadIds(pid)) {
      const { comm, cpu: s } = readStat(`/proc/${pid}/task/${tid}/stat`) ?? { comm: '', cpu: 0 };
      // By name (WebKit's and Mesa's threads are named for their job: llvmpipe-0, …).
      out.threads[comm] = (out.threads[comm] ?? 0) + s;
      if (Number(tid) === pid) out.webMain += s;
      else if (/Worker/.test(comm) && !/JIT|GC/.test(comm)) out.webWorkers += s;
      else out.webOther += s;
    }
  }
  return out;
}
// --- WebDriver ------------------------------------------------------------------------------

/** The WebDriver endpoint once tauri-driver listens, and the app's session on it. */
let wd = null;
let session = '';
const req = (method, path, body, timeoutMs = 60_000) => wd.req(method, path, body, timeoutMs);
const exec = (script, args = []) => req('POST', `${session}/execute/sync`, { script, args });
/** Runs `fn(...args)` in the page, awaiting what it returns. */
const evalIn = (fn, ...args) =>
  req('POST', `${session}/execute/async`, {
    script: `const done = arguments[arguments.length - 1];
      Promise.resolve((${fn})(...arguments[0])).then(done, (e) => done({ error: String(e) }));`,
    args: [args],
  });
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
/** The element `css` finds in the `pane`th pane. */
async function element(pane, css) {
  const panes = await req('POST', `${session}/elements`, {
    using: 'css selector',
    value: 'section.pane',
  });
  const v = await req('POST', `${session}/element/${panes[pane][ELEMENT]}/element`, {
    using: 'css selector',
    value: css,
  });
  return v[ELEMENT];
}
const click = async (pane, css) => req('POST', `${session}/element/${await element(pane, css)}/click`, {});
const type = async (pane, css, text) => req('POST', `${session}/element/${await element(pane, css)}/value`, { text });

async function until(what, fn, ms, every = 100) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`waited ${ms} ms for ${what}`);
    await sleep(every);
  }
}

// --- the run --------------------------------------------------------------------------------

const home = mkdtempSync(join(os.tmpdir(), 'streamscope-firehose-'));
const port = await freePort();
const driver = await spawnTauriDriver({ tauriDriver, nativeDriver, port, home, stdout: 'ignore' });
/** Ends everything below tauri-driver (WebKitWebDriver, the app, WebKit's processes) by
 * pid, then the driver itself. */
function stopAll() {
  for (const { pid } of descendants(driver.pid).reverse()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    process.kill(driver.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(home, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

let result;
try {
  wd = new Driver(port);
  await until('tauri-driver', () => portOpen(port), 5000, 50);
  await wd.newSession(app);
  session = wd.session;
  await until(
    'the UI with its live link',
    () =>
      exec(
        `return !!document.querySelector('section.pane') && /Live/.test(document.querySelector('.live')?.textContent ?? '');`,
      ),
    30_000,
  );
  const size = await exec('return [innerWidth, innerHeight];');
  const { origin, token } = await exec('return { origin: location.origin, token: window.sscope.session.token };');
  const api = async (path, init = {}) => {
    const r = await fetch(origin + path, {
      ...init,
      headers: { authorization: `Bearer ${token}` },
    });
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return r.status === 204 || r.status === 202 ? null : r.json();
  };
  const appPid = descendants(driver.pid).find((p) => p.exe === app)?.pid;
  const kids = appPid ? descendants(appPid) : [];
  const procs = {
    shell: appPid,
    web: kids.find((p) => /WebKitWebProcess$/.test(p.exe))?.pid,
    network: kids.find((p) => /WebKitNetworkProcess$/.test(p.exe))?.pid,
  };
  log(`app ${app}, window ${size.join('×')}, processes ${JSON.stringify(procs)}`);
  await exec(`(${instrument})();`);
  // Frames so far, read with each sample: shows when the web view stops drawing.
  await exec(
    'window.__rafs = 0; const f = () => { window.__rafs++; requestAnimationFrame(f); }; requestAnimationFrame(f);',
  );
  const support = await exec(`return {
    longtask: (PerformanceObserver.supportedEntryTypes || []).includes('longtask'),
    eventTiming: (PerformanceObserver.supportedEntryTypes || []).includes('event'),
    memory: !!performance.memory,
  };`);
  if (process.env.NOCHART) await exec('window.sscope.chart.setOpen(false);');
  await sleep(1000);

  const url =
    PROTO === 'ws'
      ? `${origin.replace('http', 'ws')}/demo/ws/ticker?rate=${RATE}`
      : `${origin}/demo/sse/ticker?rate=${RATE}`;
  log(
    `firehose: ${url} for ${SECS} s; load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const loadStart = os.loadavg();
  const cpu0 = cpu(procs);
  await exec('window.__bench.start();');
  await exec('const p = window.sscope.panes[arguments[0]]; p.config.url = arguments[1]; window.sscope.connect(p);', [
    PANE,
    url,
  ]);
  const conn = await until(
    'the connection id',
    () => exec('return window.sscope.panes[arguments[0]].connId;', [PANE]),
    10_000,
    50,
  );
  const t0 = Date.now();
  const sampler = everySecond(t0, async () => {
    const shown = await evalIn(async (i) => ({ ...(await window.__bench.shown(i, true)), rafs: window.__rafs }), PANE);
    return {
      s: (Date.now() - t0) / 1000,
      ...shown,
      web: pssMiB(procs.web),
      shellPss: pssMiB(procs.shell),
    };
  });
  const { samples } = sampler;
  let inputErrors = 0;
  for (let k = 2; k < SECS - 1; k++) {
    const due = t0 + k * 1000 + 400;
    if (Date.now() < due) await sleep(due - Date.now());
    try {
      if (k % 2 === 0) {
        await type(PANE, 'input[aria-label="Search frames"]', 'n');
        await sleep(200);
        await type(PANE, 'input[aria-label="Search frames"]', '\uE003'); // Backspace
      } else {
        await click(PANE, 'button[aria-label="Pause"]');
        await sleep(200);
        await click(PANE, 'button[aria-label="Resume"]');
      }
    } catch (e) {
      inputErrors++;
      log(`  input ${k}: ${e.message.split('\n')[0]}`);
    }
  }
  await sleep(Math.max(0, t0 + SECS * 1000 - Date.now()));
  await sampler.stop();
  const rec = await exec('return window.__bench.stop();');
  const cpu1 = cpu(procs);
  const wall = (Date.now() - t0) / 1000;
  const loadEnd = os.loadavg();

  await exec('window.sscope.disconnect(window.sscope.panes[arguments[0]]);', [PANE]);
  await until(
    'the connection to end',
    async () => ['closed', 'failed'].includes((await api(`/api/connections/${conn}`)).state),
    60_000,
  );
  const serverLast = (await api(`/api/connections/${conn}`)).last_seq;
  const tc = Date.now();
  const final = await until(
    'the UI to hold every record',
    async () => {
      const s = await evalIn((i) => window.__bench.shown(i), PANE);
      return s.held >= serverLast && s;
    },
    120_000,
  );
  const catchUpMs = Date.now() - tc;

  const steady = samples.filter((s) => s.s >= 2 && !s.paused && !s.filtered);
  const inputs = rec.inputs.map((x) => x.ms);
  const used = {};
  for (const k of Object.keys(cpu1)) if (k !== 'threads') used[k] = (cpu1[k] - cpu0[k]) / wall;
  used.webThreads = Object.entries(cpu1.threads)
    .map(([name, s]) => [name, (s - (cpu0.threads[name] ?? 0)) / wall])
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6);
  const first = samples.find((s) => s.s >= 2);
  const last = samples.at(-1);
  result = {
    case: `${PROTO} @ ${RATE.toLocaleString('en-US')}/s in the desktop app (WebKitGTK)${process.env.NOCHART ? ', charts folded' : ''}`,
    app,
    window: size,
    secs: wall,
    load: { start: loadStart, end: loadEnd },
    supported: support,
    recorded: serverLast,
    recordedPerSec: first && last && last.s > first.s ? (last.serverSeq - first.serverSeq) / (last.s - first.s) : NaN,
    frame: frameStats(rec),
    cpu: used,
    input: {
      n: inputs.length,
      sent: 2 * (SECS - 3),
      errors: inputErrors,
      p50: pct(inputs, 50),
      p95: pct(inputs, 95),
      max: max(inputs),
    },
    lag: lagStats(steady.map((s) => s.serverSeq - s.seq), steady.map((s) => s.age)),
    memory: {
      webPssAt10: samples.find((s) => s.s >= 10)?.web,
      webPssLast: last?.web,
      webPssMax: max(samples.map((s) => s.web)),
      shellPssLast: last?.shellPss,
    },
    integrity: {
      serverLastSeq: serverLast,
      uiLastSeq: final.held,
      uiReceived: final.received,
      gaps: final.gaps,
      catchUpMs,
      ok: final.gaps === 0 && final.received === serverLast && final.held === serverLast,
    },
    errors: await exec('return window.__bench.errors;'),
    samples,
  };
} catch (e) {
  log(`desktop-firehose: ${e.message}`);
  process.exitCode = 1;
} finally {
  await req('DELETE', session || '/session/none', undefined, 5000).catch(() => {});
  stopAll();
}

if (result) {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2));
  const r = result;
  const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
  const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
  const no = (ok, s) => (ok ? s : 'not available in WebKit');
  console.log(
    `${r.case}, ${r.secs.toFixed(1)} s, window ${r.window.join('×')}, load ${r.load.start.map((x) => x.toFixed(2)).join(' ')} → ${r.load.end.map((x) => x.toFixed(2)).join(' ')}`,
  );
  console.log(`  recorded ${f0(r.recorded)} (${f0(r.recordedPerSec)}/s)`);
  console.log(
    `  frames: ${f1(r.frame.fps)} fps; interval p50 ${f1(r.frame.p50)} ms, p95 ${f1(r.frame.p95)}, p99 ${f1(r.frame.p99)}, max ${f1(r.frame.max)}; over 50 ms ${(100 * r.frame.over50Share).toFixed(1)} %`,
  );
  console.log(`  long tasks: ${no(r.supported.longtask, `${r.frame.longTasks}, ${f0(r.frame.longTaskMs)} ms`)}`);
  console.log(
    `  input to next frame: ${r.input.n} of ${r.input.sent} inputs seen, p50 ${f1(r.input.p50)} ms, p95 ${f1(r.input.p95)}, max ${f1(r.input.max)}${r.input.errors ? `; ${r.input.errors} failed` : ''}`,
  );
  console.log(
    `  list lag: p50 ${f0(r.lag.rowsP50)} rows, max ${f0(r.lag.rowsMax)}; newest row's age p50 ${f0(r.lag.msP50)} ms, p95 ${f0(r.lag.msP95)}, max ${f0(r.lag.msMax)}`,
  );
  console.log(
    `  cores: shell ${r.cpu.shell.toFixed(2)}, web process main ${r.cpu.webMain.toFixed(2)} + workers ${r.cpu.webWorkers.toFixed(2)} + other threads ${r.cpu.webOther.toFixed(2)}, network ${r.cpu.network.toFixed(2)}`,
  );
  console.log(`  busiest web process threads: ${r.cpu.webThreads.map(([n, c]) => `${n} ${c.toFixed(2)}`).join(', ')}`);
  console.log(
    `  memory: JS heap ${no(r.supported.memory, '')}; web process PSS at 10 s ${f0(r.memory.webPssAt10)} MiB, last ${f0(r.memory.webPssLast)} MiB, max ${f0(r.memory.webPssMax)} MiB; shell PSS ${f0(r.memory.shellPssLast)} MiB`,
  );
  console.log(
    `  records: server ${f0(r.integrity.serverLastSeq)}, UI received ${f0(r.integrity.uiReceived)}, gaps ${r.integrity.gaps} → ${r.integrity.ok ? 'none lost' : 'LOST OR DUPLICATED'}; caught up ${f0(r.integrity.catchUpMs)} ms after the close`,
  );
  if (r.errors.length) console.log(`  page errors: ${r.errors.join('; ')}`);
  console.log(`  figures: ${OUT}`);
}
