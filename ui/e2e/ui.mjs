// The page the browser tests of run.mjs and daily.mjs drive, and how they judge it: the
// server started (serve.mjs), Chromium on the built UI, every error answer from the page's
// own origin and every console error collected, a `test` runner with its screenshot on
// failure, and the helpers both read panes with. Each script keeps its own prologue (what
// it removes from e2e/artifacts) and its tests.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serveUiFrom, startServe } from './serve.mjs';

/**
 * Starts the server and the browser for a test script.
 * @param {{ bin: string, chromiumPath: string, uiDir: string, artifacts: string }} where
 */
export async function openUi({ bin, chromiumPath, uiDir, artifacts }) {
  function fatal(msg) {
    console.error(`e2e: ${msg}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }

  if (!existsSync(bin)) fatal(`no sscope binary at ${bin}; build it (cargo build -p sscope) or set SSCOPE_BIN`);
  if (!existsSync(chromiumPath))
    fatal(`no Chromium at ${chromiumPath}; install it (apt install chromium) or set CHROMIUM`);

  if (!process.env.E2E_SKIP_BUILD) {
    const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: uiDir, stdio: ['ignore', 'ignore', 'inherit'] });
    if (b.status !== 0) fatal('npm run build failed');
  }

  // --- the server -------------------------------------------------------------------------

  const { uiUrl, stop: stopServer } = await startServe(bin).catch((e) => fatal(e.message));
  const origin = new URL(uiUrl).origin;
  const host = new URL(uiUrl).host;
  process.on('SIGINT', () => process.exit(130));

  // --- the browser ------------------------------------------------------------------------

  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    colorScheme: 'light',
    acceptDownloads: true,
  });
  await serveUiFrom(context, origin, process.env.E2E_UI_DIR);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  // Every answer of 400 or more from the page's own origin (the UI, /api, /demo; its live
  // worker's requests too) is an error unless the running test declared it with
  // `expectHttpError`: a 500 from the page's own API call fails the run.
  let currentTest = '';
  /** What the running test provokes on purpose: { method, path (RegExp), status, seen }. */
  let expectedHttp = [];
  const httpErrors = [];
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (url.origin !== origin || r.status() < 400) return;
    const method = r.request().method();
    const e = expectedHttp.find((x) => x.method === method && x.status === r.status() && x.path.test(url.pathname));
    if (e) e.seen++;
    else httpErrors.push(`${currentTest}: ${method} ${url.pathname} answered ${r.status()}`);
  });
  /** Declares that the running test provokes this error answer. The test fails if it never came. */
  function expectHttpError(method, path, status) {
    expectedHttp.push({ method, path, status, seen: 0 });
  }
  // Chromium logs every error answer a second time as a console error ("Failed to load
  // resource: the server responded with a status of N"), with the URL as its location. For
  // the page's own origin the response listener above judges those answers; every other
  // console error (other origins, network failures, the page's own logging) is one.
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const own = (() => {
      try {
        return new URL(m.location().url).origin === origin;
      } catch {
        return false;
      }
    })();
    if (own && /^Failed to load resource: the server responded with a status of \d+/.test(m.text())) return;
    pageErrors.push(`${currentTest}: console: ${m.text()}`);
  });

  const results = [];
  async function test(name, fn, timeout = 30_000) {
    const t0 = Date.now();
    let timer;
    currentTest = name;
    expectedHttp = [];
    try {
      await Promise.race([
        fn(),
        new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${timeout} ms`)), timeout))),
      ]);
      const missing = expectedHttp.filter((e) => e.seen === 0);
      assert(
        missing.length === 0,
        `declared error answers that never came: ${missing.map((e) => `${e.method} ${e.path} ${e.status}`)}`,
      );
      results.push({ name, ok: true });
      console.log(`  ✓ ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      results.push({ name, ok: false });
      console.log(`  ✗ ${name}\n      ${String(e.message).split('\n').join('\n      ')}`);
      await page.screenshot({ path: join(artifacts, `failed-${slug(name)}.png`) }).catch(() => {});
    } finally {
      clearTimeout(timer);
    }
  }
  const slug = (s) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '');
  function assert(cond, msg) {
    if (!cond) throw new Error(msg);
  }
  async function until(what, fn, timeout = 10_000) {
    const t0 = Date.now();
    let last;
    while (Date.now() - t0 < timeout) {
      try {
        last = await fn();
        if (last) return last;
      } catch (e) {
        last = e;
      }
      await page.waitForTimeout(100);
    }
    throw new Error(
      `waited ${timeout} ms for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
    );
  }
  const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`) });

  const panes = () => page.locator('section.pane');
  const pane = (i) => panes().nth(i);
  /** The rows a pane shows: seq, dir, kind, note, preview. */
  function rowsOf(p) {
    return p.locator('.viewport .row').evaluateAll((els) =>
      els.map((el) => ({
        seq: Number(el.getAttribute('data-seq')),
        dir: /dir-(in|out|meta)/.exec(el.querySelector('.c-dir')?.className ?? '')?.[1] ?? '',
        kind: el.querySelector('.kind')?.textContent ?? '',
        note: el.querySelector('.note')?.textContent ?? '',
        preview: el.querySelector('.pv')?.textContent ?? '',
      })),
    );
  }
  const stateOf = (p) => p.locator('.status .state').innerText();
  /** `GET path` of the server's API as the page calls it (with the token the page keeps;
   * there is no cookie). An error answer throws, with its status. */
  const apiGet = (path) =>
    page.evaluate(async (p) => {
      const r = await fetch(p, { headers: { authorization: `Bearer ${sessionStorage.getItem('sscope.token')}` } });
      if (!r.ok) throw new Error(`GET ${p}: ${r.status}`);
      return r.json();
    }, path);
  const connIdOf = (i) => page.evaluate((i) => globalThis.sscope.panes[i].connId, i);
  /** The newest seq the page holds for pane `i`'s connection. */
  const lastSeqOf = (i) =>
    page.evaluate((i) => {
      const app = globalThis.sscope;
      return app.store.get(app.panes[i].connId)?.lastSeq ?? 0;
    }, i);

  // --- the tests --------------------------------------------------------------------------

  return {
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
  };
}
