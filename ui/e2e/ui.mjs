// The page the browser tests drive (run.mjs, daily.mjs, labs.mjs, library.mjs), and how
// they judge it: the server started (serve.mjs), Chromium on the built UI, every error
// answer from the server and every console error collected (`watchPage`), a `test` runner
// with its screenshot on failure, and the helpers they read panes with. Each script keeps
// its own prologue (what it removes from e2e/artifacts) and its tests.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serveUiFrom, startServe } from './serve.mjs';

/**
 * Starts the server and the browser for a test script. `label` names the script in a
 * fatal message, `prefix` its screenshots; `serve` goes to startServe.
 * @param {{ bin: string, chromiumPath: string, uiDir: string, artifacts: string, label?: string,
 *   prefix?: string, timeout?: number, serve?: object }} where
 */
export async function openUi({ bin, chromiumPath, uiDir, artifacts, label = '', prefix = '', timeout, serve = {} }) {
  function fatal(msg) {
    console.error(`e2e${label ? ` ${label}` : ''}: ${msg}`);
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

  const server = await startServe(bin, serve).catch((e) => fatal(e.message));
  const { uiUrl, stop: stopServer } = server;
  const origin = new URL(uiUrl).origin;
  const host = new URL(uiUrl).host;
  const port = Number(new URL(origin).port);
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
  const watched = watchPage(page, { port, artifacts, prefix, timeout });

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

  return {
    fatal,
    server,
    origin,
    host,
    port,
    uiUrl,
    stopServer,
    browser,
    context,
    page,
    ...watched,
    panes,
    pane,
    rowsOf,
    stateOf,
    apiGet,
    connIdOf,
    lastSeqOf,
  };
}

/**
 * Watches `page` for errors and runs named tests on it. Every answer of 400 or more from
 * the server on `port` (by either host name: the UI, /api, /demo, the live worker's
 * requests) is an error unless the running test declared it: `expectHttpError` for one it
 * provokes (the test fails if it never came), `tolerateHttpError` for one a race it cannot
 * order may bring. Every console error is one too, but for Chromium's second report of an
 * error answer from the server, which the response listener judges. While `restarting(true)`
 * (the server restarting on the same port), refused old tokens and failed requests are
 * the restart's doing.
 */
export function watchPage(page, { port, artifacts, prefix = '', timeout = 30_000 }) {
  const pageErrors = [];
  const httpErrors = [];
  const results = [];
  let currentTest = '';
  /** What the running test provokes on purpose: { method, path (RegExp), status, seen }. */
  let expectedHttp = [];
  /** What the running test may meet by a race it cannot order. */
  let toleratedHttp = [];
  let restartingNow = false;
  const fromServer = (url) => {
    try {
      return new URL(url).port === String(port);
    } catch {
      return false;
    }
  };

  page.on('pageerror', (e) => pageErrors.push(`${currentTest}: ${e.message}`));
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (r.status() < 400 || !fromServer(r.url())) return;
    if (restartingNow && r.status() === 401) return;
    const method = r.request().method();
    const is = (x) => x.method === method && x.status === r.status() && x.path.test(url.pathname);
    const e = expectedHttp.find(is);
    if (e) e.seen++;
    else if (!toleratedHttp.some(is))
      httpErrors.push(`${currentTest}: ${method} ${url.pathname} answered ${r.status()}`);
  });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const at = m.location().url;
    if (fromServer(at) && /^Failed to load resource: the server responded with a status of \d+/.test(m.text())) return;
    // A request in flight when the server stops ends in a reset or an empty answer.
    if (restartingNow && /WebSocket connection to .* failed|net::ERR_[A-Z_]+/.test(m.text())) return;
    pageErrors.push(`${currentTest}: console: ${m.text()} at ${at}`);
  });

  /** Declares that the running test provokes this error answer. The test fails if it never came. */
  function expectHttpError(method, path, status) {
    expectedHttp.push({ method, path, status, seen: 0 });
  }
  /** Declares an error answer the running test may meet by a race it cannot order. */
  function tolerateHttpError(method, path, status) {
    toleratedHttp.push({ method, path, status });
  }
  /** Says the server is restarting on the same port (true) or back (false). */
  function restarting(on) {
    restartingNow = on;
  }

  async function test(name, fn, ms = timeout) {
    const t0 = Date.now();
    let timer;
    currentTest = name;
    expectedHttp = [];
    toleratedHttp = [];
    try {
      await Promise.race([
        fn(),
        new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms))),
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
      await page.screenshot({ path: join(artifacts, `${prefix}failed-${slug(name)}.png`) }).catch(() => {});
    } finally {
      clearTimeout(timer);
    }
  }
  async function until(what, fn, ms = 10_000) {
    const t0 = Date.now();
    let last;
    while (Date.now() - t0 < ms) {
      try {
        last = await fn();
        if (last) return last;
      } catch (e) {
        last = e;
      }
      await page.waitForTimeout(100);
    }
    throw new Error(
      `waited ${ms} ms for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
    );
  }
  const shot = (name) => page.screenshot({ path: join(artifacts, `${prefix}${name}.png`) });

  return {
    pageErrors,
    httpErrors,
    results,
    expectHttpError,
    tolerateHttpError,
    restarting,
    test,
    until,
    shot,
    assert,
    slug,
  };
}

export const slug = (s) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
