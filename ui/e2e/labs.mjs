#!/usr/bin/env node
// End-to-end: the labs in headless Chromium against a real `sscope serve`.
//
//   SSCOPE_BIN=/path/to/sscope node e2e/labs.mjs   (default /var/tmp/streamscope-target/debug/sscope)
//   CHROMIUM=/usr/bin/chromium                     (default; never downloads a browser)
//   E2E_SKIP_BUILD=1                               (use ui/dist as it is)
//   E2E_UI_DIR=ui/dist                             (serve this built UI instead of the one
//                                                   the binary was built beside, e.g. a
//                                                   binary built from another worktree)
//
// Its own file beside run.mjs because the labs need a fresh page: the connection-limit
// lab counts the browser's connections per host, and run.mjs's earlier tests leave
// streams and chart requests behind. The same harness otherwise (server from serve.mjs,
// one line per test, screenshots in e2e/artifacts/labs-*.png, exit 1 on failure).
//
// What it checks: the Labs entry opens the labs and the Claims card; the connection-limit
// lab in Chromium measures the seventh EventSource to one host waiting until one closes,
// seven WebSockets and the split-host EventSources all opening (asserted on the figures
// the page measured, never on how fast); an engine lab (reconnect, short) run from the
// panel opens panes for its connections and ends with a result card that can be saved.

import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openUi } from './ui.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = join(here, '..');
const artifacts = join(here, 'artifacts');
const bin = process.env.SSCOPE_BIN || '/var/tmp/streamscope-target/debug/sscope';
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(artifacts, { recursive: true });
for (const f of readdirSync(artifacts)) if (/^labs-.*\.(png|json)$/.test(f)) rmSync(join(artifacts, f));

const {
  origin,
  uiUrl,
  stopServer,
  browser,
  page,
  pageErrors,
  httpErrors,
  results,
  test,
  assert,
  until,
  shot,
  tolerateHttpError,
} = await openUi({ bin, chromiumPath, uiDir, artifacts, label: 'labs', prefix: 'labs-', timeout: 60_000 });

const panel = page.locator('aside#labs-panel');
const labItem = (name) => panel.locator(`li.lab[data-lab="${name}"]`);
const resultCard = panel.locator('[data-testid=lab-result]');
/** The run on screen as the page holds it (state, conns, result, measured). */
const shownRun = () => page.evaluate(() => JSON.parse(JSON.stringify(globalThis.sscope.labs.shown)));
/** The figures table as shown: [name, ws, sse] per row. */
const tableOf = () =>
  resultCard
    .locator('tbody tr')
    .evaluateAll((rows) =>
      rows.map((r) => [
        r.querySelector('th')?.textContent ?? '',
        ...[...r.querySelectorAll('td')].map((td) => td.textContent),
      ]),
    );

console.log(`e2e labs: ${bin} serving ${origin}, Chromium ${chromiumPath}`);

