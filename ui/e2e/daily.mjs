#!/usr/bin/env node
// End-to-end: daily use. The rough edges of issue 15 (shortcut hints, the URL typo, the
// open row, the sender's note, panes at 1024 px, the "newer" button, a stopped server),
// the pane's options, the Δt column, curl import, the LLM view and the decoders, in
// headless Chromium against a real `sscope serve`. Same setup as run.mjs (its
// environment variables); screenshots go to e2e/artifacts/daily-*.png.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openUi } from './ui.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = join(here, '..');
const artifacts = join(here, 'artifacts');
const bin = process.env.SSCOPE_BIN || '/var/tmp/streamscope-target/debug/sscope';
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(artifacts, { recursive: true });

const {
  fatal,
  origin,
  host,
  uiUrl,
  stopServer,
  browser,
  context,
  page,
  pageErrors,
  httpErrors,
  expectHttpError,
  results,
  test,
  slug,
  assert,
  until,
  shot,
  panes,
  pane,
  rowsOf,
  stateOf,
  apiGet,
  connIdOf,
  lastSeqOf,
} = await openUi({ bin, chromiumPath, uiDir, artifacts });
console.log(`e2e daily: ${bin} serving ${origin}`);

await test('the Send button names Ctrl on Linux, as the top bar does', async () => {
  await page.goto(uiUrl);
  await panes().first().waitFor();
  const hint = await pane(0).getByTestId('send-hint').innerText();
  const top = await page.locator('header.top').innerText();
  assert(hint === 'Ctrl ↵', `send hint ${JSON.stringify(hint)}`);
  assert(top.includes('Ctrl ↵'), 'the top bar does not say Ctrl ↵');
});

await test('a URL with one slash after the scheme is flagged while typed and refused by the server', async () => {
  const p = pane(0);
  const url = p.locator('input.url');
  const good = await url.inputValue();
  await url.fill('ws:/127.0.0.1:9/x');
  const typo = p.getByTestId('url-typo');
  await typo.waitFor({ timeout: 3000 });
  assert((await typo.innerText()).includes('ws://127.0.0.1:9/x'), await typo.innerText());
  await shot('daily-url-typo-light');
  expectHttpError('POST', /^\/api\/connections$/, 400);
  await url.press('Enter');
  const err = p.locator('.error');
  await err.waitFor({ timeout: 5000 });
  assert(/did you mean/.test(await err.innerText()), await err.innerText());
  await err.getByRole('button', { name: 'Dismiss' }).click();
  await url.fill(good);
  assert((await typo.count()) === 0, 'the warning stays for a good URL');
});

let echo;
await test('an open row shows its status once', async () => {
  await page
    .locator('.top')
    .getByRole('button', { name: /WS pane/ })
    .click();
  echo = pane(2);
  await echo.locator('input.url').press('Enter');
  await until('echo open', async () => (await stateOf(echo)) === 'Open');
  const open = (await rowsOf(echo)).find((r) => r.kind === 'open');
  assert(open && open.note === '101', `open row ${JSON.stringify(open)}`);
  assert(!open.preview.includes('101'), `the status twice: ${open.note} ${open.preview}`);
});

await test('switching binary hex to base64 keeps the bytes and drops the "sent" note', async () => {
  await echo.getByRole('tab', { name: 'Binary' }).click();
  await echo.getByLabel('Binary message').fill('00 01 02 03 fe ff');
  await echo.locator('button.send').click();
  const status = echo.locator('.sender .status');
  await until('sent', async () => (await status.innerText()).includes('sent'), 3000);
  await echo.getByLabel('Binary encoding').selectOption('base64');
  const after = await status.innerText();
  assert(!after.includes('sent'), `still "${after}" after switching to base64`);
  const draft = await echo.getByLabel('Binary message').inputValue();
  assert(draft === 'AAECA/7/', `draft ${JSON.stringify(draft)}`);
  await echo.getByLabel('Binary encoding').selectOption('hex');
});

