#!/usr/bin/env node
// Server CPU while streaming to UI tabs: how many cores `sscope serve` uses while it records
// busy connections and streams them over `/api/live` to browser tabs, against the same
// connections with no tab open (so the UI's share shows).
//
//   node bench/live-cpu.mjs --sscope /var/tmp/sscope-before-target/release/sscope
//
// Options (all optional but --sscope; `--name value` or `--name=value`):
//   --sscope PATH     the sscope binary (release build); env SSCOPE_BIN works too
//   --runs N          measured runs, each "no tab" then "with tabs" (default 3)
//   --tabs N          UI tabs in the "with tabs" case (default 2)
//   --conns N         WebSocket connections (default 10)
//   --rate N          messages/s per connection from the demo ticker (default 1000)
//   --settle S        seconds between everything running and the measurement (default 5)
//   --secs S          seconds measured (default 30)
//   --watch 1|0       1 (default): each tab shows the connections in a pane, so its live
//                     socket watches them; 0: the tabs' panes are empty (a UI that does not
//                     name what it watches then gets every record, one that does gets none)
//   --chromium PATH   default /usr/bin/chromium (never downloads a browser)
//   --json PATH       also write every figure as JSON
//
// What one measurement does: starts a fresh `sscope serve --port 0` (it listens on
// 127.0.0.1 only; ui/e2e/serve.mjs reads the UI's token URL from its output), opens
// --conns WebSocket connections through the API (`POST /api/connections`) to the server's
// own demo ticker, `ws://127.0.0.1:PORT/demo/ws/ticker?rate=RATE`, waits until all are
// open, opens --tabs tabs of the UI (each in its own browser context, as separate browser
// windows would be) and waits until each shows its live link, then waits --settle s and
// reads, --secs s apart:
//   - the server's utime + stime (/proc/PID/stat) and each thread's (/proc/PID/task/*/stat,
//     grouped by thread name): CPU s / wall s = cores used;
//   - our Chromium's processes (descendants of this node process) the same way;
//   - /proc/stat for the whole machine, so what *other* processes used in the window shows
//     (other builds on the machine make the figures noisy: read that column first);
//   - the records the server recorded (sum of the connections' last_seq), to check the
//     ticker really ran at conns × rate;
//   - the bytes the server sent to each tab's live socket (`ss -ti`, the Chromium side's
//     bytes_received on sockets to the server's port), to check every tab was streamed to.
// Then it closes the tabs and stops the server. With --watch 1 each tab starts from a saved
// workspace (localStorage, as a reopened window would) whose one pane holds every
// connection: the UI re-attaches them, its live socket streams all of them, the pane shows
// the newest one and the top bar polls no chart. With --watch 0 the panes are empty.
//
// Every process it starts (the server, Chromium) is stopped by its pid when it ends, on
// error and on Ctrl-C too; a watchdog ends the whole run if it takes far longer than it
// should. playwright-core comes from ui/node_modules (`cd ui && npm ci`); the UI must be
// built (`make ui`), or the server says so and this stops.
//
// Why the tabs are not Playwright pages: Playwright enables DevTools' network domain on
// the pages it manages, which copies every live WebSocket frame to the driver (see
// bench/ui-firehose.mjs); here each tab is a browser context Playwright does not know,
// driven over a plain CDP session.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { startServe } from '../ui/e2e/serve.mjs';
import { CdpTab, uiReady, until } from './cdp.mjs';
import { HZ, processTable, readStat, rssMiB, threadIds } from './proc.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(repo, 'ui', 'package.json'));

// --- options ---------------------------------------------------------------------------------

const opts = {
  sscope: process.env.SSCOPE_BIN ?? '',
  runs: 3,
  tabs: 2,
  conns: 10,
  rate: 1000,
  settle: 5,
  secs: 30,
  chromium: '/usr/bin/chromium',
  json: '',
  watch: 1,
};
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    let [k, v] = argv[i].split(/=(.*)/s);
    if (!k.startsWith('--') || !(k.slice(2) in opts)) fatal(`unknown option ${argv[i]} (see the header)`);
    k = k.slice(2);
    if (v === undefined) v = argv[++i];
    if (v === undefined) fatal(`--${k} wants a value`);
    opts[k] = typeof opts[k] === 'number' ? Number(v) : v;
    if (typeof opts[k] === 'number' && !(opts[k] >= 0)) fatal(`--${k} wants a number, not ${v}`);
  }
}
if (!opts.sscope) fatal('give the server: --sscope PATH (e.g. /var/tmp/sscope-before-target/release/sscope)');
if (!existsSync(opts.sscope)) fatal(`no sscope at ${opts.sscope}`);
if (!existsSync(opts.chromium)) fatal(`no Chromium at ${opts.chromium}`);
if (opts.runs < 1 || opts.conns < 1 || opts.rate < 1 || opts.secs < 1) fatal('runs, conns, rate and secs must be ≥ 1');