await test('the Labs entry opens the list of labs, each with its question and a Run button, and the Claims card', async () => {
  await page.goto(uiUrl);
  await page.locator('section.pane').first().waitFor();
  const toggle = page.getByRole('button', { name: 'Labs', exact: true });
  assert((await toggle.getAttribute('aria-expanded')) === 'false', 'the labs panel is open at start');
  await toggle.click();
  await panel.waitFor();
  assert((await toggle.getAttribute('aria-expanded')) === 'true', 'the toggle does not say the panel is open');
  await until('the labs', async () => (await panel.locator('li.lab').count()) >= 6);
  const names = await panel.locator('li.lab').evaluateAll((els) => els.map((e) => e.getAttribute('data-lab')));
  for (const n of ['direction', 'reconnect', 'dead-peer', 'binary', 'connection-limit', 'overhead'])
    assert(names.includes(n), `no ${n} lab in ${names}`);
  for (const n of names) {
    const item = labItem(n);
    assert((await item.locator('.question').innerText()).trim().length > 0, `${n} has no question`);
    await item.getByRole('button', { name: /Run/ }).waitFor();
  }
  const claims = panel.locator('section.claims li.claim');
  assert((await claims.count()) >= 1, 'no claims');
  const first = claims.first();
  assert((await first.locator('.verdict').innerText()).trim().length > 0, 'a claim without a verdict');
  assert(/^https:\/\//.test(await first.locator('a').getAttribute('href')), 'a claim without a source link');
  await shot('01-list-light');
  // A claim's lab link goes to that lab in the list.
  const linked = panel.locator('section.claims .link').first();
  if ((await linked.count()) > 0) {
    await linked.scrollIntoViewIfNeeded();
    await linked.click();
    await until('the linked lab highlighted and focused', async () =>
      page.evaluate(() => {
        const li = document.querySelector('li.lab.pointed');
        return !!li && li.contains(document.activeElement);
      }),
    );
  }
});

await test('connection-limit in Chromium: the seventh EventSource to one host waits until one closes; seven WebSockets and the split-host EventSources all open', async () => {
  await labItem('connection-limit').getByRole('button', { name: /Run/ }).click();
  await until(
    'the run view',
    async () => (await panel.locator('article.run[data-lab="connection-limit"]').count()) === 1,
  );
  // While phase A holds its six, the seventh's slot is seen waiting.
  await until(
    'six open and the seventh waiting',
    async () => {
      const m = (await shownRun()).measured;
      return (
        m && m.oneHost.length === 7 && m.oneHost.slice(0, 6).every((a) => a.opened !== null) && m.closedAt === null
      );
    },
    15_000,
  );
  await shot('02-running-connection-limit-light');
  await until('the result card', async () => (await resultCard.count()) === 1, 40_000);
  const s = await shownRun();
  assert(s.run.state === 'done', `run ${s.run.state}: ${s.run.error}`);
  const m = s.measured;
  const firstSix = m.oneHost.slice(0, 6);
  const seventh = m.oneHost[6];
  assert(
    firstSix.every((a) => a.opened !== null && a.opened < m.closedAt),
    `not all of the first six opened before the close at ${m.closedAt}: ${JSON.stringify(firstSix)}`,
  );
  assert(seventh.opened !== null, `the seventh never opened: ${JSON.stringify(seventh)}`);
  assert(seventh.opened >= m.closedAt, `the seventh opened at ${seventh.opened}, before the close at ${m.closedAt}`);
  assert(
    m.sockets.length === 7 && m.sockets.every((a) => a.opened !== null),
    `WebSockets: ${JSON.stringify(m.sockets)}`,
  );
  assert(m.split.length === 7 && m.split.every((a) => a.opened !== null), `split: ${JSON.stringify(m.split)}`);
  assert(
    m.split.filter((a) => a.host === m.other).length === 4 && m.split.filter((a) => a.host === m.host).length === 3,
    'the split is not 4 + 3 over the two names',
  );
  // The card says what was measured.
  const rows = await tableOf();
  assert(rows.length === 5, `figures: ${JSON.stringify(rows)}`);
  const byName = Object.fromEntries(rows.map((r) => [r[0], r.slice(1)]));
  assert(
    byName['open before any was closed, 7 to one host']?.join('|') === '7 of 7|6 of 7',
    `row 1: ${JSON.stringify(rows[0])}`,
  );
  assert(/after one was closed$/.test(byName['the seventh opened']?.[1]), `row 3: ${JSON.stringify(rows[2])}`);
  assert(byName['the seventh opened']?.[0] === '—', 'a figure that does not apply is not a dash');
  const card = await resultCard.innerText();
  assert(/the seventh waited [\d,]+ ms and opened only [\d,]+ ms after one of them was closed/.test(card), card);
  assert(/HTTP\/1\.1 only over plain HTTP/.test(card), 'no HTTP/2 note on the card');
  await resultCard.scrollIntoViewIfNeeded();
  await shot('03-result-connection-limit-light');
  await resultCard.screenshot({ path: join(artifacts, 'labs-03-card-connection-limit.png') });
  // Every stream the lab opened is closed: no EventSource or WebSocket left in the page.
  const left = await page.evaluate(() =>
    JSON.stringify(globalThis.sscope.labs.shown.measured.split.map((a) => a.closed)),
  );
  assert(!left.includes('null'), `streams left open: ${left}`);
});

await test('an engine lab from the Labs view: reconnect, short; its panes appear, the card shows figures and a conclusion, Save result downloads the run', async () => {
  await panel.getByRole('button', { name: 'All labs' }).click();
  const before = await page.locator('section.pane').count();
  await panel.getByLabel('Short runs').check();
  await labItem('reconnect').getByRole('button', { name: /Run/ }).click();
  const conns = await until(
    'the run listing its connections',
    async () => {
      const s = await shownRun();
      return s.run.conns.length >= 2 && s.run.conns;
    },
    30_000,
  );
  // A pane per connection, showing it and streaming its records like any other.
  await until('a pane per connection', async () => {
    const shown = await page.evaluate(() => globalThis.sscope.panes.map((p) => p.connId));
    return conns.every((c) => shown.includes(c.id));
  });
  assert((await page.locator('section.pane').count()) >= before + conns.length, 'no new panes');
  await until('records in the lab panes', async () =>
    page.evaluate(
      (ids) => ids.every((id) => (globalThis.sscope.store.get(id)?.lastSeq ?? 0) > 0),
      conns.map((c) => c.id),
    ),
  );
  const running = await shownRun();
  if (running.run.state === 'running') await shot('04-running-reconnect-light');
  await until('steps with times from the start', async () => {
    const at = await panel.locator('.steps li .at').allInnerTexts();
    return at.length >= 2 && at[0] === '+0.000 s' && at.every((t) => /^\+\d+\.\d{3} s$/.test(t));
  });
  await until('the result card', async () => (await resultCard.count()) === 1, 90_000);
  const s = await shownRun();
  assert(s.run.state === 'done', `run ${s.run.state}: ${s.run.error}`);
  const rows = await tableOf();
  assert(rows.length === s.run.result.figures.length && rows.length > 0, `figures: ${JSON.stringify(rows)}`);
  for (const [i, f] of s.run.result.figures.entries()) {
    assert(rows[i][0] === f.name, `row ${i} is ${rows[i][0]}, not ${f.name}`);
    for (const [j, v] of [f.ws, f.sse].entries()) {
      const cell = rows[i][1 + j];
      if (v === null) assert(cell === '—', `${f.name}: null shown as ${cell}`);
      else if (typeof v === 'string') assert(cell === v, `${f.name}: "${v}" shown as "${cell}"`);
      else assert(cell.endsWith(f.unit), `${f.name}: ${cell} without its unit ${f.unit}`);
    }
  }
  const conclusion = await resultCard.locator('.conclusion').innerText();
  assert(conclusion === s.run.result.conclusion && conclusion.length > 0, `conclusion: ${conclusion}`);
  await resultCard.scrollIntoViewIfNeeded();
  await shot('05-result-reconnect-light');
  await resultCard.screenshot({ path: join(artifacts, 'labs-05-card-reconnect.png') });

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    resultCard.getByRole('button', { name: /Save result/ }).click(),
  ]);
  assert(download.suggestedFilename() === 'lab-reconnect-result.json', `file name ${download.suggestedFilename()}`);
  const path = join(artifacts, 'labs-reconnect-result.json');
  await download.saveAs(path);
  const saved = JSON.parse(readFileSync(path, 'utf8'));
  assert(saved.run === s.run.run && saved.lab === 'reconnect' && saved.state === 'done', `saved: ${saved.run}`);
  assert(JSON.stringify(saved.result) === JSON.stringify(s.run.result), 'the saved result is not the shown one');
});

