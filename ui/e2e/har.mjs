#!/usr/bin/env node
// HAR import against a HAR no one here wrote: Playwright's `recordHar` in Debian's Chromium.
//
//   SSCOPE_BIN=/path/to/sscope node e2e/har.mjs   (default /var/tmp/streamscope-target/debug/sscope)
//   CHROMIUM=/usr/bin/chromium                    (default; never downloads a browser)
//
// Starts `sscope serve`, opens a page on its origin with `recordHar` on the browser
// context, and in the page talks to the demo echo WebSocket (text both ways, a binary
// message, a close with a code and reason) and reads the demo SSE ticker with
// `EventSource`. When the context closes, Playwright writes the HAR (WebSocket messages
// with times in epoch milliseconds); `sscope convert` turns it into records, which must
// hold every message the page sent and received, in order, with times inside the run,
// `seq` 1, 2, 3 … and the contract's fields. The HAR and the records stay in
// e2e/artifacts/ for a look. Prints one line per test and `N passed, N failed`; exits 1
// on failure.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServe } from './serve.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
const bin = process.env.SSCOPE_BIN || '/var/tmp/streamscope-target/debug/sscope';
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(artifacts, { recursive: true });
const harPath = join(artifacts, 'playwright.har');
const ndjsonPath = join(artifacts, 'playwright.ndjson');
for (const f of [harPath, ndjsonPath]) rmSync(f, { force: true });

function fatal(msg) {
  console.error(`har: ${msg}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
if (!existsSync(bin)) fatal(`no sscope binary at ${bin}; build it (cargo build -p sscope) or set SSCOPE_BIN`);
if (!existsSync(chromiumPath)) fatal(`no Chromium at ${chromiumPath}; install it (apt install chromium)`);

let passed = 0;
let failed = 0;
async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(
      `FAIL ${name}\n     ${String(e?.stack || e)
        .split('\n')
        .join('\n     ')}`,
    );
  }
}
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const { uiUrl, stop } = await startServe(bin).catch((e) => fatal(e.message));
const origin = new URL(uiUrl).origin;
const wsOrigin = origin.replace(/^http/, 'ws');
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
const before = Date.now();
let inPage;
try {
  const context = await browser.newContext({ recordHar: { path: harPath, content: 'embed' } });
  const page = await context.newPage();
  // A page of the server's own origin that opens no sockets of its own, so the demo
  // endpoints accept the page's Origin.
  await page.goto(`${origin}/demo`);
  inPage = await page.evaluate(
    async ({ wsUrl, sseUrl, fetchUrl }) => {
      const deadline = (ms, what) =>
        new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms));
      const ws = new WebSocket(wsUrl);
      ws.binaryType = 'arraybuffer';
      const received = [];
      const echoed = new Promise((resolve) => {
        ws.onmessage = (m) => {
          received.push(typeof m.data === 'string' ? m.data : [...new Uint8Array(m.data)]);
          if (received.length === 3) resolve();
        };
      });
      await Promise.race([new Promise((r) => (ws.onopen = r)), deadline(5000, 'open')]);
      ws.send('hello');
      ws.send('wörld ✓');
      ws.send(new Uint8Array([1, 2, 3, 255]));
      await Promise.race([echoed, deadline(5000, 'echoes')]);
      const closed = new Promise((r) => (ws.onclose = (e) => r({ code: e.code, reason: e.reason })));
      ws.close(4000, 'done');
      const close = await Promise.race([closed, deadline(5000, 'close')]);

      const es = new EventSource(sseUrl);
      const events = [];
      await Promise.race([
        new Promise((resolve) => {
          es.addEventListener('tick', (e) => {
            events.push({ data: e.data, id: e.lastEventId });
            if (events.length === 3) resolve();
          });
        }),
        deadline(5000, 'sse'),
      ]);
      es.close();
      // The same stream read whole with fetch: the server ends it after `count`, so the
      // HAR holds its raw event-stream body.
      const body = await Promise.race([fetch(fetchUrl).then((r) => r.text()), deadline(5000, 'fetch')]);
      return { received, close, events, body };
    },
    {
      wsUrl: `${wsOrigin}/demo/ws/echo`,
      sseUrl: `${origin}/demo/sse/ticker?rate=50&count=3`,
      fetchUrl: `${origin}/demo/sse/ticker?rate=50&count=4&event=fetched`,
    },
  );
  // Closing the context writes the HAR.
  await context.close();
} catch (e) {
  await browser.close();
  stop();
  fatal(`recording the HAR failed: ${e?.stack || e}`);
}
await browser.close();
const after = Date.now();

let records = [];
let said = '';
await test('sscope convert reads the HAR Playwright recorded', async () => {
  check(existsSync(harPath), `Playwright wrote no HAR at ${harPath}`);
  const har = JSON.parse(readFileSync(harPath, 'utf8'));
  const wsEntry = har.log.entries.find((e) => e._resourceType === 'websocket');
  check(wsEntry, 'the HAR has no websocket entry');
  // The premise of telling units apart: Playwright writes milliseconds.
  const t = wsEntry._webSocketMessages?.[0]?.time;
  check(t > 1e11, `Playwright's message time ${t} is not epoch milliseconds`);
  try {
    execFileSync(bin, ['convert', harPath, '-o', ndjsonPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`sscope convert failed (exit ${e.status}): ${e.stderr}`);
  }
  records = readFileSync(ndjsonPath, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l));
  said = spawnSync(bin, ['convert', harPath, '-o', '-'], { encoding: 'utf8' }).stderr;
});

