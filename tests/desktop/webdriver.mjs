// One WebDriver endpoint (tauri-driver in front of WebKitWebDriver), spoken to with plain
// requests over fetch, and the loopback port it listens on: shared by
// tests/desktop/smoke.mjs and bench/desktop-firehose.mjs, which drive the desktop app the
// same way. Starting and stopping tauri-driver, and what to do in the page, stay with
// each script.

import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

/** A loopback port nothing listens on now, for tauri-driver to take. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Whether something accepts connections on loopback `port`. */
export function portOpen(port) {
  return new Promise((res) => {
    const c = connect({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

/** Starts `tauriDriver` on `port` in its own process group (so its helpers can be found
 * and ended), in front of `nativeDriver` on a free port, with a private config, data and
 * cache `home`. `stdout` is `'inherit'` or `'ignore'`; stderr always shows. */
export async function spawnTauriDriver({ tauriDriver, nativeDriver, port, home, stdout }) {
  return spawn(tauriDriver, ['--port', String(port), '--native-port', String(await freePort()), '--native-driver', nativeDriver], {
    detached: true,
    stdio: ['ignore', stdout, 'inherit'],
    env: {
      ...process.env,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_DATA_HOME: join(home, 'data'),
      XDG_CACHE_HOME: join(home, 'cache'),
      // No session bus under Xvfb: GTK's file chooser keeps its settings in memory.
      GSETTINGS_BACKEND: 'memory',
    },
  });
}

/** One WebDriver endpoint (tauri-driver in front of WebKitWebDriver). */
export class Driver {
  constructor(port) { this.base = `http://127.0.0.1:${port}`; }
  async req(method, path, body, timeoutMs = 20000) {
    const r = await fetch(this.base + path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const json = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json.value ?? json).slice(0, 300)}`);
    return json.value;
  }
  /**
   * Starts the app. tauri-driver listens before the WebKitWebDriver behind it does; on a
   * loaded machine a request in between fails at the network level ("fetch failed", the
   * driver's own connection refused), so that, and only that, is tried again for up to
   * 20 s. An answer from the driver, even an error, is final.
   */
  async newSession(application) {
    const body = { capabilities: { alwaysMatch: { 'tauri:options': { application } } } };
    const until = Date.now() + 20000;
    for (;;) {
      try {
        const v = await this.req('POST', '/session', body, 60000);
        this.session = `/session/${v.sessionId}`;
        return v.sessionId;
      } catch (e) {
        if (!(e instanceof TypeError) || Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  exec(script, args = []) { return this.req('POST', `${this.session}/execute/sync`, { script, args }); }
  execAsync(script, args = []) { return this.req('POST', `${this.session}/execute/async`, { script, args }); }
}
