#!/usr/bin/env node
// End-to-end: saved connections, collections, environments and secrets in headless
// Chromium against a real `sscope serve` (with a data directory).
//
//   SSCOPE_BIN=/path/to/sscope node e2e/saved.mjs   (default /var/tmp/streamscope-target/debug/sscope)
//   CHROMIUM=/usr/bin/chromium                      (default; never downloads a browser)
//   E2E_SKIP_BUILD=1                                (use ui/dist as it is)
//
// Through the UI: a collection created, a pane with `{{host}}` in its URL and a header
// marked secret saved into it; two environments defined in the editor and switched in the
// top bar; an unresolved variable refused with its name and environment; the saved
// connection opened with one click against the embedded demo server at the resolved URL,
// the browser asking again for the secret it does not keep; renamed, duplicated,
// deleted; the collection exported (the secret not in the file, named as to be filled)
// and imported again, and a bad file refused naming what is wrong; a Postman collection's
// WebSocket request imported without its key; the server's stored
// file checked for the secret. One line per test, screenshots in e2e/artifacts/saved-*.png
// (docs/saved.png for the README with E2E_DOCS_SHOTS=1); exit 1 on failure.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateDataDir } from './serve.mjs';
import { openUi } from './ui.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = join(here, '..');
const artifacts = join(here, 'artifacts');
const bin = process.env.SSCOPE_BIN || '/var/tmp/streamscope-target/debug/sscope';
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(artifacts, { recursive: true });
for (const f of readdirSync(artifacts)) if (/^saved-.*\.(png|json)$/.test(f)) rmSync(join(artifacts, f));

const dataDir = privateDataDir();
const ui = await openUi({
  bin,
  chromiumPath,
  uiDir,
  artifacts,
  label: 'saved',
  prefix: 'saved-',
  timeout: 45_000,
  serve: { dataDir },
});
const { origin, host, browser, page, pageErrors, httpErrors, results, test, assert, until, shot, server } = ui;
const { expectHttpError, panes, pane, stateOf, apiGet } = ui;

const SECRET = 'key-SECRET-e2e-7f3a';
const menu = () => page.locator('[role="dialog"][aria-label="Saved connections"]');
async function openSaved() {
  if (!(await menu().isVisible()))
    await page.locator('header.top').getByRole('button', { name: 'Collections', exact: true }).click();
  await menu().waitFor();
}
const envEditor = () => page.locator('[role="dialog"][aria-label="Environments"]');
const collection = (name) => menu().locator('li.col', { has: page.locator('.col-name', { hasText: name }) });
async function download(click, name) {
  const [d] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = join(artifacts, `saved-${name}`);
  await d.saveAs(path);
  return readFileSync(path, 'utf8');
}
const stored = () => readFileSync(join(dataDir, 'collections.json'), 'utf8');

console.log(`e2e saved: ${bin} serving ${origin}, data in ${dataDir}`);
await page.goto(server.uiUrl);
await pane(0).waitFor();
await until('the live link', async () => (await page.locator('.live').innerText()).includes('Live'));

