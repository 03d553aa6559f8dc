/// <reference lib="webworker" />
// The live record stream, off the UI thread: owns the `/api/live` WebSocket, parses each
// batch (up to 50,000 records, megabytes of JSON), turns records into compact column
// chunks and posts them to the page with their buffers transferred. It keeps the last
// `seq` of every connection, so a dropped socket resumes with `?from=` and nothing is
// lost or shown twice. It also fetches and decodes the pages of older records a list
// scrolls back to, for the same reason: parsing is what the UI thread must not do.

import { Api } from './api';
import { chunkItems, PREVIEW_CHARS, toChunk, type Chunk } from './decode';
import { liveProtocols, liveUrl, type Session } from './session';
import type { LiveBatch } from './types';
import type { FromWorker, ToWorker } from './live';

declare const self: DedicatedWorkerGlobalScope;

let session: Session | null = null;
let socket: WebSocket | null = null;
let stopped = false;
let attempt = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
const last = new Map<string, number>();
const ignore = new Set<string>();

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

function connect() {
  if (!session || stopped) return;
  post({ type: 'status', state: attempt === 0 ? 'connecting' : 'retrying', attempt });
  // Runs of columns, data cut to what a row shows: half the bytes of whole records, and
  // bytes are what this path pays for (ui_socket.rs).
  const ws = new WebSocket(liveUrl(session, last, PREVIEW_CHARS), liveProtocols(session));
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
    post({ type: 'status', state: 'open', attempt: 0 });
  };
  ws.onmessage = (ev) => {
    // A socket being replaced (see `watch`) may still deliver; its cursors are stale.
    if (socket !== ws || typeof ev.data !== 'string') return;
    let msg: LiveBatch;
    try {
      msg = JSON.parse(ev.data) as LiveBatch;
    } catch {
      return;
    }
    if (msg.type !== 'batch') return;
    const items = msg.items ?? msg.records;
    const chunks = chunkItems(Array.isArray(items) ? items : [], last, ignore);
    if (chunks.length || msg.conns) post({ type: 'batch', chunks, conns: msg.conns }, chunks.flatMap(buffers));
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
      for (const id of msg.ignore) ignore.add(id);
      stopped = false;
      if (!socket) connect();
      break;
    case 'ignore':
      for (const id of msg.ids) ignore.add(id);
      break;
    case 'watch': {
      ignore.delete(msg.id);
      last.set(msg.id, msg.from);
      // The server's cursor for this connection is past `from` (its records were sent
      // and dropped here): reopen with `?from=` so it starts over there. Every other
      // connection resumes where it was, so nothing is lost or shown twice.
      const old = socket;
      if (old) {
        socket = null;
        old.close(1000);
        connect();
      }
      break;
    }
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
