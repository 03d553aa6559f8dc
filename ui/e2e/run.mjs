#!/usr/bin/env node
// End-to-end: the built UI in headless Chromium against a real `sscope serve`.
//
//   SSCOPE_BIN=/path/to/sscope npm run e2e      (default /var/tmp/streamscope-target/debug/sscope)
//   CHROMIUM=/usr/bin/chromium                  (default; never downloads a browser)
//   E2E_SKIP_BUILD=1                            (use ui/dist as it is)
//   E2E_UI_DIR=ui/dist                          (this built UI, not the one the binary
//                                                was built beside: serve.mjs serveUiFrom)
//
// Builds the UI (the server serves ui/dist, read per request), starts the server on a
// free port, reads the UI URL with its token from the server's stdout, and drives the
// page: the demo WebSocket and SSE tickers, the echo demo with every send kind, filters,
// pause, disconnect, export, the server's repeat, connections no pane shows, scroll-back
// through a large recording. Screenshots go to e2e/artifacts/. Prints one line per test
// and `N passed, N failed`; exits 1 on failure.

import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createServer as createHttpsServer } from 'node:https';
import { fileURLToPath } from 'node:url';
import { openUi } from './ui.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = join(here, '..');
const artifacts = join(here, 'artifacts');
const bin = process.env.SSCOPE_BIN || '/var/tmp/streamscope-target/debug/sscope';
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(artifacts, { recursive: true });
for (const f of readdirSync(artifacts)) if (/\.(png|ndjson)$/.test(f)) rmSync(join(artifacts, f));

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
console.log(`e2e: ${bin} serving ${origin}, Chromium ${chromiumPath}`);

await test('opens with a WebSocket and an SSE pane on the demo tickers, token out of the address bar', async () => {
  await page.goto(uiUrl);
  await panes().first().waitFor();
  assert((await panes().count()) === 2, `expected 2 panes, got ${await panes().count()}`);
  assert((await pane(0).getAttribute('data-proto')) === 'ws', 'first pane is not WS');
  assert((await pane(1).getAttribute('data-proto')) === 'sse', 'second pane is not SSE');
  assert((await pane(0).locator('input.url').inputValue()) === `ws://${host}/demo/ws/ticker`, 'WS pane URL');
  assert((await pane(1).locator('input.url').inputValue()) === `http://${host}/demo/sse/ticker`, 'SSE pane URL');
  assert(!page.url().includes('token='), `token still in the address bar: ${page.url()}`);
  // Cookies are shared by every port of 127.0.0.1: the token must not be in one.
  const cookies = await page.context().cookies();
  assert(cookies.length === 0, `the page got cookies: ${cookies.map((c) => c.name)}`);
  await until('the live link', async () => (await page.locator('.live').innerText()).includes('Live'));
  await shot('01-start-light');
});

await test('one click on Connect: WebSocket ticker frames flow', async () => {
  await pane(0).locator('button.connect').click();
  await until('Open state', async () => (await stateOf(pane(0))) === 'Open');
  const rows = await until('3 text frames', async () => {
    const r = await rowsOf(pane(0));
    return r.filter((x) => x.kind === 'text' && x.dir === 'in').length >= 3 && r;
  });
  assert(rows[0].kind === 'open', `first row is ${rows[0].kind}, not open`);
  assert(/"n":1,/.test(rows[1].preview), `first tick preview: ${rows[1].preview}`);
  const time = await pane(0).locator('.row .c-time').first().innerText();
  assert(/^\d\d:\d\d:\d\d\.\d\d\d$/.test(time), `time is not HH:MM:SS.mmm: ${time}`);
});

await test('SSE ticker: named events with ids, and their fields in the detail', async () => {
  await pane(1).locator('button.connect').click();
  const rows = await until('3 tick events', async () => {
    const r = await rowsOf(pane(1));
    return r.filter((x) => x.kind === 'event').length >= 3 && r;
  });
  const events = rows.filter((x) => x.kind === 'event');
  events.forEach((e, i) => assert(e.note === `tick #${i + 1}`, `event ${i}: note ${e.note}`));
  await pane(1).locator('.viewport .row', { hasText: 'tick #2' }).click();
  const detail = pane(1).locator('.detail');
  await until('the event detail', async () => (await detail.innerText()).includes('event'));
  const text = await detail.innerText();
  assert(/event\s+tick/.test(text) && /id\s+2/.test(text), `detail lacks event/id: ${text}`);
  assert(text.includes('"sent_at"'), 'JSON tree missing');
  // The demo streams chunked HTTP/1.1: the event's chunk framing beside its stream bytes.
  const wire = await detail.locator('[data-testid=wire]').innerText();
  assert(/On the wire[\s\S]*B, \+ \d+ B chunk framing/.test(wire), `no chunk framing in the detail: ${wire}`);
  await detail.screenshot({ path: join(artifacts, 'sse-detail-framing.png') });
  await shot('02-tickers-light');
});

await test('the list follows, stops when scrolled up, and resumes on request', async () => {
  const list = pane(0).locator('.viewport');
  // More rows than the list shows (it has a scrollbar), and some to scroll back through.
  await until('enough rows to scroll', async () => (await pane(0).locator('.track').count()) > 0);
  // Rows above the first shown, for the wheel to scroll back to.
  const shown = (await rowsOf(pane(0))).length;
  await until('rows to scroll back through', async () => (await lastSeqOf(0)) >= shown + 5);
  await list.hover();
  await page.mouse.wheel(0, -400);
  const follow = pane(0).locator('button.follow');
  await follow.waitFor({ timeout: 3000 });
  const before = (await rowsOf(pane(0)))[0].seq;
  // Not a pause: more records must arrive, and the list still shows the same rows.
  const seq = await lastSeqOf(0);
  await until('three more records', async () => (await lastSeqOf(0)) >= seq + 3);
  const after = (await rowsOf(pane(0)))[0].seq;
  assert(before === after, `the list moved while scrolled up (${before} → ${after})`);
  // The button sits below the rows: no visible row is under it (it once floated over the
  // end of the last one).
  const covered = await pane(0).evaluate((el) => {
    const b = el.querySelector('button.follow').getBoundingClientRect();
    const vp = el.querySelector('.viewport').getBoundingClientRect();
    return [...el.querySelectorAll('.viewport .row')].filter((r) => {
      const x = r.getBoundingClientRect();
      const top = Math.max(x.top, vp.top);
      const bottom = Math.min(x.bottom, vp.bottom);
      return bottom - top > 1 && b.top < bottom && b.bottom > top && b.left < x.right && b.right > x.left;
    }).length;
  });
  assert(covered === 0, `the "newer" button covers ${covered} visible row(s)`);
  await follow.click();
  await until('following again', async () => (await follow.count()) === 0);
});

