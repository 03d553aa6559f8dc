// The record of CONTRACT.md, as the UI reads it: one JSON object per frame, event or
// connection happening. This file mirrors the contract table; change both together.
// `parseRecord` checks a value strictly (tests, pages from the API); the live path uses
// `isRecordLike`, which is cheap enough for 100,000 records a second.

export type Proto = 'ws' | 'sse';
export type Dir = 'in' | 'out' | 'meta';

export const WS_KINDS = ['open', 'text', 'binary', 'ping', 'pong', 'close', 'error'] as const;
export const SSE_KINDS = ['open', 'event', 'comment', 'retry', 'reconnect', 'end', 'error'] as const;
export type WsKind = (typeof WS_KINDS)[number];
export type SseKind = (typeof SSE_KINDS)[number];
export type Kind = WsKind | SseKind;

/** Every kind once, in a fixed order: the UI stores a kind as its index here. */
export const KINDS: readonly Kind[] = [
  'open',
  'text',
  'binary',
  'ping',
  'pong',
  'close',
  'error',
  'event',
  'comment',
  'retry',
  'reconnect',
  'end',
];
export const DIRS: readonly Dir[] = ['in', 'out', 'meta'];

/** One record (CONTRACT.md, "The record"). Optional fields are present only where the
 * contract says so. */
export interface StreamRecord {
  /** RFC 3339 UTC with microseconds. */
  t: string;
  conn: string;
  proto: Proto;
  /** 1, 2, 3 … per connection, no gaps. */
  seq: number;
  dir: Dir;
  kind: Kind;
  /** Payload bytes (UTF-8 bytes for text), on text, binary, ping, pong, event, comment. */
  size?: number;
  data?: string;
  data_b64?: string;
  event?: string;
  id?: string;
  retry_ms?: number;
  code?: number;
  reason?: string;
  status?: number;
  headers?: Record<string, string>;
  subprotocol?: string;
  attempt?: number;
  last_event_id?: string;
  message?: string;
  /** On `error` records: why, as a stable code (README, "Contract additions"). A code
   * this build does not know is kept as it came. */
  cause?: string;
  // Wire figures (README, "Contract additions"), on records the engine saw.
  /** WebSocket: every frame's header, mask key and payload. SSE (event, comment, retry):
   * the event stream's bytes since the item before, line ends and field names included. */
  wire_bytes?: number;
  /** Frames that carried the message (1 for a control frame). */
  frames?: number;
  /** The payload as it crossed the wire, when permessage-deflate compressed it (SSE: the
   * item's share of a gzip or br body's bytes). */
  compressed_size?: number;
  /** SSE items of a `Transfer-Encoding: chunked` body: the chunk framing bytes (size lines,
   * extensions, CRLFs) read before the item's first byte and after the item before it. */
  framing_bytes?: number;
  /** Each frame of a message that went in more than one. */
  frame_list?: WireFrame[];
  /** On WebSocket `open`: the handshake request's and response head's bytes. */
  request_size?: number;
  response_size?: number;
  /** On WebSocket `open`: the extensions the server agreed to, as it said them. */
  extensions?: string;
}

/** One frame's header as it crossed the wire (RFC 6455 5.2). */
export interface WireFrame {
  fin: boolean;
  opcode: number;
  /** Set on the first frame of a compressed message. */
  rsv1: boolean;
  /** What we send is masked; what a server sends is not. */
  masked: boolean;
  len: number;
}

/** Frames listed on one record at most (the engine's `MAX_FRAME_LIST`). */
export const MAX_FRAME_LIST = 256;

const WIRE_KINDS: ReadonlySet<string> = new Set(['text', 'binary', 'ping', 'pong', 'close']);

/** The `cause` codes of `error` records (README, "Contract additions"). */
export const CAUSES = [
  'refused',
  'dns',
  'connect_timeout',
  'tls_untrusted',
  'tls_other',
  'handshake_rejected',
  'not_event_stream',
  'protocol_violation',
  'too_big',
  'pong_timeout',
  'idle_timeout',
  'transport_lost',
  'close_timeout',
  'attempts_exhausted',
  'count_not_reached',
  'bad_request',
  'memory_budget',
  'disk_budget',
] as const;
export type Cause = (typeof CAUSES)[number];

