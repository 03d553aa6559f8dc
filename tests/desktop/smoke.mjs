// Desktop smoke test: the built `streamscope` starts, its window shows the UI on the
// embedded server, the page can call the shell's commands (and nothing else), a saved
// connection's secret goes to the system keychain and into no file, an export
// goes through the native save dialog, settings and the window's size outlive a restart,
// and closing the window quits the app and stops the server.
//
//   xvfb-run -a node tests/desktop/smoke.mjs [path/to/streamscope]
//
// Drives the app through tauri-driver (`cargo install tauri-driver --version '^2'`) and
// Debian's WebKitWebDriver (package webkit2gtk-driver) with plain WebDriver requests over
// fetch. Needs a display: run it under xvfb-run. Wrap it in `timeout`: a window that never
// comes up makes WebKitWebDriver wait forever. Screenshots go to $ARTIFACTS (default
// $CARGO_TARGET_DIR/artifacts/desktop). Prints `N passed, N failed`; exit status 1 on any
// failure.
//
// With --launch-runs N it measures launch instead (bench/launch.sh WEBDRIVER=1): N fresh
// launches, each from the new-session request to the UI being mounted and answering a
// script — an upper bound, WebKitWebDriver's own start included.
//
// Windows are closed and keys pressed as a user does, through tests/desktop/x11.py.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Driver, freePort, portOpen, spawnTauriDriver } from './webdriver.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const runsAt = args.indexOf('--launch-runs');
const launchRuns = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 0;
const target = process.env.CARGO_TARGET_DIR ?? '/var/tmp/streamscope-target';
const app = resolve(args[0] ?? join(target, 'debug', 'streamscope'));
const artifacts = resolve(process.env.ARTIFACTS ?? join(target, 'artifacts', 'desktop'));
const nativeDriver = process.env.WEBKIT_WEBDRIVER ?? '/usr/bin/WebKitWebDriver';
const tauriDriver = process.env.TAURI_DRIVER ?? join(process.env.HOME ?? '/root', '.cargo', 'bin', 'tauri-driver');

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  return ok;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Pids of every process below `root`, from /proc. */
function descendants(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch { /* gone meanwhile */ }
  }
  const out = [];
  const walk = (p) => { for (const c of children.get(p) ?? []) { out.push(c); walk(c); } };
  walk(root);
  return out;
}

function exeOf(pid) {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]; } catch { return null; }
}

/** Starts tauri-driver in its own process group, with a private config/data home. */
async function startDriver(home) {
  const port = await freePort();
  // Exports default to the downloads folder (XDG user dirs): a private one.
  mkdirSync(join(home, 'config'), { recursive: true });
  mkdirSync(join(home, 'downloads'), { recursive: true });
  writeFileSync(join(home, 'config', 'user-dirs.dirs'), `XDG_DOWNLOAD_DIR="${join(home, 'downloads')}"\n`);
  const child = await spawnTauriDriver({ tauriDriver, nativeDriver, port, home, stdout: 'inherit' });
  for (let i = 0; i < 100 && !(await portOpen(port)); i++) await sleep(50);
  return { child, driver: new Driver(port) };
}

/** Ends tauri-driver, WebKitWebDriver, the app and WebKit's helper processes: all that
 * runs below the driver, and its process group (helpers whose parent died meanwhile). */
function stopDriver(child) {
  for (const pid of [...descendants(child.pid), child.pid]) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group already empty */ }
}