await test('pause freezes the view while the connection keeps recording', async () => {
  const p = pane(1);
  await p.getByRole('button', { name: /Pause/ }).click();
  const frozen = await rowsOf(p);
  await until('held-back frames', async () => /Resume\s+\+\d+/.test(await p.locator('.toolbar').innerText()), 5000);
  const still = await rowsOf(p);
  assert(frozen.at(-1).seq === still.at(-1).seq, 'rows changed while paused');
  assert((await stateOf(p)) === 'Open', 'connection not open while paused');
  await p.getByRole('button', { name: /Resume/ }).click();
  await until('new rows after resume', async () => (await rowsOf(p)).at(-1).seq > still.at(-1).seq);
});

// The charts are pictures the server draws; read the one an <img> shows.
const BLUE = '#2563EB';
const ORANGE = '#EA580C';
async function shownSvg(img) {
  // The page's CSP keeps fetch() off blob: URLs; ask the server again for the path the
  // shown picture was drawn from, with the token the page keeps (there is no cookie).
  const path = await img.locator('xpath=..').getAttribute('data-path');
  if (!path) throw new Error('no picture shown yet');
  return page.evaluate(
    async (p) =>
      (await fetch(p, { headers: { authorization: `Bearer ${sessionStorage.getItem('sscope.token')}` } })).text(),
    path,
  );
}
const linesIn = (svg) =>
  svg
    .split('<polyline')
    .slice(1)
    .map((p) => /stroke="(#[0-9A-Fa-f]{6})"/.exec(p)?.[1])
    .filter(Boolean);
const chartImg = (metric) => page.locator(`[data-testid=chart-${metric}] img`);
const framesOf = async (metric) =>
  Number(await page.locator(`[data-testid=chart-${metric}]`).getAttribute('data-frames'));

await test('rate charts: events/s and bytes/s of both panes, named, in the legend colours, redrawn live', async () => {
  const events = await until(
    'both lines in the events chart',
    async () => {
      const svg = await shownSvg(chartImg('events'));
      const lines = linesIn(svg);
      return lines.includes(BLUE) && lines.includes(ORANGE) && svg;
    },
    15_000,
  );
  // The live picture is compact: the page's legend strip names the panes.
  assert(!events.includes('<title>ws/ticker</title>'), 'the live chart repeats the legend');
  const legend = await page.locator('.rates .legend').innerText();
  assert(legend.includes('ws/ticker') && legend.includes('sse/ticker'), `legend strip: ${legend}`);
  assert(events.includes('<title>Events per second, in + out</title>'), 'not the events panel');
  assert(!events.includes('<title>Payload bytes'), 'events chart has a bytes panel');
  const bytes = await shownSvg(chartImg('bytes'));
  assert(bytes.includes('<title>Payload bytes per second, in + out</title>'), 'no bytes chart');
  assert(linesIn(bytes).length === 2, `bytes chart lines: ${linesIn(bytes)}`);
  // The picture is as wide as the page gives it, drawn at that size (not scaled).
  const box = await chartImg('events').boundingBox();
  const w = Number(/width="(\d+)"/.exec(events)?.[1]);
  assert(Math.abs(box.width - w) <= 1 && w > 500, `img ${box.width} px, svg ${w} px`);
  // The legend strip's swatches are the lines' colours.
  const swatches = await page
    .locator('.rates .legend .swatch')
    .evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor));
  assert(swatches[0] === 'rgb(37, 99, 235)' && swatches[1] === 'rgb(234, 88, 12)', `swatches ${swatches}`);
  // Redrawn as records arrive: three more pictures, new images, while the recordings
  // grow. Counted, not timed: the deadline is only a backstop for a chart that stopped.
  const before = await framesOf('events');
  const seqBefore = await lastSeqOf(0);
  const images = new Set([await chartImg('events').getAttribute('src')]);
  await until(
    'three more pictures of the events chart',
    async () => {
      images.add(await chartImg('events').getAttribute('src'));
      return (await framesOf('events')) >= before + 3 && images.size >= 3;
    },
    20_000,
  );
  assert((await lastSeqOf(0)) > seqBefore, 'redrawn, but no new records arrived');
  // Each pane's status line has its own line, in its colour.
  const spark = await until('the WS sparkline', async () => {
    const svg = await shownSvg(pane(0).locator('[data-testid=sparkline] img'));
    return svg.includes('<polyline') && svg;
  });
  assert(linesIn(spark)[0] === BLUE, `WS sparkline colour ${linesIn(spark)}`);
  const sseSpark = await shownSvg(pane(1).locator('[data-testid=sparkline] img'));
  assert(sseSpark.includes(`stroke="${ORANGE}"`), 'SSE sparkline is not orange');
  await shot('03-charts-light');
});

