/// <reference lib="webworker" />
// The live record stream, off the UI thread: owns the `/api/live` WebSocket, parses each
// batch (up to 50,000 records, megabytes of JSON), turns records into compact column
// chunks and posts them to the page with their buffers transferred. It keeps the last
// `seq` of every connection, so a dropped socket resumes with `?from=` and nothing is
// lost or shown twice.

import { chunkRecords } from './decode';
import { liveUrl, type Session } from './session';
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

function connect() {
  if (!session || stopped) return;
  post({ type: 'status', state: attempt === 0 ? 'connecting' : 'retrying', attempt });
  const ws = new WebSocket(liveUrl(session, last));
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
    post({ type: 'status', state: 'open', attempt: 0 });
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== 'string') return;
    let msg: LiveBatch;
    try {
      msg = JSON.parse(ev.data) as LiveBatch;
    } catch {
      return;
    }
    if (msg.type !== 'batch') return;
    const chunks = chunkRecords(Array.isArray(msg.records) ? msg.records : [], last, ignore);
    const transfer: Transferable[] = [];
    for (const c of chunks)
      transfer.push(c.seq.buffer, c.t.buffer, c.dir.buffer, c.kind.buffer, c.size.buffer, c.ends.buffer);
    if (chunks.length || msg.conns) post({ type: 'batch', chunks, conns: msg.conns }, transfer);
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
    case 'stop':
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000);
      socket = null;
      break;
  }
};