/** Every regular file under `dir`. */
function findFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function removeHome(home) {
  try {
    rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch (e) {
    console.log(`note: could not remove ${home}: ${e.message}`);
  }
}

/** Mounted UI: `#app` has content and the page answers scripts. */
const UI_STATE = `return {
  ready: document.readyState,
  mounted: !!document.querySelector('#app') && document.querySelector('#app').children.length > 0,
  title: document.title,
  origin: location.origin,
  tauri: '__TAURI_INTERNALS__' in window,
  shell: typeof window.__STREAMSCOPE_SHELL__ === 'object',
  text: (document.body ? document.body.innerText : '').slice(0, 200),
};`;

async function waitForUi(driver, ms) {
  const until = Date.now() + ms;
  let state = null;
  while (Date.now() < until) {
    try {
      state = await driver.exec(UI_STATE);
      if (state.mounted) return state;
    } catch { /* page still loading */ }
    await sleep(25);
  }
  return state;
}

function x11(...args) {
  try {
    execFileSync('python3', [join(here, 'x11.py'), ...args.map(String)], { timeout: 10000 });
    return true;
  } catch {
    return false;
  }
}

async function waitFor(probe, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null && v !== undefined) return v;
    if (Date.now() > until) return null;
    await sleep(50);
  }
}

/** Waits until `file` exists and has not changed for `quietMs` (at most `ms` in all). */
async function settled(file, quietMs, ms) {
  const until = Date.now() + ms;
  let last = null;
  let since = Date.now();
  while (Date.now() < until) {
    const now = existsSync(file) ? statSync(file).mtimeMs : null;
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (now !== null && Date.now() - since >= quietMs) {
      return true;
    }
    await sleep(100);
  }
  return false;
}

/** Waits for a top-level window of `pid` named `name`. */
async function waitForWindow(pid, name, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const names = execFileSync('python3', [join(here, 'x11.py'), 'list', String(pid)], { timeout: 10000, encoding: 'utf8' });
      if (names.split('\n').includes(name)) return true;
    } catch { /* no windows yet */ }
    await sleep(100);
  }
  return false;
}

/** Quits the app as a user does, by closing its window; true when it ended within 5 s. */
async function closeApp(appPid) {
  try {
    execFileSync('python3', [join(here, 'x11.py'), 'close', String(appPid), 'Streamscope'], { timeout: 10000 });
  } catch {
    return false;
  }
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    if (!existsSync(`/proc/${appPid}`) || readFileSync(`/proc/${appPid}/stat`, 'utf8').includes(') Z ')) return true;
  }
  return false;
}

/**
 * Presses a key in (or closes) the "Save export" dialog. A dialog found before it is
 * mapped refuses the focus (BadMatch), so every use tries again a few times.
 */
async function dialogAction(appPid, action, ...args) {
  for (let i = 0; i < 5; i++) {
    await sleep(300);
    if (x11(action, appPid, 'Save export', ...args)) return true;
  }
  return false;
}

const invokeScript = `const done = arguments[arguments.length - 1];
  window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
    .then((v) => done({ ok: true, v }), (e) => done({ ok: false, e }));`;