await test('charts: leave a pane out, rename one, show latency, fold, export PNG and SVG', async () => {
  const sseItem = page.locator('.rates .legend .item', { hasText: 'sse/ticker' });
  await sseItem.click();
  assert((await sseItem.getAttribute('aria-pressed')) === 'false', 'legend item still pressed');
  await until('only the WS line', async () => {
    const l = linesIn(await shownSvg(chartImg('events')));
    return l.length === 1 && l[0] === BLUE;
  });
  await sseItem.click();
  await until('both lines again', async () => linesIn(await shownSvg(chartImg('events'))).length === 2);

  const name = pane(0).getByLabel('Pane name');
  await name.fill('Prices');
  await name.press('Enter');
  await until('the new name in the legend strip', async () =>
    (await page.locator('.rates .legend').innerText()).includes('Prices'),
  );

  await page.locator('.rates').getByRole('button', { name: 'Latency' }).click();
  await until('a latency chart', async () => (await chartImg('latency').count()) === 1);
  await page.locator('.rates').getByRole('button', { name: 'Latency' }).click();
  await until('no latency chart', async () => (await chartImg('latency').count()) === 0);

  // Bytes on the wire beside the payload's: both panes' lines, under their own title.
  await page.locator('.rates').getByRole('button', { name: 'Wire bytes/s' }).click();
  const wire = await until(
    'both lines in the wire chart',
    async () => {
      const svg = await shownSvg(chartImg('wire'));
      return linesIn(svg).length === 2 && svg;
    },
    15_000,
  );
  assert(/<title>(Bytes on the wire per second|Wire bytes\/s)/.test(wire), 'not the wire panel');
  await page.locator('.rates').screenshot({ path: join(artifacts, 'rates-wire.png') });
  await page.locator('.rates').getByRole('button', { name: 'Wire bytes/s' }).click();
  await until('no wire chart', async () => (await chartImg('wire').count()) === 0);

  const save = async (format) => {
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('.rates').getByRole('button', { name: format.toUpperCase() }).click(),
    ]);
    assert(
      new RegExp(`^streamscope-rates-\\d{8}-\\d{6}\\.${format}$`).test(dl.suggestedFilename()),
      `file name ${dl.suggestedFilename()}`,
    );
    const path = join(artifacts, `chart.${format}`);
    await dl.saveAs(path);
    return readFileSync(path);
  };
  const png = await save('png');
  assert(png.subarray(1, 4).toString() === 'PNG', 'not a PNG');
  // IHDR: width and height, big-endian, at bytes 16 and 20.
  const [pw, ph] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  assert(pw === 1200 && ph === 540, `PNG is ${pw}×${ph}, not 1200×540 (two panels)`);
  const svg = (await save('svg')).toString();
  // The export is the full chart: title, legend with the pane names (the renamed one too).
  assert(svg.startsWith('<svg') && svg.includes('<title>Prices</title>'), 'SVG export lacks the new name');
  assert(svg.includes('<title>sse/ticker</title>'), 'SVG export lacks the SSE pane');
  assert(svg.includes('<title>Events/s · Bytes/s</title>'), 'SVG export lacks its title');
  assert(svg.includes('<title>Payload bytes per second, in + out</title>'), 'SVG export lacks bytes');
  assert(linesIn(svg).length === 4, `export lines: ${linesIn(svg)}`);

  const fold = page.locator('.rates button.fold');
  await fold.click();
  await until('charts folded', async () => (await chartImg('events').count()) === 0);
  assert((await fold.getAttribute('aria-expanded')) === 'false', 'fold not reported');
  await fold.click();
  await chartImg('events').waitFor();
});

await test('disconnect closes the WebSocket with a close handshake', async () => {
  const p = pane(0);
  await p.locator('button.connect', { hasText: 'Disconnect' }).click();
  await until('Closed state', async () => (await stateOf(p)) === 'Closed');
  const rows = await rowsOf(p);
  const closes = rows.filter((r) => r.kind === 'close');
  assert(
    closes.some((r) => r.dir === 'out' && r.note === '1000'),
    'no out close 1000',
  );
  assert(
    closes.some((r) => r.dir === 'in'),
    'no close reply from the peer',
  );
  await p.locator('button.connect', { hasText: 'Connect' }).waitFor();
});

let echo;
await test('echo demo: text, JSON, binary and ping are sent and echoed', async () => {
  await page
    .locator('.top')
    .getByRole('button', { name: /WS pane/ })
    .click();
  assert((await panes().count()) === 3, 'no third pane');
  echo = pane(2);
  assert(
    (await echo.locator('input.url').inputValue()).endsWith('/demo/ws/echo'),
    'new WS pane is not on the echo demo',
  );
  await echo.locator('input.url').press('Enter');
  await until('echo open', async () => (await stateOf(echo)) === 'Open');

  // Text, sent with Ctrl+Enter.
  const text = echo.getByLabel('Text message');
  await text.fill('e2e hello');
  await text.press('Control+Enter');
  await until('text echoed', async () => {
    const r = (await rowsOf(echo)).filter((x) => x.preview === 'e2e hello');
    return r.some((x) => x.dir === 'out') && r.some((x) => x.dir === 'in');
  });

  // JSON: invalid is refused inline, valid goes out.
  await echo.getByRole('tab', { name: 'JSON' }).click();
  const json = echo.getByLabel('JSON message');
  await json.fill('{"a": 1,, }');
  const status = echo.locator('.sender .status');
  await until('inline JSON error', async () => /Not valid JSON — line 1, column 9/.test(await status.innerText()));
  assert(await echo.locator('button.send').isDisabled(), 'Send enabled for invalid JSON');
  await json.fill('{"op": "e2e", "n": [1, 2, 3]}');
  await until('valid JSON', async () => (await status.innerText()).includes('valid JSON'));
  await echo.locator('button.send').click();
  await until(
    'JSON echoed',
    async () => (await rowsOf(echo)).filter((x) => x.preview.includes('"op": "e2e"')).length === 2,
  );

  // Binary as hex.
  await echo.getByRole('tab', { name: 'Binary' }).click();
  await echo.getByLabel('Binary message').fill('de ad be ef 00 01');
  await echo.locator('button.send').click();
  await until(
    'binary echoed',
    async () =>
      (await rowsOf(echo)).filter((x) => x.kind === 'binary' && x.preview === 'de ad be ef 00 01').length === 2,
  );

  // Binary as base64: the same bytes go out.
  await echo.getByLabel('Binary encoding').selectOption('base64');
  await echo.getByLabel('Binary message').fill('AP8Qfw==');
  await echo.locator('button.send').click();
  await until(
    'base64 binary echoed',
    async () => (await rowsOf(echo)).filter((x) => x.kind === 'binary' && x.preview === '00 ff 10 7f').length === 2,
  );
  await echo.getByLabel('Binary encoding').selectOption('hex');

  // Ping with a payload: the pong answers with it.
  await echo.getByRole('tab', { name: 'Ping' }).click();
  await echo.getByLabel('Ping payload', { exact: true }).fill('are you there');
  await echo.locator('button.send').click();
  await until('pong', async () =>
    (await rowsOf(echo)).some((x) => x.kind === 'pong' && x.preview === '"are you there"'),
  );

  // The JSON message in the detail: a tree whose objects fold and unfold.
  await echo.locator('.viewport .row', { hasText: '"op": "e2e"' }).last().click();
  const tree = echo.locator('.detail');
  await until('the JSON tree', async () => (await tree.innerText()).includes('"op"'));
  const nested = tree.locator('button.toggle[aria-expanded="true"]').nth(1);
  await nested.click();
  await until('the array folded', async () => !(await tree.innerText()).match(/\b2,\s*\n?\s*3\b/));
  assert((await tree.locator('button.toggle[aria-expanded="false"]').count()) === 1, 'nothing folded');
  await tree.locator('button.toggle[aria-expanded="false"]').click();
  await until('unfolded', async () => (await tree.locator('button.toggle[aria-expanded="false"]').count()) === 0);

  // The binary frame in the detail: hex dump and text.
  await echo.locator('.viewport .row', { hasText: 'de ad be ef' }).first().click();
  await until('hex dump', async () => (await echo.locator('.detail .dump').innerText()).includes('de ad be ef 00 01'));
  await shot('03-echo-binary-light');
});