await test('a collection is created and the focused pane saved into it, its secret left out', async () => {
  await openSaved();
  await menu()
    .getByText(/No saved connections yet/)
    .waitFor();
  await menu().getByLabel('New collection name').fill('Echo team');
  await menu().getByRole('button', { name: 'Collection' }).click();
  await collection('Echo team').waitFor();
  await page.keyboard.press('Escape');

  // Pane 0 becomes a templated echo connection with a secret header.
  const p = pane(0);
  await p.click({ position: { x: 40, y: 12 } });
  await p.getByLabel('URL').fill('ws://{{host}}/demo/ws/echo');
  await p.getByLabel('Pane name').fill('echo');
  const opts = p.locator('.opts .summary');
  if ((await opts.getAttribute('aria-expanded')) !== 'true') await opts.click();
  await p.getByRole('button', { name: 'Add header' }).click();
  const row = p.locator('.hrow').last();
  await row.getByPlaceholder('Name').fill('X-Api-Key');
  await row.getByPlaceholder('Value').fill(SECRET);
  await row.getByRole('button', { name: 'Secret header value' }).click();
  assert((await row.locator('input.mono').nth(1).getAttribute('type')) === 'password', 'a secret value is masked');

  await openSaved();
  await collection('Echo team').getByRole('button', { name: 'Save pane here' }).click();
  const item = collection('Echo team').locator('li.row');
  await until('the saved connection listed', async () => (await item.count()) === 1);
  const text = await item.innerText();
  assert(text.includes('echo') && text.includes('ws://{{host}}/demo/ws/echo'), `row: ${text}`);
  await shot('01-saved');

  const listing = await apiGet('/api/collections');
  const cfg = listing.collections[0].items[0].config;
  assert(cfg.url === 'ws://{{host}}/demo/ws/echo', `stored url ${cfg.url}`);
  assert(cfg.headers[0].secret === true && cfg.headers[0].value === '', JSON.stringify(cfg.headers));
  assert(!stored().includes(SECRET), 'the secret is in collections.json');
  // Nor in the workspace the page keeps in localStorage.
  const ls = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  assert(!ls.includes(SECRET), 'the secret is in localStorage');
  await page.keyboard.press('Escape');
});

await test('environments are defined in the editor and switched in the top bar', async () => {
  await page.getByRole('button', { name: 'Edit environments' }).click();
  await envEditor().waitFor();
  const first = envEditor().locator('section.one').first();
  await first.getByLabel('Environment name').fill('local');
  await first.getByLabel('Variable name').fill('host');
  await first.getByLabel('Variable value').fill(host);
  await envEditor().getByRole('button', { name: 'Environment', exact: true }).click();
  const second = envEditor().locator('section.one').nth(1);
  await second.getByLabel('Environment name').fill('staging');
  await second.getByLabel('Variable name').fill('token');
  await second.getByLabel('Variable value').fill('var-SECRET-e2e');
  await second.getByLabel('Secret').check();
  await shot('02-environments');
  await envEditor().getByRole('button', { name: 'Save' }).click();
  await envEditor().waitFor({ state: 'detached' });

  const select = page.getByLabel('Environment', { exact: true });
  const options = await select.locator('option').allInnerTexts();
  assert(options.join('|') === 'No environment|local|staging', `options: ${options}`);
  const envs = await apiGet('/api/environments');
  assert(envs[1].vars[0].secret === true && envs[1].vars[0].value === '', JSON.stringify(envs));
  assert(!stored().includes('var-SECRET-e2e'), 'a secret variable is in collections.json');
});

await test('an unresolved variable is refused naming it and the environment, not sent', async () => {
  const before = (await apiGet('/api/connections')).length;
  const p = pane(0);
  const select = page.getByLabel('Environment', { exact: true });
  await select.selectOption({ label: 'staging' });
  // The pane's secret header, typed in this window, is still there.
  await p.locator('button.connect').click();
  const err = p.locator('.error[role="alert"]');
  await err.waitFor();
  const text = await err.innerText();
  assert(text.includes('{{host}} is not defined in the environment "staging"'), `error: ${text}`);
  await select.selectOption({ label: 'No environment' });
  await p.locator('button.connect').click();
  await until('the no-environment error', async () => (await err.innerText()).includes('no environment is chosen'));
  assert((await apiGet('/api/connections')).length === before, 'a connection was opened with {{host}} unresolved');
  await shot('03-unresolved');
  await err.getByRole('button', { name: 'Dismiss' }).click();
});

