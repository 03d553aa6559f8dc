#!/usr/bin/env node
// End-to-end: a third-party page tapped, in headless Chromium.
//
//   SSCOPE_BIN=/path/to/sscope node e2e/tap.mjs   (default /var/tmp/streamscope-target/debug/sscope)
//   CHROMIUM=/usr/bin/chromium                    (default; never downloads a browser)
//   E2E_SKIP_BUILD=1                              (use ui/dist as it is)
//   E2E_DOCS_SHOTS=1                              (refresh docs/tap.png for the README)
//
// The page server is Python aiohttp (e2e/tap_page.py): its page opens a WebSocket (which
// aiohttp compresses, since Chromium offers permessage-deflate) and an EventSource whose
// stream stays open until the test asks it to end. Chromium loads the page through a
// reverse tap, once started by `sscope tap` (records read from its stdout) and once from
// the app's Tap panel (records read from the session, panes looked at); then through
// `sscope tap --proxy`, over TLS with the tap's CA trusted in a temporary NSS database and
// over plain http, and a Node client through HTTPS_PROXY. Each time the
// records must match what the page sent and saw, in order, and the SSE events must be
// recorded while the stream is still open. One line per test, screenshots in
// e2e/artifacts/tap-*.png; exit 1 on failure.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { openUi } from './ui.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = join(here, '..');
const artifacts = join(here, 'artifacts');
const bin = process.env.SSCOPE_BIN || '/var/tmp/streamscope-target/debug/sscope';
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(artifacts, { recursive: true });
for (const f of readdirSync(artifacts)) if (/^tap-.*\.png$/.test(f)) rmSync(join(artifacts, f));

const ui = await openUi({ bin, chromiumPath, uiDir, artifacts, label: 'tap', prefix: 'tap-', timeout: 60_000 });
const { browser, page, pageErrors, httpErrors, results, test, assert, until, shot, panes, server, fatal } = ui;