await test('the server repeats every N ms, survives a reload, stops on Stop, and stops by itself after N', async () => {
  await echo.getByRole('tab', { name: 'Text' }).click();
  await echo.getByLabel('Text message').fill('tick-tock');
  await echo.locator('.repeat input[type=checkbox]').check();
  // Slow enough that the frame list stays within one screen for the filter test below.
  await echo.getByLabel('Repeat interval in milliseconds').fill('400');
  await echo.locator('button.send').click();
  await until(
    'repeating',
    async () => /repeating every 400 ms — sent [2-9]/.test(await echo.locator('.sender .status').innerText()),
    5000,
  );
  // The server runs it: a reloaded page shows it running, with a Stop that works.
  await page.reload();
  await until('the echo pane back', async () => (await panes().count()) === 3);
  echo = pane(2);
  await echo.locator('button.send', { hasText: 'Stop' }).waitFor({ timeout: 5000 });
  assert(/repeating every 400 ms — sent \d+/.test(await echo.locator('.sender .status').innerText()), 'no progress');
  await echo.locator('button.send', { hasText: 'Stop' }).click();
  const sentOut = () =>
    page.evaluate(() => {
      const app = globalThis.sscope;
      const ring = app.store.get(app.panes[2].connId).ring;
      let n = 0;
      for (let i = 0; i < ring.length; i++) if (ring.dirAt(i) === 1 && ring.previewAt(i) === 'tick-tock') n++;
      return n;
    });
  // What the server recorded as sent: its search of the whole recording.
  const sentByServer = async () =>
    (await apiGet(`/api/connections/${await connIdOf(2)}/search?q=tick-tock&kinds=text&dir=out&limit=10000`)).matches
      .length;
  const repeating = async () => (await apiGet('/api/connections')).some((c) => c.repeat);
  // Stopped once the server no longer lists the repeat; from then on its count is final,
  // and the page shows exactly that many.
  await until('the server lists no repeat', async () => !(await repeating()));
  const sent = await sentByServer();
  assert(sent >= 2, `only ${sent} repeated sends`);
  await until(`the page showing the ${sent} sent`, async () => (await sentOut()) === sent);
  // Something sent after Stop would come before this frame's echo.
  await echo.getByLabel('Text message').fill('after stop');
  await echo.locator('.repeat input[type=checkbox]').uncheck();
  await echo.locator('button.send').click();
  await until('the echo after Stop', async () =>
    (await rowsOf(echo)).some((x) => x.dir === 'in' && x.preview === 'after stop'),
  );
  assert((await sentByServer()) === sent, `still sending after Stop (${sent} → ${await sentByServer()})`);

  // With a count: exactly that many, then the button is Start again. (The reload reset
  // the form; the server kept only the repeat.)
  await echo.getByLabel('Text message').fill('tick-tock');
  if (!(await echo.locator('.repeat input[type=checkbox]').isChecked()))
    await echo.locator('.repeat input[type=checkbox]').check();
  await echo.getByLabel('Repeat interval in milliseconds').fill('20');
  await echo.getByLabel('Repeat count (empty: until stopped)').fill('2');
  await echo.locator('button.send').click();
  await until('two more sent', async () => (await sentOut()) === sent + 2, 5000);
  await echo.locator('button.send', { hasText: 'Start' }).waitFor({ timeout: 5000 });
  // Finished by itself: the server lists no repeat, and recorded exactly two more.
  await until('the counted repeat finished', async () => !(await repeating()));
  assert((await sentByServer()) === sent + 2, `not 2 more sent: ${(await sentByServer()) - sent}`);
  assert((await sentOut()) === sent + 2, `the page shows ${(await sentOut()) - sent} more sent`);
  await echo.getByLabel('Repeat count (empty: until stopped)').fill('');
  await echo.locator('.repeat input[type=checkbox]').uncheck();

  await echo.locator('.saved > button').click();
  await echo.getByLabel('Name for the saved message').fill('greeting');
  await echo.locator('.saved').getByRole('button', { name: 'Save', exact: true }).click();
  await echo.getByLabel('Text message').fill('something else');
  if (!(await echo.locator('.saved .menu').isVisible())) await echo.locator('.saved > button').click();
  await echo.locator('.saved .use', { hasText: 'greeting' }).click();
  assert((await echo.getByLabel('Text message').inputValue()) === 'tick-tock', 'saved message not loaded');
  const stored = await page.evaluate(
    () => Object.keys(localStorage).filter((k) => k.startsWith('sscope.saved.')).length,
  );
  assert(stored === 1, `saved messages not in localStorage (${stored})`);
});

await test('filters by direction and kind, and searches text', async () => {
  const all = await rowsOf(echo);
  await echo.getByRole('button', { name: /Out/ }).click();
  await until('only sent frames', async () => {
    const r = await rowsOf(echo);
    return r.length > 0 && r.every((x) => x.dir === 'out') && r.length < all.length;
  });
  await echo.getByRole('button', { name: /Out/ }).click();
  await echo.getByRole('button', { name: 'All kinds' }).click();
  await echo.locator('.toolbar .menu label', { hasText: 'binary' }).click();
  await until('only binary frames', async () => {
    const r = await rowsOf(echo);
    // Hex and base64, each sent and echoed.
    return r.length === 4 && r.every((x) => x.kind === 'binary');
  });
  await echo.locator('.toolbar').getByRole('button', { name: 'Clear filters' }).click();
  await echo.getByLabel('Search frames').fill('E2E HELLO');
  await until('search hits', async () => {
    const r = await rowsOf(echo);
    return r.length === 2 && r.every((x) => x.preview === 'e2e hello');
  });
  await shot('04-filter-light');
  await echo.getByLabel('Search frames').fill('');
  await until('filter cleared', async () => (await rowsOf(echo)).some((x) => x.preview !== 'e2e hello'));
});

