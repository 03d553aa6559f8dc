// JSON-RPC 2.0 request ↔ response matching over a connection's rows: a response is the
// answer to the request with its id sent the other way, and the time between them is
// the round trip. Fed every row once, in seq order; bounded, forgetting the oldest.

import type { Dir } from '../contract';

/** Requests and matches remembered: a long session's worth, a few MB at most. */
export const RPC_REMEMBERED = 100_000;

export interface RpcMatch {
  /** The request's seq, its method, and the round trip in ms. */
  requestSeq: number;
  method?: string;
  rttMs: number;
}

export interface RpcAnswered {
  responseSeq: number;
  rttMs: number;
}

export class RpcIndex {
  /** Pending requests by `${dir}:${id}`. */
  private pending = new Map<string, { seq: number; t: number; method?: string }>();
  /** The request each response answers, by the response's seq. */
  readonly responses = new Map<number, RpcMatch>();
  /** The response each request got, by the request's seq. */
  readonly answered = new Map<number, RpcAnswered>();
  observe(
    seq: number,
    t: number,
    dir: Dir,
    msg: { id: string; role: 'request' | 'response' | 'notification'; method?: string },
  ) {
    if (msg.role === 'notification' || msg.id === '') return;
    if (msg.role === 'request') {
      this.pending.set(`${dir}:${msg.id}`, { seq, t, method: msg.method });
      trim(this.pending);
      return;
    }
    const asked = `${dir === 'in' ? 'out' : 'in'}:${msg.id}`;
    const req = this.pending.get(asked);
    if (!req) return;
    this.pending.delete(asked);
    const rttMs = Math.max(0, t - req.t);
    this.responses.set(seq, { requestSeq: req.seq, method: req.method, rttMs });
    this.answered.set(req.seq, { responseSeq: seq, rttMs });
    trim(this.responses);
    trim(this.answered);
  }
}

function trim<K, V>(m: Map<K, V>) {
  while (m.size > RPC_REMEMBERED) m.delete(m.keys().next().value as K);
}

/** A JSON-RPC message's id, method and role from a row preview that may be cut short
 * (so not parseable as JSON): read from its top-level-looking keys. */
export function rpcFromPreview(
  preview: string,
): { id: string; role: 'request' | 'response' | 'notification'; method?: string } | null {
  if (!/^\s*\{.*"jsonrpc"\s*:\s*"2\.0"/.test(preview)) return null;
  const method = /"method"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(preview)?.[1];
  const idm = /"id"\s*:\s*("((?:[^"\\]|\\.)*)"|-?\d+)/.exec(preview);
  const id = idm ? (idm[2] ?? idm[1]) : undefined;
  if (method !== undefined) return { id: id ?? '', role: id === undefined ? 'notification' : 'request', method };
  if (/"(result|error)"\s*:/.test(preview) && id !== undefined) return { id, role: 'response' };
  return null;
}