await test('every other engine lab runs from the panel (short) and ends with its figures and a conclusion', async () => {
  // Each run replaces the panes of the one before, whose connections the server then
  // forgets; a chart picture on its way at that moment names one and is answered 404.
  // The chart asks again without them and shows no error (chart/poll.test.ts).
  tolerateHttpError('GET', /^\/api\/(chart|sparkline)\.svg$/, 404);
  for (const name of ['direction', 'dead-peer', 'binary', 'overhead']) {
    await panel.getByRole('button', { name: 'All labs' }).click();
    await labItem(name).getByRole('button', { name: /Run/ }).click();
    await until(`${name}: the run shown`, async () => (await shownRun()).run.lab === name);
    await until(`${name}: the result card`, async () => (await resultCard.count()) === 1, 90_000);
    const s = await shownRun();
    assert(s.run.state === 'done', `${name}: run ${s.run.state}: ${s.run.error}`);
    const rows = await tableOf();
    assert(rows.length === s.run.result.figures.length && rows.length > 0, `${name}: figures ${JSON.stringify(rows)}`);
    assert((await resultCard.locator('.conclusion').innerText()).length > 0, `${name}: no conclusion`);
    const panes = await page.evaluate(() => globalThis.sscope.panes.map((p) => p.connId));
    const missing = s.run.conns.filter((c) => !panes.includes(c.id));
    assert(missing.length === 0, `${name}: no pane for ${missing.map((c) => c.id)}`);
    await resultCard.screenshot({ path: join(artifacts, `labs-08-card-${name}.png`) });
    assert((await page.locator('.rates [role=alert]').count()) === 0, `${name}: the charts show an error`);
  }
}, 300_000);