await test('the Δt column: since the frame above, or since the connection opened', async () => {
  const deltas = () => echo.locator('.viewport .row .c-delta').allInnerTexts();
  const header = echo.locator('button.c-delta');
  assert((await header.innerText()) === 'Δt prev', await header.innerText());
  let d = await deltas();
  // The first frame has none above it; each later one has a duration.
  assert(d[0] === '' && d.slice(1).every((x) => /^\d+(\.\d+)? (µs|ms|s)$/.test(x)), JSON.stringify(d));
  await header.click();
  assert((await header.innerText()) === 'Δt open', await header.innerText());
  await until('since open', async () => (await deltas())[0] === '0 µs');
  d = await deltas();
  const us = (x) => Number(x.split(' ')[0]) * { µs: 1, ms: 1e3, s: 1e6 }[x.split(' ')[1]];
  // Since the opening, the times only grow.
  assert(
    d.every((x, i) => i === 0 || us(x) >= us(d[i - 1])),
    JSON.stringify(d),
  );
  await shot('daily-delta-open-light');
  // The choice is the pane's and outlives a reload.
  await page.reload();
  await until('the pane after a reload', async () => (await echo.locator('button.c-delta').count()) === 1);
  assert((await echo.locator('button.c-delta').innerText()) === 'Δt open', 'the Δt mode was not kept');
  await echo.locator('button.c-delta').click();
  assert((await echo.locator('button.c-delta').innerText()) === 'Δt prev', 'Δt back to prev');
});

await test('three panes at 1024 px: the row says more panes lie beyond its edge', async () => {
  await page.setViewportSize({ width: 1024, height: 768 });
  const more = page.locator('button.more.right');
  await more.waitFor({ timeout: 3000 });
  assert(/1 more/.test(await more.innerText()), await more.innerText());
  await shot('daily-1024-light');
  await more.click();
  await page.locator('button.more.left').waitFor({ timeout: 3000 });
  await until('the third pane in view', async () => {
    const box = await pane(2).boundingBox();
    return box && box.x + box.width <= 1024;
  });
  await page.setViewportSize({ width: 1440, height: 900 });
  await until('no more buttons', async () => (await page.locator('button.more').count()) === 0);
});

/** The bodies of `POST /api/connections` the page sends, newest last. */
const openBodies = [];
page.on('request', (r) => {
  if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/connections') openBodies.push(r.postDataJSON());
});

await test('every option reaches the server; a POST stream that ends is not sent again', async () => {
  const p = pane(1);
  await p.locator('input.url').fill(`${origin}/demo/sse/chat?rate=200`);
  await p.getByLabel('HTTP method').selectOption('POST');
  await p.locator('.opts .summary').click();
  await p.getByRole('tab', { name: 'SSE' }).click();
  await p.locator('.opts textarea').fill('{"prompt": "hi"}');
  const onEnd = p.getByLabel('Reconnect after the server ends the stream');
  assert(!(await onEnd.isChecked()), 'reconnect after end is on for POST');
  assert(await p.getByLabel('Reconnect after a failure').isChecked(), 'reconnect after a failure is off');
  await p.getByRole('tab', { name: 'Limits' }).click();
  await p.getByLabel('Retry delay').fill('250');
  await p.getByLabel('Max attempts').fill('3');
  await p.getByLabel('Backoff').check();
  await p.getByLabel('Idle timeout').fill('20');
  await p.getByLabel('Max line size').fill('64 KiB');
  await p.getByLabel('Max event size').fill('2 MiB');
  await p.getByLabel('Connect timeout').fill('5');
  await shot('daily-options-sse-light');
  await p.locator('input.url').press('Enter');
  await until('the stream ended', async () => (await stateOf(p)) === 'Closed', 20_000);
  const body = openBodies.at(-1);
  for (const [k, v] of Object.entries({
    method: 'POST',
    retry_ms: 250,
    max_attempts: 3,
    backoff: true,
    idle_timeout_secs: 20,
    max_line: 65536,
    max_event: 2097152,
    connect_timeout_secs: 5,
  }))
    assert(body[k] === v, `${k}: ${JSON.stringify(body[k])} in ${JSON.stringify(body)}`);
  // Every record, not the rows in view.
  const kinds = await page.evaluate(
    async (id) => {
      const rows = await globalThis.sscope.records(id, 1, 10_000);
      return rows.map((r) => r.kind);
    },
    await connIdOf(1),
  );
  assert(kinds.filter((k) => k === 'open').length === 1, `opened again: ${kinds.join(' ')}`);
  assert(!kinds.includes('reconnect') && kinds.at(-1) === 'end', `kinds: ${kinds.join(' ')}`);
  await p.locator('.opts .summary').click();
});