await test('the saved connection opens with one click at the resolved URL, the secret asked again', async () => {
  await page.getByLabel('Environment', { exact: true }).selectOption({ label: 'local' });
  const count = await panes().count();
  await openSaved();
  await collection('Echo team').locator('li.row').first().getByRole('button', { name: 'Open' }).click();
  const form = menu().locator('form.ask');
  await form.waitFor();
  const label = await form.innerText();
  assert(label.includes('X-Api-Key header') && label.includes('a browser does not keep'), `form: ${label}`);
  await form.locator('input[type="password"]').fill(SECRET);
  await shot('04-asked');
  await form.getByRole('button', { name: 'Open and connect' }).click();
  await until('a new pane', async () => (await panes().count()) === count + 1);
  const p = panes().last();
  await until('the echo open', async () => (await stateOf(p)) === 'Open');
  const conns = await apiGet('/api/connections');
  const mine = conns.find((c) => c.url === `ws://${host}/demo/ws/echo`);
  assert(mine, `no connection at the resolved URL: ${conns.map((c) => c.url)}`);
  assert((await p.getByLabel('URL').inputValue()) === 'ws://{{host}}/demo/ws/echo', 'the pane keeps the template');
  const shown = await p.locator('.resolved').innerText();
  assert(shown.includes(`ws://${host}/demo/ws/echo`), `the pane shows the resolved URL: ${shown}`);
  assert(
    await p.getByRole('button', { name: 'Save to echo' }).isVisible(),
    'the pane offers Save to its saved connection',
  );
  await shot('05-opened');
  // A message's variables: those with a value go in, the others are sent as typed.
  const message = p.getByLabel('Text message');
  await message.fill('hi {{host}} {{nope}}');
  const note = p.locator('.sender .status');
  await until('the note names the variables', async () => {
    const t = await note.innerText();
    return t.includes('{{host}} filled in') && t.includes('{{nope}} sent as typed');
  });
  await p.locator('button.send').click();
  await until(
    'the message echoed with the variable filled in',
    async () => (await p.locator('.viewport .row', { hasText: `hi ${host} {{nope}}` }).count()) === 2,
  );
  // The README's picture: the menu open over the pane it opened, the environment chosen.
  await openSaved();
  await page.screenshot({
    path: process.env.E2E_DOCS_SHOTS ? join(uiDir, '..', 'docs', 'saved.png') : join(artifacts, 'saved-readme.png'),
  });
  await page.keyboard.press('Escape');
});

await test('saved connections are renamed, saved back, duplicated and deleted', async () => {
  await openSaved();
  const c = collection('Echo team');
  await c.locator('li.row button.name').first().click();
  const input = c.getByLabel('Saved connection name');
  await input.fill('echo (local)');
  await input.press('Enter');
  await until('renamed', async () => (await c.locator('li.row').first().innerText()).includes('echo (local)'));
  await page.keyboard.press('Escape');

  // Save back from the pane it opened: a subprotocol added there.
  const p = panes().last();
  const opts = p.locator('.opts .summary');
  if ((await opts.getAttribute('aria-expanded')) !== 'true') await opts.click();
  await page.evaluate(() => {
    const app = globalThis.sscope;
    app.panes[app.panes.length - 1].config.subprotocols = 'chat.v2';
  });
  await p.getByRole('button', { name: 'Save to echo (local)' }).click();
  await until('saved back', async () => {
    const l = await apiGet('/api/collections');
    return l.collections[0].items[0].config.subprotocols === 'chat.v2';
  });

  await openSaved();
  await c.locator('li.row').first().getByRole('button', { name: 'Duplicate' }).click();
  await until('the copy', async () => (await c.locator('li.row').count()) === 2);
  const copy = c.locator('li.row').nth(1);
  assert((await copy.innerText()).includes('echo (local) copy'), await copy.innerText());
  await copy.getByRole('button', { name: 'Delete saved connection' }).click();
  await copy.getByRole('button', { name: 'Delete', exact: true }).click();
  await until('the copy deleted', async () => (await c.locator('li.row').count()) === 1);
  assert(!stored().includes(SECRET), 'the secret reached collections.json');
});