await test('the result card in the dark theme', async () => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await until('the dark palette', async () =>
    page.evaluate(() => getComputedStyle(document.body).backgroundColor === 'rgb(11, 13, 17)'),
  );
  // The screenshot waits for what follows the theme a moment later: the buttons' colour
  // transitions and the charts, which the server draws again in the dark palette.
  const frames = () =>
    page.locator('[data-testid^=chart-]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-frames'))));
  const drawn = await frames();
  await until('the charts drawn again', async () => (await frames()).every((n, i) => n > drawn[i]));
  await until('the buttons dark', async () =>
    page.evaluate(() => getComputedStyle(document.querySelector('.top .btn')).backgroundColor === 'rgb(20, 23, 29)'),
  );
  const bg = await resultCard.evaluate((el) => getComputedStyle(el).backgroundColor);
  assert(bg !== 'rgb(247, 248, 250)', `the card kept its light background ${bg}`);
  await shot('06-result-dark');
  await page.emulateMedia({ colorScheme: 'light' });
});

await test('a run that failed says so on its card, with the error, and can be rerun', async () => {
  // The server fails a lab only when something breaks; here its answer is made to say so.
  const failing = async (route) => {
    const res = await route.fetch();
    const run = await res.json();
    await route.fulfill({
      response: res,
      json: { ...run, state: 'failed', result: null, error: 'the demo server stopped answering' },
    });
  };
  await page.route('**/api/labs/runs/**', failing);
  try {
    await panel.getByRole('button', { name: 'All labs' }).click();
    await labItem('binary').getByRole('button', { name: /Run/ }).click();
    await until('the failed card', async () => (await resultCard.locator('[role=alert]').count()) === 1, 30_000);
    const card = await resultCard.innerText();
    assert(/The lab failed/.test(card) && /the demo server stopped answering/.test(card), card);
    assert((await resultCard.locator('table').count()) === 0, 'a failed run without a result shows a table');
    assert((await panel.locator('article.run .state').innerText()).trim() === 'Failed', 'state is not Failed');
    await resultCard.scrollIntoViewIfNeeded();
    await shot('07-failed-light');
  } finally {
    await page.unroute('**/api/labs/runs/**', failing);
  }
  await resultCard.getByRole('button', { name: /Rerun/ }).click();
  await until('the rerun done', async () => (await shownRun()).run.state === 'done', 60_000);
});

await test('no errors in the page and no error answers', async () => {
  assert(pageErrors.length === 0, pageErrors.join('\n'));
  assert(httpErrors.length === 0, httpErrors.join('\n'));
});

await browser.close();
stopServer();
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`screenshots: ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
