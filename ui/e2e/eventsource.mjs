#!/usr/bin/env node
// The SSE parser against a reference no one here wrote: Chromium's own `EventSource`.
//
//   SSCOPE_BIN=/path/to/sscope node e2e/eventsource.mjs   (default /var/tmp/streamscope-target/debug/sscope)
//   CHROMIUM=/usr/bin/chromium                            (default; never downloads a browser)
//
// A small HTTP server on 127.0.0.1 serves each stream once as `text/event-stream` (and 204
// to any second request, which stops a browser from reconnecting). A page in headless
// Chromium reads every stream with `EventSource`; the built `sscope sse URL --no-reconnect`
// reads the same stream; every dispatched event's type, data and lastEventId must agree.
// The streams: the fuzz seeds (fuzz/seeds/sse_parse, header bytes stripped), streams built
// the way the parser's property tests build them (a seeded generator over the same lines),
// and hand-written edge cases. The reference reading in crates/model/src/sse/reference.rs
// copies the parser's field handling, so a misreading both share would pass there; here
// it cannot. Only events are comparable: a browser exposes no comments and no `retry`.
//
// Prints one line per group of streams and `N passed, N failed`; exits 1 on a difference.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const bin = process.env.SSCOPE_BIN || '/var/tmp/streamscope-target/debug/sscope';
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