await test('a text filter shows a long frame arriving while it is set, matched past its preview', async () => {
  const search = echo.getByLabel('Search frames');
  await search.fill('far-needle');
  await until('nothing matches yet', async () => (await rowsOf(echo)).length === 0);
  // 1,000 characters with the term at 900: the row's preview holds the first 240 only,
  // so the server, which reads the whole record, has to say that it matches.
  const long = `${'x'.repeat(900)}far-needle${'y'.repeat(90)}`;
  await echo.getByRole('tab', { name: 'Text' }).click();
  await echo.getByLabel('Text message').fill(long);
  await echo.locator('button.send').click();
  const rows = await until('the frame sent and its echo in the list', async () => {
    const r = await rowsOf(echo);
    return r.length === 2 && r;
  });
  assert(
    rows.some((x) => x.dir === 'out') && rows.some((x) => x.dir === 'in'),
    `rows: ${JSON.stringify(rows.map((x) => x.dir))}`,
  );
  assert(
    rows.every((x) => x.kind === 'text' && /^x+$/.test(x.preview) && x.preview.length < 900),
    `not previews cut before the term: ${rows.map((x) => x.preview.length)}`,
  );
  await search.fill('');
  await until('filter cleared', async () => (await rowsOf(echo)).length > 2);
});

await test('close with a code and reason', async () => {
  await echo.getByRole('tab', { name: 'Close' }).click();
  await echo.locator('.close-row input[type=number]').fill('4001');
  await echo.locator('.close-row input:not([type=number])').fill('e2e done');
  await echo.locator('button.send').click();
  await until('Closed', async () => (await stateOf(echo)) === 'Closed');
  const closes = (await rowsOf(echo)).filter((r) => r.kind === 'close');
  assert(
    closes.some((r) => r.dir === 'out' && r.note === '4001' && r.preview.includes('e2e done')),
    'no out close 4001',
  );
  assert(
    closes.some((r) => r.dir === 'in' && r.note === '4001'),
    'the echo did not answer the close',
  );
});

await test('errors show where they belong: a URL the UI refuses, one the server refuses', async () => {
  const url = echo.locator('input.url');
  const banner = echo.locator('.error');
  await url.fill('ftp://example.com/');
  await echo.locator('button.connect').click();
  await until('the UI’s URL error', async () => /must start with ws:\/\/ or wss:\/\//.test(await banner.innerText()));
  assert(await url.evaluate((el) => el.classList.contains('invalid')), 'URL field not marked invalid');
  await url.fill('ws://exa mple.com/');
  await until('error cleared on edit', async () => (await banner.count()) === 0);
  expectHttpError('POST', /^\/api\/connections$/, 400);
  await echo.locator('button.connect').click();
  await until('the server’s invalid_url', async () => {
    const t = await banner.innerText();
    return /invalid url/i.test(t) && /not a valid URL/.test(t);
  });
  await url.fill(`ws://${host}/demo/ws/echo`);
});

await test('export downloads the recording as NDJSON records', async () => {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    echo.getByRole('button', { name: /Export/ }).click(),
  ]);
  const path = join(artifacts, download.suggestedFilename());
  await download.saveAs(path);
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert(lines.length >= 10, `only ${lines.length} records exported`);
  lines.forEach((r, i) => assert(r.seq === i + 1 && typeof r.t === 'string', `record ${i} is not seq ${i + 1}`));
  assert(
    lines.some((r) => r.kind === 'close' && r.code === 4001),
    'export lacks the 4001 close',
  );
});

await test('the demo picker fills the URL; the scripted peer pings, closes with its code and reason', async () => {
  await echo.getByRole('button', { name: /Demos/ }).click();
  await echo.locator('.picker .item', { hasText: 'Scripted peer' }).click();
  await echo.locator('.picker .param', { hasText: 'step_ms' }).locator('input').fill('50');
  await shot('08-demo-picker-light');
  await echo.locator('.picker').getByRole('button', { name: 'Use' }).click();
  const url = await echo.locator('input.url').inputValue();
  assert(url === `ws://${host}/demo/ws/scripted?step_ms=50`, `URL is ${url}`);
  await echo.locator('button.connect').click();
  const rows = await until('the scripted close', async () => {
    const r = await rowsOf(echo);
    return r.some((x) => x.kind === 'close' && x.dir === 'in' && x.note === '4000') && r;
  });
  assert(
    rows.some((x) => x.kind === 'ping' && x.dir === 'in'),
    'no ping from the peer',
  );
  assert(
    rows.some((x) => x.kind === 'pong' && x.dir === 'out'),
    'no pong answer',
  );
  const close = rows.find((x) => x.kind === 'close' && x.dir === 'in');
  assert(close.note === '4000' && close.preview.includes('script finished'), `close: ${JSON.stringify(close)}`);
  await echo.locator('.viewport .row', { hasText: 'application-defined' }).first().click();
  await until('close detail', async () =>
    /4000[\s\S]*application-defined[\s\S]*script finished/.test(await echo.locator('.detail').innerText()),
  );
  assert((await echo.locator('select.runs option').count()) === 2, 'the pane does not list its two connections');
  // The fragmented message: the inspector says what it cost on the wire and lists its
  // three frames (FIN only on the last, continuations after the first).
  const fragmented = echo.locator('.viewport .row', { hasText: 'left the server in fragments' }).first();
  const wire = echo.locator('.detail [data-testid=wire]');
  // A click can land while the list redraws after the close; select the row until the
  // inspector shows it.
  await until('the wire figures', async () => {
    if ((await wire.count()) === 1) return true;
    await fragmented.click();
    return false;
  });
  const said = await wire.innerText();
  assert(/in 3 frames/.test(said), `wire: ${said}`);
  const frames = await echo.locator('.detail [data-testid=frame-list] tbody tr').allInnerTexts();
  const cells = frames.map((t) => t.split(/\s+/).slice(1, 3).join(' '));
  assert(
    JSON.stringify(cells) === JSON.stringify(['0 text', '0 continuation', '1 continuation']),
    `frames: ${JSON.stringify(frames)}`,
  );
  await shot('08b-frame-list');
});