/** Reads the first line of a child's stdout that `match` accepts. */
function firstLine(stream, match, what, ms = 15_000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms: ${buf}`)), ms);
    stream.on('data', (d) => {
      buf += d;
      const m = match(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

/** Stops a child this script started, by its pid, if it still runs. */
function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    // Gone in the meantime.
  }
}

/** The page server: stopped by its pid when this process ends, and by closing its stdin. */
async function startPageServer(args = []) {
  const child = spawn('python3', [join(here, 'tap_page.py'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  process.on('exit', () => stopChild(child));
  const port = await firstLine(
    child.stdout,
    (b) => /"port": (\d+)/.exec(b)?.[1],
    'port from tap_page.py (pip install aiohttp)',
  );
  return {
    port: Number(port),
    stop: () => {
      child.stdin.end();
      stopChild(child);
    },
  };
}

/** `sscope tap` with `args`; its records are collected from stdout, its address from
 * stderr (`point the app at ADDR` for a reverse tap, `http://ADDR` for a proxy). */
async function startCliTap(upstream, args = ['--listen', '127.0.0.1:0', '--upstream', upstream]) {
  const child = spawn(bin, ['tap', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.on('exit', () => stopChild(child));
  const records = [];
  let partial = '';
  child.stdout.on('data', (d) => {
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) records.push(JSON.parse(l));
  });
  const addr = await firstLine(
    child.stderr,
    (b) => /(?:point the app at |HTTPS_PROXY to http:\/\/)(127\.0\.0\.1:\d+)/.exec(b)?.[1],
    'address',
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    addr,
    records,
    stop: async () => {
      process.kill(child.pid, 'SIGINT');
      return exited;
    },
  };
}

/** Checks that `records` (one tap's, in order) match what the page sent and saw. */
function judge(records, seen, { ended }) {
  const byConn = new Map();
  for (const r of records) byConn.set(r.conn, [...(byConn.get(r.conn) ?? []), r]);
  const conns = [...byConn.values()];
  const ws = conns.find((c) => c[0].proto === 'ws');
  const sse = conns.find((c) => c[0].proto === 'sse');
  assert(ws && sse, `a WebSocket and an event stream recorded: ${JSON.stringify(records.map((r) => r.kind))}`);
  for (const c of conns) {
    c.forEach((r, i) => assert(r.seq === i + 1, `seq ${r.seq} at ${i + 1} of ${r.conn}`));
  }
  assert(ws[0].kind === 'open' && ws[0].status === 101, `ws opens with 101: ${JSON.stringify(ws[0])}`);
  const out = ws.filter((r) => r.dir === 'out' && r.kind === 'text').map((r) => r.data);
  const inn = ws.filter((r) => r.dir === 'in' && r.kind === 'text').map((r) => r.data);
  assert(
    JSON.stringify(out) === JSON.stringify(seen.wsSent),
    `out ${JSON.stringify(out)} vs sent ${JSON.stringify(seen.wsSent)}`,
  );
  assert(
    JSON.stringify(inn) === JSON.stringify(seen.wsGot),
    `in ${JSON.stringify(inn)} vs got ${JSON.stringify(seen.wsGot)}`,
  );
  const compressed = ws.filter((r) => r.kind === 'text' && r.compressed_size !== undefined);
  assert(compressed.length > 0, `Chromium and aiohttp agreed on permessage-deflate: ${JSON.stringify(ws[0].headers)}`);
  assert(sse[0].kind === 'open' && sse[0].status === 200, `sse opens with 200: ${JSON.stringify(sse[0])}`);
  const events = sse.filter((r) => r.kind === 'event').map((r) => ({ data: r.data, id: r.id }));
  assert(
    JSON.stringify(events) === JSON.stringify(seen.sse),
    `events ${JSON.stringify(events)} vs seen ${JSON.stringify(seen.sse)}`,
  );
  assert(
    sse.some((r) => r.kind === 'comment' && r.data === ' page server hello'),
    'the comment is recorded',
  );
  assert(
    sse.some((r) => r.kind === 'retry' && r.retry_ms === 60000),
    'the retry field is recorded',
  );
  const last = sse[sse.length - 1];
  if (ended) assert(last.kind === 'end', `the stream ended: ${JSON.stringify(last)}`);
  else assert(!sse.some((r) => r.kind === 'end' || r.kind === 'error'), 'the stream is still open');
}

const pageServer = await startPageServer().catch((e) => fatal(e.message));
const upstream = `http://127.0.0.1:${pageServer.port}`;
const seenOf = (p) => p.evaluate(() => structuredClone(globalThis.seen));

await test('a page through `sscope tap`: both directions and each SSE event recorded while the page runs', async () => {
  const tap = await startCliTap(upstream);
  const ctx = await browser.newContext();
  try {
    const app = await ctx.newPage();
    await app.goto(`http://${tap.addr}/`);
    // Three events and both echoes on the page, the stream still open.
    await until('the page saw three events and two echoes', () =>
      seenOf(app).then((s) => s.sse.length === 3 && s.wsGot.length === 2),
    );
    await until('three event records', () => tap.records.filter((r) => r.kind === 'event').length === 3);
    await until(
      'two echoes recorded',
      () => tap.records.filter((r) => r.dir === 'in' && r.kind === 'text').length === 2,
    );
    judge(tap.records, await seenOf(app), { ended: false });
    // The page asks the server to end the stream (through the tap too): the last event
    // and the end follow.
    await app.evaluate(() => fetch('/finish'));
    await until('the last event and the end', () => tap.records.some((r) => r.kind === 'end'));
    await until('the page saw the last event', () => seenOf(app).then((s) => s.sse.length === 4));
    await app.evaluate(() => globalThis.closeSocket());
    await until(
      'the close handshake recorded both ways',
      () => tap.records.filter((r) => r.kind === 'close').length === 2,
    );
    judge(tap.records, await seenOf(app), { ended: true });
    const closes = tap.records.filter((r) => r.kind === 'close');
    assert(
      closes[0].dir === 'out' && closes[0].code === 1000 && closes[0].reason === 'page done',
      JSON.stringify(closes),
    );
  } finally {
    await ctx.close();
    const code = await tap.stop();
    assert(code === 0, `sscope tap exited ${code}`);
  }
});

await test('the Tap panel: start, point a page at it, its streams open in panes with records and a notice', async () => {
  await page.goto(ui.uiUrl);
  await panes().first().waitFor();
  await page.getByRole('button', { name: 'Tap', exact: true }).click();
  const panel = page.locator('#tap-panel');
  await panel.waitFor();
  await panel.locator('input[name="upstream"]').fill(upstream);
  await panel.getByRole('button', { name: 'Start tap' }).click();
  const listen = (await panel.locator('.tap .listen').innerText()).replace('ws://', '');
  assert(/^127\.0\.0\.1:\d+$/.test(listen) && !listen.endsWith(':0'), `the address to point the app at: ${listen}`);
  await page.locator('.tapping').waitFor();
  const before = await panes().count();
  const ctx = await browser.newContext();
  try {
    const app = await ctx.newPage();
    await app.goto(`http://${listen}/`);
    await until('the page saw three events and two echoes', () =>
      seenOf(app).then((s) => s.sse.length === 3 && s.wsGot.length === 2),
    );
    // Each recorded stream opened in a pane of its own.
    await until('two more panes', async () => (await panes().count()) === before + 2);
    const names = await panes()
      .locator('header input.name')
      .evaluateAll((els) => els.map((e) => (e instanceof HTMLInputElement ? e.value : e.textContent)));
    assert(names.filter((n) => /^tap 127\.0\.0\.1:/.test(n ?? '')).length === 2, `pane names: ${names}`);
    // The session's records, as the API serves them to the panes.
    const conns = (await ui.apiGet('/api/connections')).filter((c) => c.tap);
    assert(conns.length === 2, `two tapped connections: ${JSON.stringify(conns)}`);
    const records = [];
    for (const c of conns) records.push(...(await ui.apiGet(`/api/connections/${c.id}/records?from=1`)).records);
    judge(records, await seenOf(app), { ended: false });
    await until(
      'rows in the tapped panes',
      async () => (await panes().nth(before).locator('.viewport .row').count()) > 2,
    );
    const tapped = panes().filter({ has: page.locator('.sse-note.tapped') });
    assert((await tapped.count()) === 2, 'each tapped pane says it cannot send, instead of a sender');
    await until('the counts of the tap', async () =>
      /2 recorded/.test(await panel.locator('.tap .counts').innerText()),
    );
    // The demo panes closed: the picture shows the tapped ones.
    for (let i = 0; i < before; i++) await panes().first().getByRole('button', { name: 'Close pane' }).click();
    await until('only the tapped panes', async () => (await panes().count()) === 2);
    await shot('panel');
    if (process.env.E2E_DOCS_SHOTS) await page.screenshot({ path: join(uiDir, '..', 'docs', 'tap.png') });
    await app.evaluate(() => fetch('/finish'));
  } finally {
    await ctx.close();
  }
  await panel.getByRole('button', { name: 'Stop' }).click();
  await until('the notice gone once the tap stopped', async () => (await page.locator('.tapping').count()) === 0);
  // The proxy from the panel: its address for HTTP(S)_PROXY, and its CA to save.
  await panel.getByRole('radio', { name: 'Proxy' }).click();
  await panel.locator('input[name="decrypt"]').fill('localhost, *.example.test');
  await panel.getByRole('button', { name: 'Start proxy' }).click();
  const point = await panel.locator('.tap .point').first().innerText();
  assert(/HTTPS_PROXY to http:\/\/127\.0\.0\.1:\d+/.test(point), `where to point the app: ${point}`);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    panel.getByRole('button', { name: 'CA certificate' }).click(),
  ]);
  const pem = await download.createReadStream().then(async (s) => {
    let text = '';
    for await (const c of s) text += c;
    return text;
  });
  assert(pem.startsWith('-----BEGIN CERTIFICATE-----'), `the CA as PEM: ${pem.slice(0, 40)}`);
  await shot('proxy');
  // Deleting the CA is refused while the proxy that holds it runs, and said so.
  ui.expectHttpError('DELETE', /^\/api\/taps\/ca$/, 409);
  await panel.getByRole('button', { name: 'Delete CA' }).click();
  await until('the refusal shown', async () => /stop it first/.test(await panel.locator('.problem').innerText()));
  await panel.getByRole('button', { name: 'Stop' }).click();
  await panel.getByRole('button', { name: 'Delete CA' }).click();
  await until('the deletion said', async () => /CA is deleted/.test(await panel.innerText()));
  const left = await ui.apiGet('/api/taps');
  assert(left.length === 0, `no tap runs: ${JSON.stringify(left)}`);
});