function fatal(msg) {
  console.error(`live-cpu: ${msg}`);
  process.exit(1);
}
const log = (...a) => console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- what this process started, and how it is all stopped --------------------------------------

let browser = null;
let browserPid = null;
/** Every Chromium process seen while the browser ran, pid → start time: when the browser
 * goes, its helpers are re-parented away from us, so they are remembered to be stopped. */
const chromiumSeen = new Map();
let server = null; // { server, stop, ... } from startServe

function killPid(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
function stopAll() {
  if (server) server.stop();
  if (browserPid) {
    // The browser, then any of its processes left behind, each by its pid (and only while
    // that pid is still the process we saw: same start time).
    chromiumPids();
    killPid(browserPid);
    for (const [pid, start] of chromiumSeen) if (readStat(`/proc/${pid}/stat`)?.start === start) killPid(pid);
    browserPid = null;
  }
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
// Bounded: setup (~15 s a measurement at most) plus the settle and measured time, twice per
// run, with a generous margin; past it everything is stopped.
const budgetSecs = 120 + opts.runs * 2 * (opts.settle + opts.secs + 60);
setTimeout(() => {
  console.error(`live-cpu: gave up after ${budgetSecs} s`);
  process.exit(2);
}, budgetSecs * 1000).unref();

// --- /proc ------------------------------------------------------------------------------------------

/** The process's CPU seconds and each live thread's, by tid. */
function processCpu(pid) {
  const total = readStat(`/proc/${pid}/stat`)?.cpu ?? NaN;
  const threads = new Map();
  for (const tid of threadIds(pid)) {
    const s = readStat(`/proc/${pid}/task/${tid}/stat`);
    if (s) threads.set(tid, s);
  }
  return { total, threads };
}
/** Our descendants that are Chromium's processes (not the server). */
function chromiumPids() {
  const table = processTable();
  const mine = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, { ppid }] of table)
      if (!mine.has(pid) && mine.has(ppid)) {
        mine.add(pid);
        grew = true;
      }
  }
  mine.delete(process.pid);
  if (server) mine.delete(server.server.pid);
  const pids = [...mine].filter((pid) => /chrom/i.test(table.get(pid)?.comm ?? ''));
  for (const pid of pids) {
    const start = readStat(`/proc/${pid}/stat`)?.start;
    if (start) chromiumSeen.set(pid, start);
  }
  return pids;
}
function cpuOfPids(pids) {
  let s = 0;
  for (const pid of pids) s += readStat(`/proc/${pid}/stat`)?.cpu ?? 0;
  return s;
}
/** Machine-wide busy and total CPU seconds, from /proc/stat. */
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / HZ, total: (busy + idle + iowait) / HZ };
}
const uptime = () => spawnSync('uptime', { encoding: 'utf8' }).stdout.trim().replace(/.*load average:\s*/, '');

/** Bytes each Chromium socket to the server's port has received (`ss -tinp`). */
function tabSocketBytes(port) {
  const r = spawnSync('ss', ['-tinpH', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  const out = new Map();
  if (r.status !== 0) return out;
  // One socket: a line with the addresses and users:((…)), then one with its counters.
  const lines = r.stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i];
    if (!/chrom/i.test(head)) continue;
    const local = head.trim().split(/\s+/)[2];
    const info = lines[i + 1] ?? '';
    const m = /bytes_received:(\d+)/.exec(info);
    if (m) out.set(local, Number(m[1]));
  }
  return out;
}

// --- the server and its connections -------------------------------------------------------------

