// A Node client of e2e/tap.mjs, run as its own process so that HTTPS_PROXY and
// NODE_EXTRA_CA_CERTS (read at start) are its own: reads three events from the URL in
// argv[2] through undici's EnvHttpProxyAgent (Node 20 has no NODE_USE_ENV_PROXY), and
// prints them as one JSON line.
import { EnvHttpProxyAgent, fetch } from 'undici';

const res = await fetch(process.argv[2], {
  dispatcher: new EnvHttpProxyAgent(),
  headers: { accept: 'text/event-stream' },
});
if (!res.ok) throw new Error(`answered ${res.status}`);
const events = [];
let buf = '';
const decoder = new TextDecoder();
for await (const chunk of res.body) {
  buf += decoder.decode(chunk, { stream: true });
  let at;
  while ((at = buf.indexOf('\n\n')) >= 0) {
    const block = buf.slice(0, at);
    buf = buf.slice(at + 2);
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6));
    if (data.length) events.push(data.join('\n'));
  }
  if (events.length >= 3) break;
}
console.log(JSON.stringify(events));
process.exit(0);