function fatal(msg) {
  console.error(`eventsource: ${msg}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
if (!existsSync(bin)) fatal(`no sscope binary at ${bin}; build it (cargo build -p sscope) or set SSCOPE_BIN`);
if (!existsSync(chromiumPath)) fatal(`no Chromium at ${chromiumPath}; install it (apt install chromium)`);

// --- the streams ------------------------------------------------------------------------

/** @type {{ group: string, name: string, bytes: Buffer }[]} */
const streams = [];
const add = (group, name, bytes) => streams.push({ group, name, bytes: Buffer.from(bytes) });

// Fuzz seeds: byte 0's low 4 bits count the cut points, byte 1 is the small limits, then
// two bytes a cut, then the stream (fuzz/fuzz_targets/sse_parse.rs). Limits and cuts are
// the fuzz target's business; the stream is what both readers must agree on.
const seedDir = join(repo, 'fuzz', 'seeds', 'sse_parse');
for (const f of readdirSync(seedDir).sort()) {
  const input = readFileSync(join(seedDir, f));
  if (input.length < 2) {
    add('fuzz seeds', f, input);
    continue;
  }
  const rest = input.subarray(2);
  const cuts = Math.min(input[0] & 0x0f, Math.floor(rest.length / 2));
  add('fuzz seeds', f, rest.subarray(cuts * 2));
}

// Hand-written edge cases, one rule each (CONTRACT.md "SSE parsing follows the WHATWG ...").
const BOM = '\xEF\xBB\xBF';
const edge = {
  'bom dropped': `${BOM}data: a\n\n`,
  'second bom is content': `${BOM}${BOM}data: b\n\n`,
  'bom then lf': `${BOM}\nevent: x\ndata: a\n\n`,
  'bom then cr': `${BOM}\revent: x\rdata: a\r\r`,
  'bom only at the very start': `data: x\n\n${BOM}data: y\n\n`,
  'cr only': 'data: a\rdata: b\r\rid: 3\rdata: c\r\r',
  crlf: 'event: t\r\ndata: a\r\n\r\n',
  'lf cr mixed': 'data: a\n\rdata: b\r\n\n',
  'cr then lf is one line end': 'data: a\r\n\r\ndata: b\r\n\r\n',
  'lf then cr is two': 'data: a\n\r',
  'nul in id is ignored': 'id: 1\ndata: a\n\nid: 2\x00x\ndata: b\n\n',
  'id without value clears it': 'id: 5\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n',
  'id set without data carries to the next event': 'id: 9\n\ndata: later\n\n',
  'id kept when event has no id': 'id: 7\ndata: a\n\ndata: b\n\n',
  'retry with non-digits': 'retry: 12x\ndata: a\n\nretry: -1\ndata: b\n\nretry:\ndata: c\n\n',
  'retry valid': 'retry: 1500\ndata: a\n\n',
  'field without colon': 'data\n\ndata\ndata\n\nevent\ndata: x\n\n',
  'one space dropped, not two': 'data:  two\n\ndata:none\n\ndata: \n\n',
  'tab after colon kept': 'data:\tx\n\n',
  'space before colon is part of the name': 'data : x\ndata: y\n\n',
  'empty data dispatches nothing': 'event: e\n\ndata: a\n\n',
  'data: with empty value dispatches empty': 'data:\n\n',
  'two empty data lines': 'data\ndata\n\n',
  'unterminated last event discarded': 'data: a\n\ndata: b\n',
  'unterminated last line discarded': 'data: a\n\ndata: b',
  'event without data resets type': 'event: x\n\ndata: a\n\n',
  'event type reset after dispatch': 'event: x\ndata: a\n\ndata: b\n\n',
  'empty event name means message': 'event:\ndata: a\n\nevent: \ndata: b\n\n',
  'event name with spaces': 'event: two words\ndata: a\n\n',
  'multi-line data': 'data: a\ndata: b\ndata: c\n\n',
  'data with colons': 'data: a: b:c\n\n',
  'comments ignored': ': c\n:\ndata: a\n: between\ndata: b\n\n',
  'unknown fields ignored': 'foo: bar\ndata: a\nData: x\nDATA: y\n\n',
  unicode: 'data: é€😀\nevent: ünï\nid: ☃\n\n',
  'invalid utf-8': 'data: \xFF\xFE x \xC3\n\n',
  'truncated multi-byte at line end': 'data: \xE2\x82\ndata: \xF0\x9F\x98\n\n',
  'invalid utf-8 in event and id': 'event: \xFF\nid: \xC3\ndata: a\n\n',
  'overlong and surrogate encodings': 'data: \xC0\xAF \xED\xA0\x80\n\n',
  'nul in data': 'data: a\x00b\n\n',
  'event type message explicit': 'event: message\ndata: a\n\n',
  'event types open and error': 'event: open\ndata: a\n\nevent: error\ndata: b\n\n',
  'only blank lines': '\n\n\n\r\n\r\r',
  'empty stream': '',
};
for (const [name, text] of Object.entries(edge)) add('edge cases', name, Buffer.from(text, 'latin1'));
// latin1 above keeps the \xNN escapes as single bytes; the unicode case needs real UTF-8.
streams.find((s) => s.name === 'unicode').bytes = Buffer.from('data: é€😀\nevent: ünï\nid: ☃\n\n', 'utf8');
streams.find((s) => s.name === 'bom only at the very start').bytes = Buffer.concat([
  Buffer.from('data: x\n\n'),
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from('data: y\n\n'),
]);

// Streams built as the parser's property tests build them (`stream_strategy` in
// crates/model/src/sse/parse.rs): an optional BOM, up to 40 lines from the same set, each
// ended by LF, CR or CRLF, then up to 4 arbitrary bytes. A fixed seed keeps runs repeatable.
const PROPERTY_STREAMS = 150;
function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(0x5553_5345);
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const lines = [
  '',
  '',
  'data',
  'data:',
  'data: x',
  'data:  two spaces',
  null /* unicode */,
  'data: \xFF\xE2\x82',
  'event: tick',
  'event',
  'id: 42',
  'id: a\x00b',
  'id',
  'retry: 1500',
  'retry: 15x',
  ': comment',
  ':',
  'unknown: field',
  undefined /* [a-z:é ]{0,12} */,
].map((l) =>
  l === null ? () => Buffer.from('data: é€😀') : l === undefined ? randomLine : () => Buffer.from(l, 'latin1'),
);
function randomLine() {
  const chars = [...'abcdefghijklmnopqrstuvwxyz:é '];
  let s = '';
  for (let n = Math.floor(rnd() * 13); n > 0; n--) s += pick(chars);
  return Buffer.from(s, 'utf8');
}
for (let i = 0; i < PROPERTY_STREAMS; i++) {
  const parts = [];
  if (rnd() < 0.5) parts.push(Buffer.from([0xef, 0xbb, 0xbf]));
  for (let n = Math.floor(rnd() * 40); n > 0; n--) {
    parts.push(pick(lines)());
    parts.push(Buffer.from(pick(['\n', '\r', '\r\n'])));
  }
  for (let n = Math.floor(rnd() * 4); n > 0; n--) parts.push(Buffer.from([Math.floor(rnd() * 256)]));
  add('property streams', `#${i}`, Buffer.concat(parts));
}

// Where Chromium deviates from the WHATWG spec. A line end right after the BOM: the spec's
// UTF-8 decode drops the BOM, so `BOM LF event: x` is an empty line and then `event: x`.
// Chromium's EventSourceParser::AddBytes (third_party/blink/.../eventsource/
// event_source_parser.cc) `continue`s past the byte that completes its BOM check without
// looking at it, so that CR or LF joins the next line (`\nevent` is an unknown field) and
// the event comes out as `message`. Our parser follows the spec. Rather than drop such
// streams, Chromium reads them without the BOM, which by the spec reads the same: the
// rest of the stream is still compared.
const BOM_BYTES = Buffer.from([0xef, 0xbb, 0xbf]);
const bomThenLineEnd = (b) => b.subarray(0, 3).equals(BOM_BYTES) && (b[3] === 0x0d || b[3] === 0x0a);
/** What Chromium is served for stream `s`. */
const forChromium = (s) => (bomThenLineEnd(s.bytes) ? s.bytes.subarray(3) : s.bytes);
const worksAround = streams.filter((s) => bomThenLineEnd(s.bytes)).length;

// --- the server -------------------------------------------------------------------------

const served = new Set();
const server = createServer((req, res) => {
  const m = /^\/s\/(\d+)$/.exec(req.url ?? '');
  if (!m) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>eventsource</title>');
    return;
  }
  const i = Number(m[1]);
  // Each reader gets the stream once; a reconnection gets 204, which ends EventSource
  // for good and is what `--no-reconnect` never asks for.
  const key = `${req.headers['user-agent']?.includes('sscope') ? 'sscope' : 'browser'}:${i}`;
  if (served.has(key) || !streams[i]) {
    res.writeHead(204);
    res.end();
    return;
  }
  served.add(key);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
  res.end(key.startsWith('browser') ? forChromium(streams[i]) : streams[i].bytes);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

// --- the two readers --------------------------------------------------------------------

/** sscope's `event` records, as the browser would show them. */
function sscopeEvents(i) {
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      ['sse', `${origin}/s/${i}`, '--no-reconnect', '--timeout', '20', '-H', 'User-Agent: sscope'],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        // Exit 0 is the contract for a stream that ends with --no-reconnect.
        if (err) return reject(new Error(`sscope exited ${err.code}: ${stderr.trim()}`));
        const events = stdout
          .split('\n')
          .filter((l) => l)
          .map((l) => JSON.parse(l))
          .filter((r) => r.kind === 'event')
          .map((r) => ({ type: r.event, data: r.data, lastEventId: r.id ?? '' }));
        resolve(events);
      },
    );
  });
}