// --- the proxy, with TLS ---------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'streamscope-tap-e2e-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
/** A CA of the page server's own and its certificate for localhost (openssl). */
function pageCerts() {
  const at = (f) => join(work, f);
  const run = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    at('page-ca.key'),
    '-out',
    at('page-ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=e2e page CA',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    at('page.key'),
    '-out',
    at('page.csr'),
    '-subj',
    '/CN=localhost',
  );
  writeFileSync(
    at('page.ext'),
    'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  run(
    'x509',
    '-req',
    '-in',
    at('page.csr'),
    '-CA',
    at('page-ca.pem'),
    '-CAkey',
    at('page-ca.key'),
    '-CAcreateserial',
    '-out',
    at('page.pem'),
    '-days',
    '2',
    '-extfile',
    at('page.ext'),
  );
  return { ca: at('page-ca.pem'), cert: at('page.pem'), key: at('page.key') };
}

let tlsPage;
let proxyTap;
const dataDir = join(work, 'data');
const tapCa = join(dataDir, 'tap-ca', 'ca.pem');
try {
  const certs = pageCerts();
  tlsPage = await startPageServer(['--tls', certs.cert, certs.key]);
  // The proxy trusts the page server's CA as a user gives a private one (--ca).
  proxyTap = await startCliTap(null, [
    '--proxy',
    '127.0.0.1:0',
    '--decrypt',
    'localhost',
    '--data-dir',
    dataDir,
    '--ca',
    certs.ca,
  ]);
} catch (e) {
  fatal(`cannot set up the proxy test: ${e.message}`);
}
const tlsUrl = `https://localhost:${tlsPage.port}`;