await test('every record follows the contract: seq 1, 2, 3 … per conn, times inside the run', async () => {
  check(records.length > 0, 'no records');
  const last = new Map();
  for (const r of records) {
    const due = (last.get(r.conn) ?? 0) + 1;
    check(r.seq === due, `seq ${r.seq} on ${r.conn} where ${due} was due`);
    last.set(r.conn, r.seq);
    check(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(r.t), `t ${r.t} is not RFC 3339 with microseconds`);
    const ms = Date.parse(r.t);
    // Milliseconds read as seconds would land in the year 57,000; seconds as
    // milliseconds in 1970.
    check(
      ms >= before - 1000 && ms <= after + 1000,
      `t ${r.t} is outside the run (${new Date(before).toISOString()} …)`,
    );
    if (['text', 'comment', 'event'].includes(r.kind)) {
      check(r.size === Buffer.byteLength(r.data), `size ${r.size} of ${JSON.stringify(r.data)}`);
    }
  }
});

await test('the WebSocket connection holds every message the page sent and received', async () => {
  const ws = records.filter((r) => r.proto === 'ws');
  check(ws.length > 0, `no WebSocket connection in ${JSON.stringify(records)}`);
  check(ws[0].kind === 'open' && ws[0].status === 101, `first record ${JSON.stringify(ws[0])}`);
  const shown = ws
    .slice(1)
    .map((r) =>
      r.kind === 'text'
        ? `${r.dir} text ${r.data}`
        : r.kind === 'binary'
          ? `${r.dir} binary ${r.data_b64}`
          : `${r.dir} ${r.kind}`,
    );
  const want = ['out text hello', 'out text wörld ✓', `out binary ${Buffer.from([1, 2, 3, 255]).toString('base64')}`];
  check(
    JSON.stringify(shown.filter((s) => s.startsWith('out ') && !s.endsWith('close'))) === JSON.stringify(want),
    `sent: ${JSON.stringify(shown)}`,
  );
  const echoes = shown.filter((s) => s.startsWith('in ') && !s.endsWith('close'));
  check(
    JSON.stringify(echoes) === JSON.stringify(want.map((s) => s.replace(/^out/, 'in'))),
    `received: ${JSON.stringify(shown)}; the page saw ${JSON.stringify(inPage.received)}`,
  );
  // Times keep the order the frames went in.
  for (let i = 1; i < ws.length; i++) check(ws[i].t >= ws[0].t, `${ws[i].t} before the open ${ws[0].t}`);
  check(said.includes('/demo/ws/echo'), `stderr does not name the connection's URL: ${said}`);
});

await test('a fetched event-stream body becomes SSE records through our parser', async () => {
  // The page read the body as text; its `data:` lines are what the events must carry.
  const sent = inPage.body
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).replace(/^ /, ''));
  check(sent.length === 4, `the fetched body: ${JSON.stringify(inPage.body)}`);
  const conn = records.find((r) => r.proto === 'sse' && r.kind === 'event' && r.event === 'fetched')?.conn;
  check(conn, `no SSE connection with the fetched events: ${said}`);
  const sse = records.filter((r) => r.conn === conn);
  check(sse[0].kind === 'open' && sse[0].status === 200, `first record ${JSON.stringify(sse[0])}`);
  const events = sse.filter((r) => r.kind === 'event');
  check(JSON.stringify(events.map((e) => e.data)) === JSON.stringify(sent), `events ${JSON.stringify(events)}`);
  check(
    events.every((e) => e.id),
    `events without ids: ${JSON.stringify(events)}`,
  );
});

await test('the page saw what the records say', async () => {
  check(inPage.close.code === 4000 && inPage.close.reason === 'done', `page close ${JSON.stringify(inPage.close)}`);
  check(inPage.events.length === 3, `page events ${JSON.stringify(inPage.events)}`);
});

stop();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
