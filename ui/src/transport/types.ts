// The shapes of the server's HTTP API (crates/server/src/api.rs, ui_socket.rs,
// demo/catalog.rs). Records themselves are in ../contract.ts.

import type { Proto, StreamRecord } from '../contract';

export interface Counts {
  events_in: number;
  events_out: number;
  bytes_in: number;
  bytes_out: number;
}

export type ConnState = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'failed';

/** A connection as `/api/connections` and the live socket's `conns` show it. */
export interface ConnView {
  id: string;
  proto: Proto;
  url: string;
  name: string;
  state: ConnState;
  since: string;
  last_seq: number;
  recorded_bytes: number;
  totals: Counts;
  /** The last complete second. */
  rate: Counts;
}

/** `POST /api/connections`. */
export interface OpenRequest {
  url: string;
  proto?: Proto;
  name?: string;
  headers: [string, string][];
  subprotocols: string[];
  bearer?: string;
  basic?: string;
  insecure: boolean;
  connect_timeout_secs?: number;
  ping_interval_secs?: number;
  pong_timeout_secs?: number;
  method?: 'GET' | 'POST';
  body?: string;
  last_event_id?: string;
  reconnect?: boolean;
  retry_ms?: number;
}

/** `POST /api/connections/{id}/send`. */
export type SendRequest =
  | { kind: 'text'; data: string }
  | { kind: 'json'; data: string }
  | { kind: 'binary'; hex: string }
  | { kind: 'binary'; base64: string }
  | { kind: 'ping'; hex: string }
  | { kind: 'ping'; text: string }
  | { kind: 'close'; code: number; reason: string };

export interface RecordPage {
  records: StreamRecord[];
  next: number;
  last_seq: number;
}

export interface DemoParam {
  name: string;
  type: 'integer' | 'string';
  default: number | string | null;
  description: string;
  min?: number;
  max?: number;
  max_bytes?: number;
}

/** One entry of `GET /demo`. */
export interface DemoListing {
  path: string;
  proto: Proto;
  method: 'GET' | 'POST';
  title: string;
  description: string;
  params: DemoParam[];
}

/** The codes the server answers errors with (crates/server/src/error.rs), plus the
 * UI's own for a server it cannot reach. */
export type ErrorCode =
  | 'unauthorized'
  | 'bad_origin'
  | 'bad_host'
  | 'unknown_connection'
  | 'connection_ended'
  | 'bad_request'
  | 'invalid_url'
  | 'invalid_json'
  | 'payload_too_large'
  | 'refused'
  | 'not_found'
  | 'unreachable'
  | 'unexpected';

/** A message of the live socket. */
/** A connection as the live socket's `list` names it: that it exists and its state,
 * without the counts (which `conns` carries for watched connections only). */
export interface ConnListing {
  id: string;
  proto: Proto;
  url: string;
  name: string;
  state: ConnState;
  since: string;
}

export interface LiveBatch {
  type: 'batch';
  /** Contract records (the server's default format). */
  records?: unknown[];
  /** With `format=runs`: contract records and runs of text or event records (decode.ts). */
  items?: unknown[];
  /** The watched connections with their counts, a few times a second. */
  conns?: ConnView[];
  /** Every connection the server holds: in the first batch, then when it changed. */
  list?: ConnListing[];
}

/** The live socket's answer to a message it could not read. */
export interface LiveError {
  type: 'error';
  code: string;
  message: string;
}
