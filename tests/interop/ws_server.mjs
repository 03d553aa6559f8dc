// Third-party peers for tests/interop.rs: Node's `ws` with perMessageDeflate, in the
// configurations a client must honour (RFC 7692): context takeover both ways, none
// either way, and windows smaller than 32 KiB. Each server echoes every message; on
// `/fragments` it first sends one compressed message in three fragments.
//
// Prints one JSON line with the ports, e.g. {"takeover": 41001, "no_takeover": 41002,
// "small_window": 41003}, then serves until killed. EOF on stdin ends it too, so no
// server outlives the test that started it.
//
// Needs: npm ci in tests/interop (the Makefile's `interop-deps` does it).

import { WebSocketServer } from 'ws';

const configs = {
  // threshold 0: compress every message, however small, so each test sees RSV1.
  takeover: { threshold: 0 },
  no_takeover: { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true },
  small_window: { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
};

function serve(perMessageDeflate) {
  return new Promise((resolve) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate }, () =>
      resolve(wss.address().port),
    );
    wss.on('connection', (ws, req) => {
      if (req.url === '/fragments') {
        const parts = ['one two three ', 'one two three ', 'one two three'];
        parts.forEach((p, i) => ws.send(p, { fin: i === parts.length - 1, compress: true }));
      }
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary, compress: true }));
    });
  });
}

const ports = {};
for (const [name, config] of Object.entries(configs)) ports[name] = await serve(config);
console.log(JSON.stringify(ports));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