await test('Ctrl+K focuses the URL of the active pane', async () => {
  await pane(1).locator('.viewport').click();
  await page.keyboard.press('Control+k');
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
  assert(focused === 'URL', `focus on ${focused}`);
  const inPane = await pane(1)
    .locator('input.url')
    .evaluate((el) => el === document.activeElement);
  assert(inPane, 'focused URL is not the active pane’s');
});

await test('request options: header, bearer and subprotocol on WS; Last-Event-ID, POST body and TLS on SSE', async () => {
  const before = await panes().count();
  await page
    .locator('.top')
    .getByRole('button', { name: /WS pane/ })
    .click();
  const ws = pane(before);
  await ws.locator('input.url').fill(`ws://${host}/demo/ws/echo`);
  await ws.getByRole('button', { name: /^Request/ }).click();
  await ws.getByRole('button', { name: 'Add header' }).click();
  await ws.getByPlaceholder('Name').last().fill('X-Trace');
  await ws.getByPlaceholder('Value').last().fill('e2e-1');
  await ws.getByRole('tab', { name: 'Auth' }).click();
  await ws.getByRole('button', { name: 'Bearer token' }).click();
  await ws.getByLabel('Token').fill('sekrit');
  await ws.getByRole('tab', { name: 'WebSocket' }).click();
  await ws.getByLabel('Subprotocols').fill('chat.v2, json');
  await ws.locator('button.connect').click();
  await until('echo open', async () => (await stateOf(ws)) === 'Open');
  await ws.locator('.viewport .row').first().click();
  const detail = await until('the handshake in the detail', async () => {
    const t = await ws.locator('.detail').innerText();
    // Section headings are set in capitals by CSS, and innerText follows it.
    if (!/response headers/i.test(t)) throw new Error(t);
    return t;
  });
  // The echo demo takes the first subprotocol offered.
  assert(/Subprotocol\s+chat\.v2/.test(detail), `no negotiated subprotocol:\n${detail}`);
  assert(/X-Trace\s+e2e-1/.test(detail), 'the header set is not shown');
  assert(/Authorization\s+Bearer ••••••/.test(detail), 'the bearer token is not shown masked');
  assert(!detail.includes('sekrit'), 'the token is shown in clear');
  assert(/Sec-WebSocket-Protocol\s+chat\.v2, json/.test(detail), 'offered subprotocols not shown');
  assert(
    /sec-websocket-protocol\s+chat\.v2/i.test(detail.split(/response headers/i)[1]),
    'response lacks the subprotocol',
  );
  // Secrets are not saved with the workspace.
  const saved = await page.evaluate(() => localStorage.getItem('sscope.workspace') ?? '');
  assert(saved.includes('X-Trace') && !saved.includes('sekrit'), 'workspace keeps the token or lost the header');
  await ws.locator('button.connect').click();
  await until('echo closed', async () => (await stateOf(ws)) === 'Closed');

  await page
    .locator('.top')
    .getByRole('button', { name: /SSE pane/ })
    .click();
  const sse = pane(before + 1);
  await sse.locator('input.url').fill(`http://${host}/demo/sse/ticker?rate=50`);
  await sse.getByRole('button', { name: /^Request/ }).click();
  await sse.getByRole('tab', { name: 'SSE' }).click();
  await sse.getByRole('textbox', { name: /^Last-Event-ID/ }).fill('41');
  await sse.locator('button.connect').click();
  // The first event recorded (read from the server: at 50/s the list has moved on).
  // Until the pane has its connection there is nothing to ask the server for.
  const recordsOf = async (i, limit) => {
    const id = await connIdOf(i);
    return id ? (await apiGet(`/api/connections/${id}/records?from=1&limit=${limit}`)).records : [];
  };
  const first = await until('events after id 41', async () =>
    (await recordsOf(before + 1, 20)).find((r) => r.kind === 'event'),
  );
  assert(first.id === '42' && first.event === 'tick', `first event after Last-Event-ID 41: ${JSON.stringify(first)}`);
  await sse.locator('button.connect').click();
  await until('SSE closed', async () => ['Closed', 'Failed'].includes(await stateOf(sse)));

  // A stream that drops: retry: is shown, the client reconnects with Last-Event-ID, and
  // the ids go on without a gap.
  await sse.getByRole('textbox', { name: /^Last-Event-ID/ }).fill('');
  await sse.locator('input.url').fill(`http://${host}/demo/sse/flaky?every=3&retry_ms=200`);
  await sse.locator('button.connect').click();
  const flaky = await until('two reconnections', async () => {
    const r = await recordsOf(before + 1, 200);
    return r.filter((x) => x.kind === 'reconnect').length >= 2 && r;
  });
  await sse.locator('button.connect').click();
  await until('flaky stopped', async () => ['Closed', 'Failed'].includes(await stateOf(sse)));
  const eventIds = flaky.filter((r) => r.kind === 'event').map((r) => Number(r.id));
  assert(eventIds.slice(0, 6).join() === '1,2,3,4,5,6', `ids across reconnections: ${eventIds}`);
  const firstReconnect = flaky.find((r) => r.kind === 'reconnect');
  assert(firstReconnect.last_event_id === '3', `reconnected with ${JSON.stringify(firstReconnect)}`);
  // The retry and reconnect records, picked out by the kind filter, in the detail.
  await sse.getByRole('button', { name: 'All kinds' }).click();
  await sse.locator('.toolbar .menu label', { hasText: /^\s*retry/ }).click();
  await sse.locator('.toolbar .menu label', { hasText: 'reconnect' }).click();
  await page.keyboard.press('Escape');
  await until('only retry and reconnect rows', async () => {
    const r = await rowsOf(sse);
    return r.length >= 3 && r.every((x) => x.kind === 'retry' || x.kind === 'reconnect');
  });
  await sse.locator('.viewport .row', { hasText: /retry/i }).first().click();
  await until('the retry field in the detail', async () =>
    /retry\s+200 ms/i.test(await sse.locator('.detail').innerText()),
  );
  await sse.locator(`.viewport .row[data-seq="${firstReconnect.seq}"]`).click();
  await until('the reconnect in the detail', async () =>
    /Last-Event-ID\s+3/i.test(await sse.locator('.detail').innerText()),
  );
  await sse.locator('.toolbar').getByRole('button', { name: 'Clear filters' }).click();

  // POST with a body: the LLM-style demo streams its answer.
  await sse.locator('input.url').fill(`http://${host}/demo/sse/chat?rate=200`);
  await sse.getByLabel('HTTP method').selectOption('POST');
  await sse.getByRole('textbox', { name: 'Body' }).fill('{"prompt": "why does EventSource reconnect?"}');
  await sse.getByRole('textbox', { name: /^Last-Event-ID/ }).fill('');
  await sse.locator('button.connect').click();
  await until('the answer streamed to [DONE]', async () =>
    (await rowsOf(sse)).some((x) => x.kind === 'event' && x.preview.includes('[DONE]')),
  );

  // TLS verification off shows on the pane.
  await sse.getByRole('tab', { name: /TLS/ }).click();
  await sse.getByLabel('Verify TLS certificates').uncheck();
  await until('TLS warning', async () =>
    /TLS (verification off|unverified)/.test(await sse.locator('.status').innerText()),
  );
  await shot('08-request-options');

  // Arrange and close: the SSE pane moves left of the WS pane, then both close, and the
  // server forgets their connections.
  const ids = await page.evaluate((n) => globalThis.sscope.panes.slice(n).flatMap((p) => [...p.conns]), before);
  assert(ids.length === 4, `connections of the two panes: ${ids}`);
  await sse.getByRole('button', { name: 'Move pane left' }).click();
  assert((await pane(before).getAttribute('data-proto')) === 'sse', 'the SSE pane did not move left');
  await pane(before).getByRole('button', { name: 'Close pane' }).click();
  await pane(before).getByRole('button', { name: 'Close pane' }).click();
  await until('both panes closed', async () => (await panes().count()) === before);
  await until('their connections forgotten by the server', async () => {
    const list = await apiGet('/api/connections');
    return !list.some((c) => ids.includes(c.id));
  });
}, 90_000);