await test('a page over TLS through `sscope tap --proxy`, its CA trusted in an NSS database as a user does', async () => {
  // A temporary HOME whose NSS database trusts the tap's CA (certutil, libnss3-tools),
  // so Chromium verifies the leaf the proxy presents for localhost as it would any.
  const home = join(work, 'home');
  const nss = `sql:${join(home, '.pki', 'nssdb')}`;
  mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true });
  execFileSync('certutil', ['-d', nss, '-N', '--empty-password']);
  execFileSync('certutil', ['-d', nss, '-A', '-t', 'C,,', '-n', 'streamscope', '-i', tapCa]);
  const proxied = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    env: { ...process.env, HOME: home },
    // Chromium sends loopback past any proxy unless told not to.
    args: ['--no-sandbox', `--proxy-server=http://${proxyTap.addr}`, '--proxy-bypass-list=<-loopback>'],
  });
  try {
    const app = await proxied.newPage();
    await app.goto(`${tlsUrl}/`);
    await until('the page saw three events and two echoes', () =>
      seenOf(app).then((s) => s.sse.length === 3 && s.wsGot.length === 2),
    );
    await until('three event records', () => proxyTap.records.filter((r) => r.kind === 'event').length === 3);
    await until(
      'two echoes recorded',
      () => proxyTap.records.filter((r) => r.dir === 'in' && r.kind === 'text').length === 2,
    );
    judge(proxyTap.records, await seenOf(app), { ended: false });
    const ws = proxyTap.records.find((r) => r.proto === 'ws');
    assert(ws.conn && /^c\d+$/.test(ws.conn), JSON.stringify(ws));
    await app.evaluate(() => fetch('/finish'));
    await until('the end of the stream', () => proxyTap.records.some((r) => r.kind === 'end'));
    // A plain http:// page through the same proxy: the page by absolute form, its ws://
    // inside a CONNECT (as Chromium sends it), both read without any certificate.
    const before = new Set(proxyTap.records.map((r) => r.conn));
    const fresh = () => proxyTap.records.filter((r) => !before.has(r.conn));
    const plainApp = await proxied.newPage();
    await plainApp.goto(`http://localhost:${pageServer.port}/`);
    await until('the plain page saw three events and two echoes', () =>
      seenOf(plainApp).then((s) => s.sse.length === 3 && s.wsGot.length === 2),
    );
    await until('its records', () => fresh().filter((r) => r.kind === 'event').length === 3);
    await until('its echoes recorded', () => fresh().filter((r) => r.dir === 'in' && r.kind === 'text').length === 2);
    judge(fresh(), await seenOf(plainApp), { ended: false });
    await plainApp.evaluate(() => fetch('/finish'));
  } finally {
    await proxied.close();
  }
});

await test('a Node client through HTTPS_PROXY (undici EnvHttpProxyAgent, NODE_EXTRA_CA_CERTS)', async () => {
  const before = new Set(proxyTap.records.map((r) => r.conn));
  const out = execFileSync(process.execPath, [join(here, 'tap_node_client.mjs'), `${tlsUrl}/events`], {
    env: { ...process.env, HTTPS_PROXY: `http://${proxyTap.addr}`, NODE_EXTRA_CA_CERTS: tapCa, NO_PROXY: '' },
    timeout: 20_000,
  });
  const got = JSON.parse(String(out));
  assert(JSON.stringify(got) === JSON.stringify(['tick 1', 'tick 2', 'tick 3']), `Node read ${out}`);
  await until(
    'its events recorded',
    () => proxyTap.records.filter((r) => !before.has(r.conn) && r.kind === 'event').length === 3,
  );
  const conn = proxyTap.records.find((r) => !before.has(r.conn));
  assert(conn.proto === 'sse' && conn.kind === 'open', JSON.stringify(conn));
});

await test('no errors in the page, and no error answers to the page that no test provoked', async () => {
  assert(pageErrors.length === 0, pageErrors.join('\n'));
  assert(httpErrors.length === 0, httpErrors.join('\n'));
});

// --- the end ----------------------------------------------------------------------------

pageServer.stop();
tlsPage.stop();
await proxyTap.stop();
await browser.close();
await server.stop();
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`screenshots: ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
