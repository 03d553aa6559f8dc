// Starts `sscope serve --port 0` for the browser tests and the UI benchmark, and reads the
// UI's URL (with its launch token) from what the server prints; and, for a binary built
// elsewhere, serves the page this tree's built UI (`serveUiFrom`). The server is stopped by
// its pid when this process exits, whatever way it ends.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * @param {string} bin the `sscope` binary
 * @returns {Promise<{ server: import('node:child_process').ChildProcess, uiUrl: string,
 *   token: string, output: () => string, stop: () => void }>} `token` is the launch token
 *   of `uiUrl` (in its fragment), for API calls from outside the page; rejects with the server's output when no
 *   URL comes within 15 s, the server exits, or it says the UI is not built.
 */
export async function startServe(bin) {
  // Recordings go to a private data directory, removed when this process exits.
  const dataDir = mkdtempSync(join(tmpdir(), 'streamscope-e2e-'));
  const server = spawn(bin, ['serve', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stderr.on('data', (d) => (out += d));
  const stop = () => {
    // By pid: only the server this process started.
    if (server.exitCode === null && server.signalCode === null) process.kill(server.pid, 'SIGTERM');
  };
  process.on('exit', () => {
    stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const [, uiUrl, token] = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no UI URL from sscope serve within 15 s:\n${out}`)), 15_000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = /UI:\s+(http:\/\/\S+#token=([0-9a-f]+))/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    server.on('exit', (code) => reject(new Error(`sscope serve exited (${code}):\n${out}`)));
  });
  if (/not built/.test(out)) {
    stop();
    throw new Error(`the server does not serve this UI (it says the UI is not built):\n${out}`);
  }
  return { server, uiUrl, token, output: () => out, stop, dataDir };
}

/**
 * The server reads the UI from the directory it was compiled beside, so a binary built in
 * another worktree serves that worktree's UI. With `dir` (E2E_UI_DIR) the page's scripts
 * and styles come from that built UI instead, matched by name without Vite's hash (the
 * index.html of both builds has the same shape). Chromium gives a document or a worker
 * the address space of where it came from, and one fulfilled here came from nowhere
 * (public), whose requests to the loopback it refuses. So the document and the live
 * worker stay the server's (the worker is transport's code, the same in both builds).
 *
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} origin the server's origin
 * @param {string | undefined} dir a built UI (`ui/dist`); nothing changes without it
 */
export async function serveUiFrom(context, origin, dir) {
  if (!dir) return;
  const assets = join(dir, 'assets');
  const unhashed = (f) => f.replace(/-[A-Za-z0-9_-]{8}(\.[a-z.]+)$/, '$1');
  const ours = new Map(readdirSync(assets).map((f) => [unhashed(f), f]));
  const types = { js: 'text/javascript', css: 'text/css', map: 'application/json' };
  const WORKER = /live\.worker-[A-Za-z0-9_-]{8}\.js/;
  await context.route(`${origin}/assets/**`, async (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop();
    const file = ours.get(unhashed(name));
    if (!file || WORKER.test(name)) return route.continue();
    let body = readFileSync(join(assets, file));
    if (WORKER.test(body.toString('latin1'))) {
      // Point our entry at the server's worker.
      const theirs = WORKER.exec(await (await route.fetch()).text())?.[0];
      if (theirs) body = Buffer.from(body.toString('utf8').replace(WORKER, theirs));
    }
    await route.fulfill({
      status: 200,
      contentType: `${types[file.split('.').pop()] ?? 'application/octet-stream'}; charset=utf-8`,
      body,
    });
  });
}
