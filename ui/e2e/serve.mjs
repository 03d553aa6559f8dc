// Starts `sscope serve --port 0` for the browser tests and the UI benchmark, and reads the
// UI's URL (with its launch token) from what the server prints. The server is stopped by
// its pid when this process exits, whatever way it ends.

import { spawn } from 'node:child_process';

/**
 * @param {string} bin the `sscope` binary
 * @returns {Promise<{ server: import('node:child_process').ChildProcess, uiUrl: string,
 *   token: string, output: () => string, stop: () => void }>} `token` is the launch token
 *   of `uiUrl` (in its fragment), for API calls from outside the page; rejects with the server's output when no
 *   URL comes within 15 s, the server exits, or it says the UI is not built.
 */
export async function startServe(bin) {
  const server = spawn(bin, ['serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stderr.on('data', (d) => (out += d));
  const stop = () => {
    // By pid: only the server this process started.
    if (server.exitCode === null && server.signalCode === null) process.kill(server.pid, 'SIGTERM');
  };
  process.on('exit', stop);
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
  return { server, uiUrl, token, output: () => out, stop };
}