await test('connections no pane shows: listed with a count, opened in a pane from seq 1, closed, forgotten', async () => {
  const token = new URLSearchParams(new URL(uiUrl).hash.slice(1)).get('token');
  // Opened from outside the page, as a script or another tab would.
  const outside = async (path, name) => {
    const res = await fetch(`${origin}/api/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `ws://${host}${path}`, name }),
    });
    assert(res.status === 201, `open ${path}: ${res.status}`);
    return (await res.json()).id;
  };
  const short = await outside('/demo/ws/ticker?rate=10&count=6', 'six ticks');
  const live = await outside('/demo/ws/ticker?rate=20', 'orders feed');
  const echoed = await outside('/demo/ws/echo', 'echo from a script');
  const ids = [short, live, echoed];
  const menuButton = page.locator('.conns > button');
  await until('the badge counting them', async () => (await menuButton.innerText()).includes('3'));
  await menuButton.click();
  const row = (id) => page.locator(`.conns .row[data-conn="${id}"]`);
  for (const id of ids) await row(id).waitFor();
  assert((await page.locator('.conns .row').count()) === 3, 'a connection some pane shows is listed');
  await until('the live one streaming', async () => /[1-9]\d* ev\/s/.test(await row(live).innerText()));
  await shot('10-connections-menu-light');

  // Close: the close handshake; it stays listed, closed.
  await row(live).getByRole('button', { name: 'Close' }).click();
  await until('closed', async () => (await row(live).innerText()).includes('Closed'));
  // Forget: closed, then gone from the server.
  await row(echoed)
    .getByRole('button', { name: /Forget/ })
    .click();
  await until('gone from the list', async () => (await row(echoed).count()) === 0);
  await until('forgotten by the server', async () => {
    const list = await apiGet('/api/connections');
    return !list.some((c) => c.id === echoed);
  });

  // Open in pane: a new pane shows it from its first record.
  const before = await panes().count();
  await row(short).getByRole('button', { name: 'Open in pane' }).click();
  await until('a new pane', async () => (await panes().count()) === before + 1);
  const p = pane(before);
  await until('its records from seq 1', async () => {
    const r = await rowsOf(p);
    return r[0]?.seq === 1 && r[0].kind === 'open' && r.filter((x) => x.kind === 'text').length === 6;
  });
  assert((await p.locator('input.url').inputValue()).includes('/demo/ws/ticker?rate=10&count=6'), 'pane URL');
  await shot('11-connection-attached-light');
  await menuButton.click();
  assert((await row(short).count()) === 0, 'an attached connection is still listed');
  await row(live)
    .getByRole('button', { name: /Forget/ })
    .click();
  await until('the menu empty', async () => (await page.locator('.conns .row').count()) === 0);
  await page.keyboard.press('Escape');
  // Closing the pane has the server close and forget its connection; no badge is left.
  await p.getByRole('button', { name: 'Close pane' }).click();
  await until('forgotten by the server', async () => {
    const list = await apiGet('/api/connections');
    return !list.some((c) => ids.includes(c.id));
  });
  assert(!/\d/.test(await menuButton.innerText()), `badge left: ${await menuButton.innerText()}`);
}, 60_000);

await test('a large recording scrolls back through server pages', async () => {
  const p = pane(0);
  await p.locator('input.url').fill(`ws://${host}/demo/ws/ticker?rate=100000&count=150000`);
  await p.locator('button.connect').click();
  await until(
    '150,000 frames received',
    async () => {
      const n = await page.evaluate(() => {
        const app = globalThis.sscope;
        const id = app.panes[0].connId;
        return app.store.get(id)?.lastSeq ?? 0;
      });
      return n >= 150_002;
    },
    60_000,
  );
  // Drag the scrollbar thumb to the very top: the oldest rows come from the server.
  const thumb = p.locator('.thumb');
  const box = await thumb.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2, box.y - 2000, { steps: 12 });
  await page.mouse.up();
  await until('row 1 (open) from the server', async () => {
    const r = await rowsOf(p);
    return r[0]?.seq === 1 && r[0].kind === 'open' && r.every((x) => x.kind !== '');
  });
  // And the middle, by the keyboard.
  await p.locator('.viewport').focus();
  for (let i = 0; i < 80; i++) await page.keyboard.press('PageDown');
  await until('rows further down loaded', async () => {
    const r = await rowsOf(p);
    return r.length > 5 && r.every((x) => x.kind !== '') && r[0].seq > 150;
  });
  await shot('05-scrollback-light');
});