/**
 * Every event type the stream might name: a superset from a loose scan (any line starting
 * `event`), so that no event the browser dispatches goes unheard for want of a listener.
 */
function candidateTypes(bytes) {
  const text = new TextDecoder('utf-8').decode(bytes);
  const types = new Set(['message']);
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('event')) continue;
    const rest = line.slice(5);
    if (rest === '') types.add('');
    else if (rest.startsWith(':')) types.add(rest.slice(1).replace(/^ /, ''));
  }
  types.delete('');
  return [...types];
}

const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
const page = await browser.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
await page.goto(origin + '/');

/** The browser's events: read until the stream ends (the first non-message `error`). */
function browserEvents(i, types) {
  return page.evaluate(
    ({ url, types }) =>
      new Promise((resolve) => {
        const got = [];
        const es = new EventSource(url);
        const timer = setTimeout(() => {
          es.close();
          resolve({ timedOut: true, got });
        }, 15_000);
        const onEvent = (e) => {
          // A stream may name its events `open` or `error`: those are MessageEvents, the
          // connection's own `open` and `error` are plain Events.
          if (e instanceof MessageEvent) {
            got.push({ type: e.type, data: e.data, lastEventId: e.lastEventId });
          } else if (e.type === 'error') {
            clearTimeout(timer);
            es.close();
            resolve({ timedOut: false, got });
          }
        };
        for (const t of new Set([...types, 'error'])) es.addEventListener(t, onEvent);
      }),
    { url: `${origin}/s/${i}`, types },
  );
}

// --- the comparison ---------------------------------------------------------------------

const show = (v) => JSON.stringify(v);
/** @type {Map<string, { ok: number, failures: string[] }>} */
const groups = new Map();
let compared = 0;
for (let i = 0; i < streams.length; i++) {
  const s = streams[i];
  const g = groups.get(s.group) ?? { ok: 0, failures: [] };
  groups.set(s.group, g);
  let ours;
  let theirs;
  try {
    ours = await sscopeEvents(i);
    const got = await browserEvents(i, [...new Set([...candidateTypes(s.bytes), ...ours.map((e) => e.type)])]);
    if (got.timedOut) throw new Error('the browser never saw the stream end');
    theirs = got.got;
  } catch (e) {
    g.failures.push(`${s.name}: ${e.message}`);
    continue;
  }
  compared += theirs.length;
  if (show(ours) === show(theirs)) {
    g.ok++;
    continue;
  }
  const at = ours.findIndex((e, k) => show(e) !== show(theirs[k]));
  const k = at === -1 ? ours.length : at;
  g.failures.push(
    `${s.name} (stream ${show(s.bytes.toString('latin1'))}): event ${k} differs\n` +
      `      sscope:   ${show(ours[k])} (${ours.length} events)\n` +
      `      Chromium: ${show(theirs[k])} (${theirs.length} events)`,
  );
}

await browser.close();
server.close();

let passed = 0;
let failed = 0;
for (const [group, g] of groups) {
  const total = g.ok + g.failures.length;
  const ok = g.failures.length === 0;
  ok ? passed++ : failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} sscope and Chromium's EventSource agree on ${g.ok}/${total} ${group}`);
  // The first few differences say what is wrong; the count says how widely.
  for (const f of g.failures.slice(0, 5)) console.log(`      ${f}`);
  if (g.failures.length > 5) console.log(`      ... and ${g.failures.length - 5} more`);
}
const pageOk = pageErrors.length === 0;
pageOk ? passed++ : failed++;
console.log(`${pageOk ? 'ok  ' : 'FAIL'} no errors in the page${pageOk ? '' : `: ${pageErrors.join('; ')}`}`);
// A comparison of nothing would pass vacuously: the streams must dispatch events.
const some = compared > 100;
some ? passed++ : failed++;
console.log(`${some ? 'ok  ' : 'FAIL'} ${compared} events compared across ${streams.length} streams`);
console.log(`      (${worksAround} streams start with a BOM and a line end: Chromium read them without the BOM)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