async function smoke() {
  if (!existsSync(app)) {
    check('the app is built', false, `${app} does not exist; run cargo build first`);
    return;
  }
  mkdirSync(artifacts, { recursive: true });
  const home = mkdtempSync(join(tmpdir(), 'streamscope-smoke-'));
  const configDir = join(home, 'config', 'dev.streamscope.desktop');
  let run = await startDriver(home);
  try {
    const { driver, child } = run;
    const sessionId = await driver.newSession(app);
    const handle = await driver.req('GET', `${driver.session}/window`);
    check('a WebDriver session starts the app with a window', typeof sessionId === 'string' && sessionId !== '' && typeof handle === 'string' && handle !== '', `${sessionId}; ${handle}`);

    const state = await waitForUi(driver, 20000);
    check('the window shows the UI (#app mounted)', state?.mounted === true, JSON.stringify(state));
    const title = await driver.req('GET', `${driver.session}/title`);
    check('the page title is "Streamscope"', title === 'Streamscope', title);
    check('the page is served by the embedded server on 127.0.0.1', /^http:\/\/127\.0\.0\.1:\d+$/.test(state?.origin ?? ''), state?.origin);
    check('the shell handed the page its settings', state?.shell === true);

    const png = await driver.req('GET', `${driver.session}/screenshot`);
    writeFileSync(join(artifacts, 'webview.png'), Buffer.from(png, 'base64'));
    try {
      execFileSync('import', ['-window', 'root', join(artifacts, 'screen.png')], { timeout: 10000 });
    } catch (e) {
      console.log(`note: no root-window screenshot (${e.message.split('\n')[0]})`);
    }
    console.log(`screenshots: ${join(artifacts, 'webview.png')} ${join(artifacts, 'screen.png')}`);

    // The capability lets the page call the shell's commands... The UI saves its own map
    // (workspace, chart colours) a moment after it starts, and the page owns the whole
    // map: wait until those saves are done, or one of them may replace ours before we look.
    const file = join(configDir, 'ui-settings.json');
    await settled(file, 1000, 8000);
    const saved = await driver.execAsync(invokeScript, ['save_settings', { entries: { 'smoke.key': 'smoke value' } }]);
    const stored = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
    check('the page may call save_settings, and the shell stores the map', saved.ok && stored?.['smoke.key'] === 'smoke value', JSON.stringify(saved));

    // The UI's desktop host (ui/src/host/tauri.ts) keeps settings through the shell, and
    // they survive a reload within the launch.
    const viaHost = await driver.execAsync(`const done = arguments[arguments.length - 1];
      const host = window.sscope && window.sscope.host;
      if (!host) return done({ missing: true });
      host.storage.set('smoke.ui', 'from the UI');
      host.saveExport('http://example.com/x.ndjson', 'x.ndjson')
        .then((v) => done({ kind: host.kind, v }), (e) => done({ kind: host.kind, code: e.code }));`);
    check('the UI runs with the desktop host', viaHost.kind === 'tauri', JSON.stringify(viaHost));
    check('the desktop host refuses to export from another origin', viaHost.code === 'bad_path', JSON.stringify(viaHost));
    let kept = null;
    for (let i = 0; i < 40 && kept?.['smoke.ui'] !== 'from the UI'; i++) {
      await sleep(50);
      kept = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
    }
    check('a setting the UI stores reaches the shell\'s file', kept?.['smoke.ui'] === 'from the UI', JSON.stringify(kept));
    await driver.req('POST', `${driver.session}/refresh`, {});
    await waitForUi(driver, 20000);
    const afterReload = await driver.exec(`return window.sscope && window.sscope.host.storage.get('smoke.ui');`);
    check('the setting survives a reload', afterReload === 'from the UI', String(afterReload));

    // An export goes through the native save dialog: accepted with Enter, it lands in
    // the downloads folder; closed, it is cancelled and nothing is written.
    const appPid = descendants(child.pid).find((p) => exeOf(p) === app);
    const startSave = `window.__smokeSave = null;
      window.sscope.host.saveExport(location.origin + '/api/connections', 'connections.json')
        .then((v) => { window.__smokeSave = v; }, (e) => { window.__smokeSave = 'error ' + e.code + ': ' + e.message; });`;
    const saveResult = () => waitFor(() => driver.exec('return window.__smokeSave;'), 10000);
    await driver.exec(startSave);
    const dialog = await waitForWindow(appPid, 'Save export', 10000);
    check('an export opens the native save dialog', dialog);
    if (dialog) {
      await sleep(300); // let GTK finish laying the dialog out before the screenshot and the key
      try {
        execFileSync('import', ['-window', 'root', join(artifacts, 'save-dialog.png')], { timeout: 10000 });
      } catch { /* screenshot only */ }
      await dialogAction(appPid, 'key', 'Return');
    }
    const accepted = await saveResult();
    const exported = join(home, 'downloads', 'connections.json');
    let exportedJson = null;
    try { exportedJson = JSON.parse(readFileSync(exported, 'utf8')); } catch { /* checked below */ }
    check('accepting the dialog saves the export to the chosen file', accepted === 'saved' && exportedJson !== null, `${accepted}; ${exported}`);

    await driver.exec(startSave.replace('connections.json', 'cancelled.json'));
    if (await waitForWindow(appPid, 'Save export', 10000)) await dialogAction(appPid, 'close');
    const cancelled = await saveResult();
    check('closing the dialog cancels the export', cancelled === 'cancelled' && !existsSync(join(home, 'downloads', 'cancelled.json')), String(cancelled));

    // The rate charts' PNG export, from the UI's own button: a connected pane, the
    // dialog, and a PNG of the asked size in the chosen file.
    await driver.exec('window.sscope.connect(window.sscope.panes[0]);');
    const charted = await waitFor(
      () => driver.exec(`const b = document.querySelector('.rates button[title^="Save the charts shown as a PNG"]');
        return b && !b.disabled && window.sscope.panes[0].connId ? true : null;`),
      10000,
    );
    check('a connected pane enables the chart export', charted === true);
    await driver.exec(`window.__smokeChart = null;
      const b = document.querySelector('.rates button[title^="Save the charts shown as a PNG"]');
      b.click();`);
    const chartDialog = await waitForWindow(appPid, 'Save export', 10000);
    check('the chart export opens the native save dialog', chartDialog);
    if (chartDialog) {
      await dialogAction(appPid, 'key', 'Return');
    }
    const chartFile = await waitFor(async () => {
      const f = readdirSync(join(home, 'downloads')).find((n) => /^streamscope-rates-\d{8}-\d{6}\.png$/.test(n));
      if (!f) return null;
      const bytes = readFileSync(join(home, 'downloads', f));
      // Complete once the .part file is renamed into place; IHDR holds the size.
      return bytes.length > 24 ? bytes : null;
    }, 10000);
    const pngOk =
      chartFile &&
      chartFile.subarray(1, 4).toString() === 'PNG' &&
      chartFile.readUInt32BE(16) === 1200 &&
      chartFile.readUInt32BE(20) === 540;
    check('accepting it saves the chart as a 1200×540 PNG', !!pngOk, chartFile ? `${chartFile.length} bytes` : 'no file');
    // The window with frames flowing and the charts drawn, for a person to look at (the
    // shots above are of the first frame, before any pane connected).
    await sleep(1500);
    try {
      execFileSync('import', ['-window', 'root', join(artifacts, 'screen-connected.png')], { timeout: 10000 });
    } catch { /* screenshot only */ }
    await driver.exec('window.sscope.disconnect(window.sscope.panes[0]);');

    // The labs in WebKitGTK: the panel with every lab and the Claims card, an engine lab
    // run to its result card, and the connection-limit lab, which measures this web
    // view's own per-host limit (whatever it finds, the card must say it).
    await driver.exec(`document.querySelector('button.labs-toggle').click();`);
    const listed = await waitFor(
      () => driver.exec(`const l = [...document.querySelectorAll('#labs-panel li.lab')].map((e) => e.dataset.lab);
        return l.length ? l : null;`),
      10000,
    );
    check('the Labs panel lists the six labs', JSON.stringify(listed) === JSON.stringify(['direction', 'reconnect', 'dead-peer', 'binary', 'connection-limit', 'overhead']), JSON.stringify(listed));
    const runLab = async (name, quick) => {
      // After a run the panel shows it; the list is one step back.
      await driver.exec(`document.querySelector('#labs-panel button.back')?.click();`);
      await driver.exec(`const q = document.querySelector('#labs-panel .quick input');
        if (q && q.checked !== ${quick}) q.click();
        document.querySelector('#labs-panel li.lab[data-lab="${name}"] button.run').click();`);
      return waitFor(
        () => driver.exec(`const c = document.querySelector('#labs-panel [data-testid=lab-result]');
          const r = document.querySelector('#labs-panel article.run');
          if (!c || !r || r.dataset.lab !== '${name}' || r.dataset.state === 'running') return null;
          return { state: r.dataset.state, conclusion: c.querySelector('.conclusion')?.innerText ?? '',
            rows: [...c.querySelectorAll('tr')].map((t) => t.innerText.replace(/\\s+/g, ' ')) };`),
        60000,
      );
    };
    const reconnect = await runLab('reconnect', true);
    check('an engine lab runs to its result card in the window', reconnect?.state === 'done' && /SSE lost nothing/.test(reconnect.conclusion), JSON.stringify(reconnect));
    const limit = await runLab('connection-limit', false);
    check('the connection-limit lab runs in the web view and concludes from what it measured', limit?.state === 'done' && limit.conclusion.length > 40, JSON.stringify(limit));
    try {
      execFileSync('import', ['-window', 'root', join(artifacts, 'screen-labs.png')], { timeout: 10000 });
    } catch { /* screenshot only */ }
    await driver.exec(`document.querySelector('#labs-panel button.back')?.click();`);
    const claims = await driver.exec(`return document.querySelectorAll('#labs-panel a[href^="https://"]').length;`);
    check('the Claims card links each claim to its source', claims >= 6, String(claims));
    await driver.exec(`document.querySelector('button.labs-toggle').click();`);

    const badExport = await driver.execAsync(invokeScript, ['save_export', { path: 'http://example.com/x', filename: 'x.ndjson' }]);
    check('save_export refuses a path off the embedded server', !badExport.ok && badExport.e?.code === 'bad_path', JSON.stringify(badExport));

    // The keychain (src-tauri/secrets.rs): kept, read back, removed; only the UI's keys.
    const key = `saved/smoke${process.pid}/bearer`;
    const set = await driver.execAsync(invokeScript, ['secret_set', { key, value: 'smoke-secret-1' }]);
    const got = await driver.execAsync(invokeScript, ['secret_get', { key }]);
    check('the page keeps a secret in the system keychain and reads it back', set.ok && got.ok && got.v === 'smoke-secret-1', JSON.stringify([set, got]));
    const del = await driver.execAsync(invokeScript, ['secret_delete', { key }]);
    const gone = await driver.execAsync(invokeScript, ['secret_get', { key }]);
    check('a removed secret is gone from the keychain', del.ok && gone.ok && gone.v === null, JSON.stringify([del, gone]));
    const foreign = await driver.execAsync(invokeScript, ['secret_get', { key: 'login/other-app' }]);
    check('the keychain refuses keys outside saved/ and env/', !foreign.ok && foreign.e?.code === 'bad_key', JSON.stringify(foreign));

    // A saved connection's token goes to the keychain through the UI, and nowhere else.
    const token = `smoke-token-${process.pid}`;
    const viaSaved = await driver.execAsync(`const done = arguments[arguments.length - 1];
      (async () => {
        const app = window.sscope;
        const c = await app.saved.createCollection('smoke');
        const pane = app.panes[0];
        const before = { auth: pane.config.auth, bearer: pane.config.bearer };
        pane.config.auth = 'bearer';
        pane.config.bearer = arguments[0];
        const it = await app.saved.saveCurrent(pane, c.id, 'smoke');
        const server = JSON.stringify(await app.api.collections());
        const kept = await app.host.secrets.get('saved/' + it.id + '/bearer');
        Object.assign(pane.config, before);
        await app.saved.deleteItem(c.id, it.id);
        const after = await app.host.secrets.get('saved/' + it.id + '/bearer');
        await app.saved.deleteCollection(c.id);
        done({ ok: true, onServer: server.includes(arguments[0]), kept, after });
      })().catch((e) => done({ ok: false, e: String(e) }));`, [token]);
    check('a saved connection keeps its token in the keychain, not on the server, and deleting it removes it',
      viaSaved.ok && !viaSaved.onServer && viaSaved.kept === token && viaSaved.after === null, JSON.stringify(viaSaved));
    await settled(file, 1000, 8000);
    const leaked = findFiles(home).filter((f) => statSync(f).size < 16 << 20 && readFileSync(f, 'utf8').includes(token));
    check('the token is in no file the app wrote', leaked.length === 0, leaked.join(', '));

    // ...and nothing it does not use.
    for (const cmd of ['plugin:dialog|save', 'plugin:fs|write_text_file', 'plugin:window-state|save_window_state', 'plugin:window|close']) {
      const r = await driver.execAsync(invokeScript, [cmd, {}]);
      check(`the page may not call ${cmd}`, !r.ok && /not allowed|denied/i.test(String(r.e)), String(r.e));
    }

    // Closing the window quits the app, stops the server and saves the window's place.
    const port = Number(new URL(state.origin).port);
    const appPids = descendants(child.pid).filter((p) => exeOf(p) === app);
    check('exactly one app process runs', appPids.length === 1, JSON.stringify(appPids));
    check('closing the window quits the app within 5 s', appPids.length === 1 && (await closeApp(appPids[0])));
    check('the embedded server is stopped', !(await portOpen(port)), `port ${port}`);
    // What the window recorded is a session in the app's data directory.
    const sscope = join(dirname(app), 'sscope');
    if (existsSync(sscope)) {
      let listed = '';
      try {
        listed = execFileSync(sscope, ['sessions', '--data-dir', join(home, 'data', 'dev.streamscope.desktop')], { timeout: 10000 }).toString();
      } catch (e) {
        listed = String(e);
      }
      const first = listed.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } })[0];
      check('the window recorded its connections to a session on disk', first && first.conns > 0 && first.records > 0 && first.ended, listed);
    }
    const windowState = join(configDir, '.window-state.json');
    check('the window state is saved on quit', existsSync(windowState), windowState);
    await driver.req('DELETE', driver.session, undefined, 5000).catch(() => {});
    stopDriver(child);

    // The next launch restores the saved size, and the page gets the saved settings back.
    if (existsSync(windowState)) {
      const ws = JSON.parse(readFileSync(windowState, 'utf8'));
      Object.assign(ws.main, { width: 1000, height: 640, maximized: false });
      writeFileSync(windowState, JSON.stringify(ws));
    }
    run = await startDriver(home);
    await run.driver.newSession(app);
    const again = await waitForUi(run.driver, 20000);
    const seen = await run.driver.exec(`return { w: window.innerWidth, h: window.innerHeight,
      stored: window.sscope && window.sscope.host.storage.get('smoke.ui') };`);
    check('the next launch shows the UI again', again?.mounted === true);
    check('the next launch restores the saved window size', seen.w === 1000 && seen.h === 640, `${seen.w}x${seen.h}`);
    check('the next launch hands back the saved settings', seen.stored === 'from the UI', String(seen.stored));
    const pids = descendants(run.child.pid).filter((p) => exeOf(p) === app);
    check('the second launch also quits when its window closes', pids.length === 1 && (await closeApp(pids[0])));
  } catch (e) {
    check('smoke run', false, e.message);
  } finally {
    await run.driver.req('DELETE', run.driver.session ?? '/session/none', undefined, 5000).catch(() => {});
    stopDriver(run.child);
    removeHome(home);
  }
}

async function bench(runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const home = mkdtempSync(join(tmpdir(), 'streamscope-launch-'));
    const { child, driver } = await startDriver(home);
    try {
      const t0 = performance.now();
      await driver.newSession(app);
      const state = await waitForUi(driver, 20000);
      const ms = performance.now() - t0;
      if (!state?.mounted) throw new Error(`UI not shown: ${JSON.stringify(state)}`);
      times.push(ms);
      console.log(`run ${i + 1}: ${ms.toFixed(0)} ms`);
    } finally {
      await driver.req('DELETE', driver.session ?? '/session/none', undefined, 5000).catch(() => {});
      stopDriver(child);
      removeHome(home);
    }
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`launch to interactive UI through WebDriver: median ${median.toFixed(0)} ms, min ${times[0].toFixed(0)} ms, max ${times.at(-1).toFixed(0)} ms over ${times.length} runs`);
}

if (launchRuns > 0) {
  await bench(launchRuns);
} else {
  await smoke();
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}
