// Helpers for the store's tests: chunks built the way the live worker builds them.

import type { StreamRecord } from '../contract';
import { toChunk, type Chunk } from '../transport/decode';

export function text(conn: string, seq: number, data: string, dir: 'in' | 'out' = 'in'): StreamRecord {
  return { t: '2026-01-02T03:04:05.000001Z', conn, proto: 'ws', seq, dir, kind: 'text', size: data.length, data };
}

/** Records seq `from`..`to` of a ws connection: every 10th a ping, the rest text. */
export function records(conn: string, from: number, to: number): StreamRecord[] {
  const out: StreamRecord[] = [];
  for (let s = from; s <= to; s++)
    out.push(
      s % 10 === 0
        ? { t: '2026-01-02T03:04:05Z', conn, proto: 'ws', seq: s, dir: 'out', kind: 'ping', size: 0, data_b64: '' }
        : text(conn, s, `message ${s}`),
    );
  return out;
}

export function chunk(conn: string, from: number, to: number): Chunk {
  return toChunk(conn, records(conn, from, to));
}