await test('WebSocket limits in the pane: pong timeout, message and frame size', async () => {
  const p = pane(0);
  await p.locator('.opts .summary').click();
  await p.getByRole('tab', { name: 'WebSocket' }).click();
  await p.getByLabel('Pong timeout').fill('2');
  await p.locator('input.url').press('Enter');
  // Checked before a round trip: the pane names the control, beside it.
  await until('the pong refusal', async () => /Ping every/.test(await p.locator('.opts .err').innerText()));
  assert((await p.locator('.error').count()) === 0, 'the refusal also as a banner');
  await p.getByLabel('Ping interval').fill('3');
  await p.getByRole('tab', { name: 'Limits' }).click();
  await p.getByLabel('Max message size').fill('1 MiB');
  await p.getByLabel('Max frame size').fill('lots');
  await p.locator('input.url').press('Enter');
  await until('the size refusal', async () => /max frame/.test(await p.locator('.opts .err').innerText()));
  await p.getByLabel('Max frame size').fill('256k');
  await p.locator('input.url').press('Enter');
  await until('ws open', async () => (await stateOf(p)) === 'Open');
  const body = openBodies.at(-1);
  assert(
    body.pong_timeout_secs === 2 &&
      body.ping_interval_secs === 3 &&
      body.max_message === 1 << 20 &&
      body.max_frame === 262144,
    JSON.stringify(body),
  );
  await p.locator('button.connect', { hasText: 'Disconnect' }).click();
  await until('closed', async () => (await stateOf(p)) === 'Closed');
  await p.getByRole('tab', { name: 'WebSocket' }).click();
  await p.getByLabel('Ping interval').fill('');
  await p.getByLabel('Pong timeout').fill('');
  await p.locator('.opts .summary').click();
});

await test('an empty latency chart says nothing pings the peer, and one click pings every second', async () => {
  const rates = page.locator('.rates');
  await rates.getByRole('button', { name: 'Latency' }).click();
  // The echo pane is open and has never been pinged.
  const note = page.getByTestId('latency-note');
  await until('the note', async () => /ws\/echo/.test(await note.innerText()));
  await shot('daily-latency-unmeasured-light');
  await note.getByRole('button', { name: 'Ping every 1 s' }).click();
  await until('pings and pongs', async () => {
    const kinds = (await rowsOf(echo)).map((r) => r.kind);
    return kinds.includes('ping') && kinds.includes('pong');
  });
  await until(
    'the note gone for the echo pane',
    // allInnerTexts: the note may go between a count and a read.
    async () => !/ws\/echo/.test((await note.allInnerTexts()).join(' ')),
  );
  assert(
    (await echo.locator('.opts .summary').innerText()).includes('ping every 1 s'),
    'the pane will not ping next time',
  );
  await page.evaluate((id) => globalThis.sscope.api.stopRepeat(id), await connIdOf(2));
  await rates.getByRole('button', { name: 'Latency' }).click();
});

