/// <reference lib="webworker" />
// The live record stream, off the UI thread: owns the `/api/live` WebSocket, parses each
// batch (up to 50,000 records, megabytes of JSON), turns records into compact column
// chunks and posts them to the page with their buffers transferred. It keeps the last
// `seq` of every connection, so a dropped socket resumes with `?from=` and nothing is
// lost or shown twice, and it tells the server which connections the page watches (at
// connect, then with a watch message when the set changes), so the server reads and
// sends nothing else. It also fetches and decodes the pages of older records a list
// scrolls back to, for the same reason: parsing is what the UI thread must not do.

import { Api } from './api';
import { chunkItems, PREVIEW_CHARS, toChunk, type Chunk } from './decode';
import { liveProtocols, liveUrl, type Session } from './session';
import type { LiveBatch, LiveError } from './types';
import type { FromWorker, ToWorker } from './live';
import { watchMessage } from './watch';

declare const self: DedicatedWorkerGlobalScope;

let session: Session | null = null;
let socket: WebSocket | null = null;
let stopped = false;
let attempt = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
const last = new Map<string, number>();
/** The connections the page watches. */
let watched = new Set<string>();
/** What the open socket's server side watches: the set its URL or last message named. */
let told = new Set<string>();
/** Records of connections the page no longer watches, still in flight, are dropped. */
const unwatched = { has: (conn: string) => !watched.has(conn) };

function post(msg: FromWorker, transfer: Transferable[] = []) {
  self.postMessage(msg, transfer);
}

function buffers(c: Chunk): Transferable[] {
  return [c.seq.buffer, c.t.buffer, c.dir.buffer, c.kind.buffer, c.size.buffer, c.ends.buffer];
}

async function page(id: number, conn: string, from: number, limit: number) {
  try {
    if (!session) throw new Error('the live feed has not started');
    const p = await new Api(session).records(conn, from, limit);
    const chunk = toChunk(conn, p.records);
    post({ type: 'page', id, chunk }, buffers(chunk));
  } catch (e) {
    post({ type: 'page', id, error: e instanceof Error ? e.message : String(e) });
  }
}

/** Tells the open socket the current watch set, if it differs from what it was told. */
function sayWatch() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  const msg = watchMessage(told, watched, last);
  if (!msg) return;
  socket.send(JSON.stringify(msg));
  told = new Set(watched);
}

function connect() {
  if (!session || stopped) return;
  post({ type: 'status', state: attempt === 0 ? 'connecting' : 'retrying', attempt });
  // Runs of columns, data cut to what a row shows: half the bytes of whole records, and
  // bytes are what this path pays for (ui_socket.rs).
  const ws = new WebSocket(liveUrl(session, last, PREVIEW_CHARS, watched), liveProtocols(session));
  socket = ws;
  const named = new Set(watched);
  ws.onopen = () => {
    attempt = 0;
    told = named;
    // The set may have changed while the socket was opening.
    sayWatch();
    post({ type: 'status', state: 'open', attempt: 0 });
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== 'string') return;
    let msg: LiveBatch | LiveError;
    try {
      msg = JSON.parse(ev.data) as LiveBatch | LiveError;
    } catch {
      return;
    }
    if (msg.type === 'error') {
      // Only a bug of ours makes the server refuse a watch message; say so in the console.
      console.warn(`/api/live refused a message: ${msg.message}`);
      return;
    }
    if (msg.type !== 'batch') return;
    const items = msg.items ?? msg.records;
    const chunks = chunkItems(Array.isArray(items) ? items : [], last, unwatched);
    if (chunks.length || msg.conns || msg.list)
      post({ type: 'batch', chunks, conns: msg.conns, list: msg.list }, chunks.flatMap(buffers));
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    if (stopped) return;
    attempt++;
    post({ type: 'status', state: 'retrying', attempt });
    // 0.25 s, 0.5 s, 1 s … 4 s: the server restarts quickly or not at all.
    const delay = Math.min(4000, 250 * 2 ** Math.min(attempt - 1, 4));
    timer = setTimeout(connect, delay);
  };
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  switch (msg.type) {
    case 'start':
      session = msg.session;
      for (const [id, seq] of msg.cursors) last.set(id, Math.max(seq, last.get(id) ?? 0));
      watched = new Set(msg.watch);
      stopped = false;
      if (!socket) connect();
      else sayWatch();
      break;
    case 'watch':
      // A connection the page attaches starts after what the page already holds of it.
      for (const [id, seq] of msg.from) if (!last.has(id)) last.set(id, seq);
      watched = new Set(msg.ids);
      sayWatch();
      break;
    case 'page':
      void page(msg.id, msg.conn, msg.from, msg.limit);
      break;
    case 'stop':
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000);
      socket = null;
      break;
  }
};