await test('a search finds a frame older than the newest 20,000 in memory, on the server', async () => {
  const p = pane(0);
  await p.locator('input.url').fill(`ws://${host}/demo/ws/ticker?rate=100000&count=40000`);
  await p.locator('button.connect').click();
  await until(
    '40,000 frames received',
    async () =>
      (await page.evaluate(() => {
        const app = globalThis.sscope;
        return app.store.get(app.panes[0].connId)?.lastSeq ?? 0;
      })) >= 40_002,
    60_000,
  );
  await p.getByLabel('Search frames').fill('"n":1234,');
  const found = await until(
    'message 1,234 in the list',
    async () => {
      const r = await rowsOf(p);
      return r.length === 1 && r[0].preview.startsWith('{"n":1234,') && r;
    },
    30_000,
  );
  assert(found[0].seq === 1235, `message 1,234 is seq ${found[0].seq}`);
  await p.getByLabel('Search frames').fill('');
}, 90_000);

await test('an untrusted certificate is explained with the pane’s own TLS control, not command-line flags', async () => {
  // A TLS server with the test suite's certificate, which no system trusts.
  const tls = join(here, '..', '..', 'tests', 'fixtures', 'tls');
  const server = createHttpsServer(
    { key: readFileSync(join(tls, 'server.key')), cert: readFileSync(join(tls, 'server.pem')) },
    (_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: x\n\n'),
  );
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const before = await panes().count();
  try {
    await page
      .locator('.top')
      .getByRole('button', { name: /SSE pane/ })
      .click();
    const p = pane(before);
    await p.locator('input.url').fill(`https://127.0.0.1:${server.address().port}/events`);
    await p.locator('button.connect').click();
    await until('Failed', async () => (await stateOf(p)) === 'Failed');
    await p.locator('.viewport .row', { hasText: 'TLS' }).first().click();
    const advice = p.locator('[data-testid=error-advice]');
    await until('the advice', async () => (await advice.count()) === 1);
    assert((await advice.getAttribute('data-cause')) === 'tls_untrusted', 'cause');
    const text = await advice.innerText();
    assert(text.includes('turn off Verify TLS certificates in Request › TLS'), `advice: ${text}`);
    const detail = await p.locator('.detail').innerText();
    assert(!/--insecure|--ca\b/.test(detail), `the detail names command-line flags: ${detail}`);
    await p.getByRole('button', { name: 'Close pane' }).click();
    await until('pane closed', async () => (await panes().count()) === before);
  } finally {
    server.close();
  }
});

/** The colours a theme block of app.css gives `names`, as computed styles spell them. */
function paletteOf(block, names) {
  const out = {};
  for (const n of names) {
    const hex = new RegExp(`--${n}:\\s*#([0-9a-f]{6});`, 'i').exec(block)?.[1];
    if (!hex) throw new Error(`app.css has no --${n} here`);
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
    out[n] = `rgb(${r}, ${g}, ${b})`;
  }
  return out;
}
/** Relative luminance (WCAG) of `rgb(r, g, b)`. */
function luminance(rgb) {
  const [r, g, b] = rgb
    .match(/\d+/g)
    .slice(0, 3)
    .map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

await test('dark theme', async () => {
  // The palettes as the stylesheet states them: the light one in :root, the dark one in
  // the prefers-color-scheme block.
  const css = readFileSync(join(uiDir, 'src', 'styles', 'app.css'), 'utf8');
  const darkAt = css.indexOf('@media (prefers-color-scheme: dark)');
  assert(darkAt > 0, 'app.css has no dark block');
  const names = ['bg', 'surface', 'text'];
  const light = paletteOf(css.slice(0, darkAt), names);
  const dark = paletteOf(css.slice(darkAt), names);
  assert(dark.bg !== light.bg && dark.text !== light.text, 'the dark palette is the light one');
  const colours = () =>
    page.evaluate(() => {
      const body = getComputedStyle(document.body);
      const pane = getComputedStyle(document.querySelector('section.pane'));
      return { bg: body.backgroundColor, text: body.color, surface: pane.backgroundColor, paneText: pane.color };
    });
  const before = await colours();
  assert(before.bg === light.bg && before.surface === light.surface, `not light to start: ${JSON.stringify(before)}`);
  await page.emulateMedia({ colorScheme: 'dark' });
  await pane(1).locator('.viewport .row').nth(4).click();
  const now = await until('the dark palette', async () => {
    const c = await colours();
    return c.bg === dark.bg && c;
  });
  assert(now.surface === dark.surface, `pane background ${now.surface}, not ${dark.surface}`);
  assert(now.text === dark.text && now.paneText === dark.text, `text ${now.text} / ${now.paneText}, not ${dark.text}`);
  // Light on dark now, where it was dark on light.
  assert(luminance(before.text) < luminance(before.bg), 'light theme is not dark on light');
  assert(luminance(now.text) > luminance(now.bg) + 0.5, `dark theme text ${now.text} on ${now.bg}`);
  // The charts follow: drawn again on the dark background, in the dark palette.
  await until('a dark chart', async () => linesIn(await shownSvg(chartImg('events'))).includes('#FB923C'));
  await shot('06-dark');
  await echo.locator('.viewport .row', { hasText: 'application-defined' }).first().click();
  await until('the close in the detail', async () =>
    /application-defined/.test(await echo.locator('.detail').innerText()),
  );
  await shot('07-dark-close');
  await page.emulateMedia({ colorScheme: 'light' });
});

await test('without the token the page says so instead of failing silently', async () => {
  const other = await browser.newContext({ viewport: { width: 1200, height: 700 } });
  const p = await other.newPage();
  await p.goto(origin + '/');
  await p.locator('.auth').waitFor({ timeout: 8000 });
  const text = await p.locator('.auth').innerText();
  assert(/refused this window/.test(text) && /token/.test(text), `banner: ${text}`);
  await p.screenshot({ path: join(artifacts, '09-no-token-light.png') });
  await other.close();
});

await test('no errors in the page, and no error answers to the page that no test provoked', async () => {
  assert(pageErrors.length === 0, pageErrors.join('\n'));
  assert(httpErrors.length === 0, httpErrors.join('\n'));
});

// --- the end ----------------------------------------------------------------------------

await browser.close();
stopServer();
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`screenshots: ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