await test('an exported collection has no secret, names it to fill, and imports again', async () => {
  await openSaved();
  const text = await download(
    () => collection('Echo team').getByRole('button', { name: 'Export this collection' }).click(),
    'export.json',
  );
  assert(!text.includes(SECRET) && !text.includes('var-SECRET-e2e'), 'a secret is in the export');
  const file = JSON.parse(text);
  assert(file.format === 'streamscope.collections' && file.version === 1, text.slice(0, 200));
  const it = file.collections[0].items[0];
  assert(JSON.stringify(it.to_fill) === '["header X-Api-Key"]', `to_fill: ${JSON.stringify(it.to_fill)}`);
  assert(it.config.subprotocols === 'chat.v2', 'the saved-back settings are exported');

  file.collections[0].name = 'From a teammate';
  const path = join(artifacts, 'saved-teammate.json');
  writeFileSync(path, JSON.stringify(file));
  await page.locator('.saved input.file-picker').setInputFiles(path);
  await menu().locator('.note.imported').waitFor();
  const note = await menu().locator('.note.imported').innerText();
  assert(/Imported 1 collection/.test(note) && /Kept the existing local, staging/.test(note), `note: ${note}`);
  await collection('From a teammate').waitFor();
  await shot('06-imported');
});

await test('a bad collections file is refused naming what is wrong, nothing added', async () => {
  expectHttpError('POST', /^\/api\/collections\/import$/, 400);
  const bad = {
    format: 'streamscope.collections',
    version: 1,
    collections: [{ name: 'Bad', items: [{ name: 'x', config: { url: 'ws://x', bearer: 'leaked' } }] }],
  };
  const path = join(artifacts, 'saved-bad.json');
  writeFileSync(path, JSON.stringify(bad));
  await openSaved();
  await page.locator('.saved input.file-picker').setInputFiles(path);
  const err = menu().locator('.note.error');
  await err.waitFor();
  const text = await err.innerText();
  assert(text.includes('collections[0].items[0].config.bearer'), `error: ${text}`);
  assert((await apiGet('/api/collections')).collections.length === 2, 'a refused file added collections');
  await err.getByRole('button', { name: 'Dismiss' }).click();
});

await test("a Postman collection's WebSocket request imports, its key left out and said so", async () => {
  const postman = {
    info: { name: 'From Postman', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
    item: [
      {
        name: 'Echo',
        request: {
          method: 'GET',
          url: { raw: 'ws://{{host}}/demo/ws/echo' },
          header: [{ key: 'X-Api-Key', value: 'pm-SECRET' }],
        },
      },
      { name: 'Users', request: { method: 'GET', url: 'https://{{host}}/users' } },
    ],
  };
  const path = join(artifacts, 'saved-postman.json');
  writeFileSync(path, JSON.stringify(postman));
  await openSaved();
  await page.locator('.saved input.file-picker').setInputFiles(path);
  await collection('From Postman').waitFor();
  const note = await menu().locator('.note.imported').innerText();
  assert(/X-Api-Key header's value was left out/.test(note) && /1 request\(s\)/.test(note), `note: ${note}`);
  assert(!stored().includes('pm-SECRET'), 'a Postman secret reached collections.json');
  await shot('07-postman');
  await page.keyboard.press('Escape');
});

await test('opening again after a reload asks for the secret again, and the pane resolves with the chosen env', async () => {
  await page.reload();
  await pane(0).waitFor();
  const select = page.getByLabel('Environment', { exact: true });
  await until('the environment kept', async () => (await select.locator('option:checked').innerText()) === 'local');
  await openSaved();
  await collection('Echo team').locator('li.row').first().getByRole('button', { name: 'Open' }).click();
  await menu().locator('form.ask').waitFor();
  await menu().locator('form.ask').getByRole('button', { name: 'Cancel' }).click();
  await page.keyboard.press('Escape');
});

await test('no errors in the page, and no error answers to the page that no test provoked', async () => {
  assert(pageErrors.length === 0, pageErrors.join('\n'));
  assert(httpErrors.length === 0, httpErrors.join('\n'));
});

await browser.close();
await server.stop();
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`screenshots: ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