async function api(origin, token, path, init = {}) {
  const res = await fetch(origin + path, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 || res.status === 202 ? null : res.json();
}

// --- the browser, and tabs Playwright does not instrument ------------------------------------------

class Tab extends CdpTab {
  /** A tab on the UI at `url`; with `conns` (id → URL), its workspace is one pane holding
   * them, put in the tab's storage before the UI starts for good. */
  static async open(url, conns = null) {
    const tab = await Tab.create(browser, { width: 1440, height: 900 });
    const ready = () => until('the UI with its live link', () => tab.eval(uiReady).catch(() => false), 15_000, 100);
    await tab.send('Page.navigate', { url });
    await ready();
    if (conns) {
      // Once the UI has started (and saved its own workspace), ours replaces it and the
      // page starts again from it: a reload, since navigating to `url` again would only
      // move to its fragment (the token) without loading anything.
      const pane = { id: 'bench', config: { proto: 'ws', url: Object.values(conns)[0] }, conns: Object.keys(conns), urls: conns };
      await tab.eval((w) => localStorage.setItem('sscope.workspace', w), JSON.stringify({ panes: [pane], active: 'bench' }));
      await tab.send('Page.reload');
      await sleep(500);
      await ready();
      const shown = await tab.eval(() => document.querySelectorAll('section.pane').length);
      if (shown !== 1) throw new Error(`the tab shows ${shown} panes, not the one saved`);
    }
    return tab;
  }
}

// --- one measurement ------------------------------------------------------------------------------

/** Thread names with their digits folded, so `tokio-rt-worker` threads add up. */
const threadGroup = (comm) => comm.replace(/[-_ ]?\d+$/, '');

async function measure(tabs) {
  server = await startServe(opts.sscope);
  const pid = server.server.pid;
  const origin = new URL(server.uiUrl).origin;
  const port = Number(new URL(server.uiUrl).port);
  const call = (path, init) => api(origin, server.token, path, init);
  const open = [];
  try {
    if (!/^http:\/\/127\.0\.0\.1:/.test(server.uiUrl)) throw new Error(`the server is not on 127.0.0.1: ${server.uiUrl}`);
    const catalog = await call('/demo');
    const ticker = catalog.find((d) => d.proto === 'ws' && d.path.endsWith('/ticker'));
    const top = ticker?.params.find((p) => p.name === 'rate')?.max;
    if (!ticker || !(top >= opts.rate)) throw new Error(`GET /demo lists no ws ticker taking rate=${opts.rate}`);
    const url = `ws://127.0.0.1:${port}${ticker.path}?rate=${opts.rate}`;
    const ids = [];
    for (let i = 0; i < opts.conns; i++)
      ids.push((await call('/api/connections', { method: 'POST', body: JSON.stringify({ url, name: `ticker ${i + 1}` }) })).id);
    await until(
      'every connection open',
      async () => (await call('/api/connections')).filter((v) => v.state === 'open').length === ids.length,
      10_000,
    );
    // The server's URL for each connection, as the UI checks it when it re-attaches a pane.
    const conns = opts.watch ? Object.fromEntries((await call('/api/connections')).map((v) => [v.id, v.url])) : null;
    for (let i = 0; i < tabs; i++) open.push(await Tab.open(server.uiUrl, conns));
    await sleep(opts.settle * 1000);

    const recorded = async () => (await call('/api/connections')).reduce((s, v) => s + v.last_seq, 0);
    const load0 = uptime();
    const chromePids = chromiumPids();
    const rec0 = await recorded();
    const sock0 = tabSocketBytes(port);
    const m0 = machineCpu();
    const c0 = cpuOfPids(chromePids);
    const s0 = processCpu(pid);
    const t0 = process.hrtime.bigint();
    const self0 = process.cpuUsage();
    await sleep(opts.secs * 1000);
    const s1 = processCpu(pid);
    const t1 = process.hrtime.bigint();
    const self1 = process.cpuUsage(self0);
    const c1 = cpuOfPids(chromePids);
    const m1 = machineCpu();
    const sock1 = tabSocketBytes(port);
    const rec1 = await recorded();
    const load1 = uptime();
    const wall = Number(t1 - t0) / 1e9;

    const threads = {};
    for (const [tid, a] of s1.threads) {
      const before = s0.threads.get(tid)?.cpu ?? 0; // a thread born in the window counts whole
      const g = threadGroup(a.comm);
      threads[g] = (threads[g] ?? 0) + (a.cpu - before) / wall;
    }
    const server_ = (s1.total - s0.total) / wall;
    const chromium = (c1 - c0) / wall;
    const self = (self1.user + self1.system) / 1e6 / wall;
    const machine = (m1.busy - m0.busy) / wall;
    const liveRates = [...sock1]
      .map(([k, b]) => (b - (sock0.get(k) ?? 0)) / wall)
      .filter((r) => r > 1024)
      .sort((a, b) => b - a);
    if (server.server.exitCode !== null) throw new Error(`the server exited:\n${server.output()}`);
    return {
      tabs,
      wall,
      serverCores: server_,
      threads,
      chromiumCores: chromium,
      othersCores: Math.max(0, machine - server_ - chromium - self),
      machineCores: machine,
      recordedPerSec: (rec1 - rec0) / wall,
      liveBytesPerSec: liveRates,
      load: [load0, load1],
      serverRssMiB: rssMiB(pid),
    };
  } finally {
    for (const t of open) await t.close();
    server.stop();
    await new Promise((r) => (server.server.exitCode !== null || server.server.signalCode ? r() : server.server.once('exit', r)));
    server = null;
  }
}

// --- run, print ------------------------------------------------------------------------------------

const { chromium } = require('playwright-core');
browser = await chromium.launch({ executablePath: opts.chromium, headless: true, args: ['--no-sandbox'] });
// Playwright keeps the browser's process to itself: ours is the Chromium that is our child.
browserPid =
  chromiumPids().find((pid) => readStat(`/proc/${pid}/stat`)?.ppid === process.pid) ?? null;

const started = new Date();
log(
  `live-cpu: ${opts.sscope}; ${opts.conns} × ws ticker @ ${opts.rate}/s; ${opts.tabs} tab(s) vs none; ` +
    `settle ${opts.settle} s, measure ${opts.secs} s, ${opts.runs} run(s); ${opts.watch ? 'panes watch them' : 'empty panes'}; Chromium ${browser.version()}; ${os.cpus().length} CPUs`,
);
log(`load average at the start: ${uptime()}`);
const runs = [];
let failure = null;
try {
  for (let r = 1; r <= opts.runs; r++) {
    for (const tabs of [0, opts.tabs]) {
      const m = await measure(tabs);
      runs.push({ run: r, ...m });
      const top = Object.entries(m.threads)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([k, v]) => `${k} ${v.toFixed(3)}`)
        .join(', ');
      log(
        `run ${r}, ${tabs} tab(s): server ${m.serverCores.toFixed(3)} cores (${top}); Chromium ${m.chromiumCores.toFixed(2)}; ` +
          `others ${m.othersCores.toFixed(2)}; recorded ${Math.round(m.recordedPerSec)}/s; ` +
          `live sockets ${m.liveBytesPerSec.map((b) => (b / 1e6).toFixed(2) + ' MB/s').join(', ') || '–'}; ` +
          `RSS ${m.serverRssMiB.toFixed(0)} MiB; load ${m.load[0]} → ${m.load[1]}`,
      );
    }
  }
} catch (e) {
  failure = String(e?.stack ?? e);
  log(`live-cpu: ${failure}`);
} finally {
  chromiumPids();
  await browser.close().catch(() => {});
  stopAll();
  // The killed processes go once their parent (or init) reaps them; wait a little for that.
  for (let k = 0; k < 30 && [...chromiumSeen].some(([pid, st]) => readStat(`/proc/${pid}/stat`)?.start === st); k++)
    await sleep(100);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const lines = [];
const p = (s = '') => lines.push(s);
p(
  `Server CPU while streaming to UI tabs, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC: ` +
    `${opts.conns} × ws ticker @ ${opts.rate}/s, ${opts.secs} s measured after ${opts.settle} s, ${runs.filter((r) => r.tabs === 0).length} run(s)`,
);
p();
p('| case | server cores, median (range) | per run | Chromium cores (median) | other processes, cores (median) | recorded/s (median) | live socket MB/s per tab (median) |');
p('| --- | --- | --- | ---: | ---: | ---: | --- |');
const byCase = {};
for (const tabs of [0, opts.tabs]) {
  const rs = runs.filter((r) => r.tabs === tabs);
  if (!rs.length) continue;
  const sc = rs.map((r) => r.serverCores);
  byCase[tabs] = median(sc);
  const live = rs[0].liveBytesPerSec.map((_, k) => median(rs.map((r) => r.liveBytesPerSec[k] ?? NaN)) / 1e6);
  p(
    `| ${tabs} tab(s) | ${median(sc).toFixed(3)} (${Math.min(...sc).toFixed(3)}–${Math.max(...sc).toFixed(3)}) | ${sc.map((x) => x.toFixed(3)).join(', ')} | ` +
      `${median(rs.map((r) => r.chromiumCores)).toFixed(2)} | ${median(rs.map((r) => r.othersCores)).toFixed(2)} | ` +
      `${Math.round(median(rs.map((r) => r.recordedPerSec)))} | ${live.map((x) => x.toFixed(2)).join(', ') || '–'} |`,
  );
}
if (byCase[0] !== undefined && byCase[opts.tabs] !== undefined)
  p(
    `\nThe tabs' share: ${(byCase[opts.tabs] - byCase[0]).toFixed(3)} cores (median with tabs − median without), ` +
      `${((byCase[opts.tabs] - byCase[0]) / Math.max(1, opts.tabs)).toFixed(3)} per tab.`,
  );
p();
p('Load average (1, 5, 15 min) at the start → end of each measurement:');
for (const r of runs) p(`- run ${r.run}, ${r.tabs} tab(s): ${r.load[0]} → ${r.load[1]}`);
if (failure) p(`\n**the run failed:** ${failure.split('\n')[0]}`);
console.log(lines.join('\n'));
if (opts.json)
  writeFileSync(opts.json, JSON.stringify({ date: started.toISOString(), opts, runs, failure }, null, 2));
process.exit(failure ? 1 : 0);