/** Kinds whose records carry `size` (CONTRACT.md, "Details that tests hold you to"). */
export const SIZED_KINDS: ReadonlySet<Kind> = new Set<Kind>(['text', 'binary', 'ping', 'pong', 'event', 'comment']);

/** The direction the contract fixes for a kind, where it fixes one. */
export const FIXED_DIR: Partial<Record<Kind, Dir>> = {
  open: 'meta',
  end: 'meta',
  reconnect: 'meta',
  error: 'meta',
  retry: 'in',
  comment: 'in',
};

export class ContractError extends Error {
  override name = 'ContractError';
}

const KIND_SET: ReadonlySet<string> = new Set(KINDS);
const WS_SET: ReadonlySet<string> = new Set(WS_KINDS);
const SSE_SET: ReadonlySet<string> = new Set(SSE_KINDS);

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` (the fraction may be shorter or absent). */
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, with the microseconds kept as the fraction.
 * NaN when `t` is not RFC 3339. */
export function parseTime(t: string): number {
  const m = TIME_RE.exec(t);
  if (!m) return NaN;
  const whole = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  let offset = 0;
  const z = m[8];
  if (z !== 'Z') {
    const sign = z[0] === '-' ? -1 : 1;
    offset = sign * (Number(z.slice(1, 3)) * 60 + Number(z.slice(4, 6))) * 60_000;
  }
  return whole + frac - offset;
}

function need(cond: unknown, what: string, r: Record<string, unknown>): asserts cond {
  if (!cond) {
    const where = typeof r.conn === 'string' && typeof r.seq === 'number' ? ` (${r.conn} seq ${r.seq})` : '';
    throw new ContractError(`${what}${where}`);
  }
}

function optional(r: Record<string, unknown>, field: string, type: 'string' | 'number') {
  const v = r[field];
  need(v === undefined || typeof v === type, `${field} must be a ${type}`, r);
  if (type === 'number' && v !== undefined) need(Number.isInteger(v), `${field} must be an integer`, r);
}

/** Checks `value` against the contract and returns it typed; throws ContractError. */
export function parseRecord(value: unknown): StreamRecord {
  need(typeof value === 'object' && value !== null && !Array.isArray(value), 'a record is a JSON object', {});
  const r = value as Record<string, unknown>;
  need(typeof r.t === 'string' && !Number.isNaN(parseTime(r.t)), 't must be an RFC 3339 time', r);
  need(typeof r.conn === 'string' && /^c\d+$/.test(r.conn), 'conn must look like c1', r);
  need(r.proto === 'ws' || r.proto === 'sse', 'proto must be "ws" or "sse"', r);
  need(typeof r.seq === 'number' && Number.isInteger(r.seq) && r.seq >= 1, 'seq must be an integer ≥ 1', r);
  need(r.dir === 'in' || r.dir === 'out' || r.dir === 'meta', 'dir must be in, out or meta', r);
  need(typeof r.kind === 'string' && KIND_SET.has(r.kind), `unknown kind ${JSON.stringify(r.kind)}`, r);
  const kind = r.kind as Kind;
  need((r.proto === 'ws' ? WS_SET : SSE_SET).has(kind), `kind ${kind} does not belong to ${String(r.proto)}`, r);
  const fixed = FIXED_DIR[kind];
  need(!fixed || r.dir === fixed, `${kind} records have dir ${fixed}`, r);
  for (const f of [
    'data',
    'data_b64',
    'event',
    'id',
    'reason',
    'subprotocol',
    'last_event_id',
    'message',
    'cause',
    'extensions',
  ])
    optional(r, f, 'string');
  for (const f of ['wire_bytes', 'frames', 'compressed_size', 'framing_bytes', 'request_size', 'response_size'])
    optional(r, f, 'number');
  need(
    r.framing_bytes === undefined ||
      (r.proto === 'sse' && ['event', 'comment', 'retry'].includes(kind) && r.wire_bytes !== undefined),
    'only SSE events, comments and retries carry framing_bytes, beside wire_bytes',
    r,
  );
  need(r.frames === undefined || (r.proto === 'ws' && WIRE_KINDS.has(kind)), 'only WebSocket frames carry frames', r);
  for (const f of ['request_size', 'response_size', 'extensions'])
    need(r[f] === undefined || (r.proto === 'ws' && kind === 'open'), `only WebSocket open records carry ${f}`, r);
  if (r.frame_list !== undefined) {
    need(Array.isArray(r.frame_list), 'frame_list must be an array', r);
    // At most 256 frames are listed; `frames` counts them all.
    need(
      typeof r.frames === 'number' && (r.frame_list as unknown[]).length === Math.min(r.frames, MAX_FRAME_LIST),
      'frame_list lists every frame (at most 256)',
      r,
    );
    for (const f of r.frame_list as unknown[]) {
      const fr = f as Record<string, unknown>;
      need(
        typeof f === 'object' &&
          f !== null &&
          typeof fr.fin === 'boolean' &&
          typeof fr.rsv1 === 'boolean' &&
          typeof fr.masked === 'boolean' &&
          Number.isInteger(fr.opcode) &&
          Number.isInteger(fr.len),
        'a frame_list entry has fin, opcode, rsv1, masked and len',
        r,
      );
    }
  }
  need(r.cause === undefined || kind === 'error', 'only error records carry a cause', r);
  for (const f of ['size', 'retry_ms', 'code', 'status', 'attempt']) optional(r, f, 'number');
  need(
    SIZED_KINDS.has(kind) === (r.size !== undefined),
    SIZED_KINDS.has(kind) ? `${kind} records carry size` : `${kind} records carry no size`,
    r,
  );
  if (r.headers !== undefined) {
    need(
      typeof r.headers === 'object' && r.headers !== null && !Array.isArray(r.headers),
      'headers must be an object',
      r,
    );
    for (const [k, v] of Object.entries(r.headers as object)) {
      need(typeof v === 'string', `header ${k} must be a string`, r);
      need(k === k.toLowerCase(), `header name ${k} must be lower-case`, r);
    }
  }
  switch (kind) {
    case 'text':
    case 'comment':
      need(typeof r.data === 'string', `${kind} records carry data`, r);
      break;
    case 'event':
      need(typeof r.data === 'string', 'event records carry data', r);
      need(typeof r.event === 'string', 'event records carry the event type', r);
      break;
    case 'binary':
    case 'ping':
    case 'pong':
      need(typeof r.data_b64 === 'string', `${kind} records carry data_b64`, r);
      break;
    case 'open':
      need(typeof r.status === 'number', 'open records carry status', r);
      need(r.headers !== undefined, 'open records carry headers', r);
      break;
    case 'error':
      need(typeof r.message === 'string', 'error records carry a message', r);
      break;
    case 'retry':
      need(typeof r.retry_ms === 'number', 'retry records carry retry_ms', r);
      break;
    case 'reconnect':
      need(
        typeof r.retry_ms === 'number' && typeof r.attempt === 'number',
        'reconnect records carry retry_ms and attempt',
        r,
      );
      break;
    case 'close':
      need(r.code === undefined || typeof r.code === 'number', 'code must be a number', r);
      break;
    case 'end':
      break;
  }
  return r as unknown as StreamRecord;
}

/** Parses NDJSON text (as `sscope` prints and `/export` serves): one record a line,
 * blank lines ignored. Throws ContractError naming the line. */
export function parseNdjson(text: string): StreamRecord[] {
  const out: StreamRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new ContractError(`line ${i + 1}: not JSON (${(e as Error).message})`);
    }
    try {
      out.push(parseRecord(value));
    } catch (e) {
      throw new ContractError(`line ${i + 1}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** The minimum the live path checks before using a record. */
export function isRecordLike(v: unknown): v is StreamRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as StreamRecord;
  return (
    typeof r.conn === 'string' && typeof r.seq === 'number' && typeof r.kind === 'string' && typeof r.t === 'string'
  );
}