/** Pastes text into a pane's URL box as a user's Ctrl+V does. */
const paste = (p, text) =>
  p.locator('input.url').evaluate((el, text) => {
    const dt = new DataTransfer();
    dt.setData('text/plain', text);
    el.focus();
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, text);

await test('a pasted curl command fills in the pane, naming what it cannot carry', async () => {
  const p = pane(1);
  await p.locator('input.url').fill('');
  await paste(
    p,
    `curl -N -m 30 '${origin}/demo/sse/chat?rate=400' \\\n  -H 'Content-Type: application/json' \\\n  --header "Authorization: Bearer sk-test" \\\n  --data '{"prompt": "What is SSE?"}'`,
  );
  const note = p.getByTestId('imported');
  await note.waitFor({ timeout: 3000 });
  const text = await note.innerText();
  assert(/curl/.test(text) && /-m 30/.test(text) && /-N/.test(text), text);
  assert((await p.locator('input.url').inputValue()) === `${origin}/demo/sse/chat?rate=400`, 'url');
  assert((await p.getByLabel('HTTP method').inputValue()) === 'POST', 'method');
  await shot('daily-curl-import-light');
  const before = openBodies.length;
  await p.locator('input.url').press('Enter');
  await until('the stream ended', async () => (await stateOf(p)) === 'Closed', 20_000);
  const body = openBodies[before];
  assert(body.body === '{"prompt": "What is SSE?"}' && body.bearer === 'sk-test', JSON.stringify(body));
  assert(JSON.stringify(body.headers) === '[["Content-Type","application/json"]]', JSON.stringify(body.headers));
  await note.getByRole('button', { name: 'Dismiss' }).click();
});

await test('an LLM token stream: the answer assembled, time to first token, tokens per second', async () => {
  const p = pane(1);
  const llm = p.getByTestId('llm');
  await llm.waitFor({ timeout: 5000 });
  await until('done', async () => (await llm.innerText()).includes('done'));
  const text = await p.getByTestId('llm-text').innerText();
  // The answer the demo streamed, token by token, in one piece.
  const events = await page.evaluate(
    async (id) => {
      const rows = await globalThis.sscope.api.records(id, 1, 10_000);
      return rows.records.filter((r) => r.kind === 'event' && r.data !== '[DONE]').map((r) => JSON.parse(r.data).token);
    },
    await connIdOf(1),
  );
  assert(text === events.join('').trim() || text === events.join(''), `text ${JSON.stringify(text.slice(0, 80))}…`);
  const tokens = Number((await p.getByTestId('llm-tokens').innerText()).replace(/,/g, ''));
  assert(tokens === events.length, `${tokens} tokens for ${events.length} token events`);
  assert(/\d+ ms|\d\.\d+ s/.test(await p.getByTestId('llm-ttft').innerText()), 'no TTFT');
  assert(Number(await p.getByTestId('llm-rate').innerText()) > 0, 'no tokens/s');
  await shot('daily-llm-light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('daily-llm-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  // An ordinary ticker gets no answer panel.
  assert((await pane(2).getByTestId('llm').count()) === 0, 'the echo pane shows an answer');
});

await test('a wscat command typed into the URL box is read on Enter', async () => {
  const p = pane(0);
  await p.locator('input.url').fill(`wscat -c ${origin.replace('http', 'ws')}/demo/ws/echo -s chat.v1 -P`);
  await p.locator('input.url').press('Enter');
  await p.getByTestId('imported').waitFor({ timeout: 3000 });
  assert((await p.locator('input.url').inputValue()).endsWith('/demo/ws/echo'), 'url');
  assert((await p.locator('.opts .summary').innerText()).includes('subprotocol chat.v1'), 'subprotocol');
  await p.getByTestId('imported').getByRole('button', { name: 'Dismiss' }).click();
});

await test('decoders: GraphQL from the negotiated subprotocol; JSON-RPC, Socket.IO, STOMP, MessagePack by hand', async () => {
  const p = echo;
  await p.locator('button.connect', { hasText: 'Disconnect' }).click();
  await until('echo closed', async () => (await stateOf(p)) === 'Closed');
  await p.locator('.opts .summary').click();
  await p.getByRole('tab', { name: 'WebSocket' }).click();
  await p.getByLabel('Ping interval').fill('');
  await p.locator('.opts input[placeholder^="e.g. graphql"]').fill('graphql-transport-ws');
  await p.locator('.opts .summary').click();
  await p.locator('input.url').press('Enter');
  await until('echo open', async () => (await stateOf(p)) === 'Open');
  const select = p.getByLabel('Decode frames as');
  await until('auto picks GraphQL', async () =>
    /Auto: GraphQL/.test(await select.locator('option[value="auto"]').innerText()),
  );
  const sendText = async (text) => {
    await p.getByRole('tab', { name: 'Text' }).click();
    await p.getByLabel('Text message').fill(text);
    await p.locator('button.send').click();
  };
  const lastRows = async (n) => (await rowsOf(p)).slice(-n);
  await sendText('{"id":"1","type":"subscribe","payload":{"query":"subscription { ticks }"}}');
  await until('a decoded subscribe, both ways', async () => {
    const r = await lastRows(2);
    return r.length === 2 && r.every((x) => x.note === 'subscribe' && x.preview === '#1 subscription { ticks }');
  });

  await select.selectOption('jsonrpc');
  await sendText('{"jsonrpc":"2.0","id":7,"method":"sum","params":[1,2]}');
  await until('the request echoed', async () => (await lastRows(1))[0]?.preview === 'sum #7 [1,2]');
  await sendText('{"jsonrpc":"2.0","id":7,"result":3}');
  // Our result answers the echoed request; the echo of it answers ours: both with times.
  await until('results matched with round trips', async () => {
    const r = await lastRows(2);
    return r.length === 2 && r.every((x) => /^result \d+(\.\d)? (µs|ms)$/.test(x.note) && x.preview === '#7 3');
  });
  await p.locator('.viewport .row', { hasText: '#7 3' }).last().click();
  const decoded = p.getByTestId('decoded');
  await decoded.waitFor({ timeout: 3000 });
  assert(
    /round trip/.test(await decoded.innerText()) && /answers sum/.test(await decoded.innerText()),
    await decoded.innerText(),
  );
  await shot('daily-decoder-jsonrpc-light');
  await p.getByRole('button', { name: 'Close detail' }).click();

  await select.selectOption('socketio');
  await sendText('42["chat",{"text":"hi"}]');
  await until('a Socket.IO event', async () => {
    const r = (await lastRows(1))[0];
    return r?.note === 'EVENT' && r.preview === 'chat [{"text":"hi"}]';
  });

  await select.selectOption('stomp');
  await sendText('SEND\ndestination:/queue/orders\ncontent-type:text/plain\n\nbuy 3');
  await until('a STOMP frame', async () => {
    const r = (await lastRows(1))[0];
    return r?.note === 'SEND' && r.preview === '/queue/orders buy 3';
  });

  await select.selectOption('msgpack');
  await p.getByRole('tab', { name: 'Binary' }).click();
  await p.getByLabel('Binary encoding').selectOption('hex');
  await p.getByLabel('Binary message').fill('83a26f70a57472616465a27078cb4059600000000000a371747903');
  await p.locator('button.send').click();
  await until('a MessagePack map', async () => {
    const r = (await lastRows(1))[0];
    return r?.note === 'map(3)' && r.preview === '{"op":"trade","px":101.5,"qty":3}';
  });
  await p.locator('.viewport .row', { hasText: '"op":"trade"' }).last().click();
  await until('the decoded fields', async () => /qty/.test(await p.getByTestId('decoded').innerText()));
  await shot('daily-decoder-msgpack-light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('daily-decoder-msgpack-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await p.getByRole('button', { name: 'Close detail' }).click();
  // No decoding: the rows as they came.
  await select.selectOption('none');
  await until('raw rows', async () => (await lastRows(1))[0]?.note === '');
  await select.selectOption('auto');
});

await test('no errors in the page so far, and no error answers no test provoked', async () => {
  assert(pageErrors.length === 0, pageErrors.join('\n'));
  assert(httpErrors.length === 0, httpErrors.join('\n'));
});

// Last: it stops the server.
await test('a stopped server: one line above the charts, none in the status line', async () => {
  await pane(0).locator('button.connect').click();
  await until('ws open', async () => (await stateOf(pane(0))) === 'Open');
  await page.locator('[data-testid="chart-events"] img').waitFor();
  stopServer();
  await until('the page knows', async () => !(await page.locator('.live').innerText()).includes('Live'));
  await until('the charts say it', async () => (await page.locator('.chart-error').count()) === 1, 15_000);
  assert((await page.locator('.charts .err').count()) === 0, 'a banner under a chart');
  assert((await page.locator('.status .err').count()) === 0, 'error text in the status line');
  const line = await page.locator('.chart-error').innerText();
  assert(/not reachable/.test(line), line);
  await shot('daily-server-stopped-light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('daily-server-stopped-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

// --- done -------------------------------------------------------------------------------

await browser.close();
stopServer();
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
