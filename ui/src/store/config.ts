// A pane's connection settings, as the user edits them, and the open request built from
// them. Pure: the pane view owns the editing, the transport the sending.

import type { Proto } from '../contract';
import type { OpenRequest } from '../transport/types';
import DEFAULTS from './open-defaults.json';

/** The engine's defaults for the options left empty (a Rust test keeps this file equal
 * to the engine's constants), shown as the fields' placeholders. */
export const OPEN_DEFAULTS = DEFAULTS;

export interface HeaderRow {
  name: string;
  value: string;
  on: boolean;
  /** A secret's value (an API key): never written to storage, a saved connection or an
   * export; the desktop keeps it in the system keychain. */
  secret?: boolean;
}

export type AuthKind = 'none' | 'bearer' | 'basic';

export interface PaneConfig {
  url: string;
  /** A name for the connection list; the URL's path when empty. */
  name: string;
  headers: HeaderRow[];
  /** Comma- or space-separated, in order of preference (WebSocket). */
  subprotocols: string;
  auth: AuthKind;
  /** Secrets: kept for this session, never written to storage. */
  bearer: string;
  basicUser: string;
  basicPass: string;
  /** SSE. */
  method: 'GET' | 'POST';
  body: string;
  lastEventId: string;
  reconnect: boolean;
  /** WebSocket keep-alive ping every N seconds; empty: off. */
  pingInterval: string;
  verifyTls: boolean;
  // The rest of what `sscope` can set. Numbers are kept as typed (empty: the engine's
  // default), so a half-typed value is never rewritten under the cursor.
  /** Seconds to open the connection (TCP, TLS, handshake). */
  connectTimeout: string;
  /** Optional path of a PEM file with a private CA, read by the server. */
  caFile: string;
  /** WebSocket: seconds a pong may take before the peer counts as dead. */
  pongTimeout: string;
  /** WebSocket: largest message and frame, bytes (or with KiB/MiB). */
  maxMessage: string;
  maxFrame: string;
  /** SSE: reconnect after the server ends the stream cleanly. `auto` is the engine's
   * default: yes for GET, no for POST (re-sending a POST is a new request). */
  reconnectOnEnd: 'auto' | 'on' | 'off';
  /** SSE: first reconnection delay in ms, until the server sends `retry:`. */
  retryMs: string;
  /** SSE: give up after N failed reconnection attempts in a row. */
  maxAttempts: string;
  /** SSE: double the delay after each failed attempt. */
  backoff: boolean;
  /** SSE: seconds without a byte that count as a broken stream. */
  idleTimeout: string;
  /** SSE: longest line and largest event, bytes (or with KiB/MiB). */
  maxLine: string;
  maxEvent: string;
}

export function defaultConfig(url: string): PaneConfig {
  return {
    url,
    name: '',
    headers: [],
    subprotocols: '',
    auth: 'none',
    bearer: '',
    basicUser: '',
    basicPass: '',
    method: 'GET',
    body: '',
    lastEventId: '',
    reconnect: true,
    pingInterval: '',
    verifyTls: true,
    connectTimeout: '',
    caFile: '',
    pongTimeout: '',
    maxMessage: '',
    maxFrame: '',
    reconnectOnEnd: 'auto',
    retryMs: '',
    maxAttempts: '',
    backoff: false,
    idleTimeout: '',
    maxLine: '',
    maxEvent: '',
  };
}

/** Whether an SSE pane reconnects after a clean end, as the engine will decide it. */
export function reconnectsOnEnd(c: Pick<PaneConfig, 'reconnect' | 'reconnectOnEnd' | 'method'>): boolean {
  if (!c.reconnect) return false;
  return c.reconnectOnEnd === 'auto' ? c.method === 'GET' : c.reconnectOnEnd === 'on';
}

/** A size as a person types it: bytes, or with a unit (`64 KiB`, `16M`, `1.5 MB`; k, M
 * and G are powers of 1024, as the engine's defaults are). */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Math.round(Number(m[1]) * unit);
  return n >= 1 && Number.isSafeInteger(n) ? n : null;
}

/** A positive number of seconds (or ms) as typed, or null. */
function positive(text: string, max: number): number | null {
  const n = Number(text.trim());
  return Number.isFinite(n) && n > 0 && n <= max ? n : null;
}

/** The protocol a URL's scheme implies, `null` when it implies none. */
export function protoOf(url: string): Proto | null {
  const m = /^\s*([a-z][a-z0-9+.-]*):/i.exec(url);
  const scheme = m?.[1].toLowerCase();
  if (scheme === 'ws' || scheme === 'wss') return 'ws';
  if (scheme === 'http' || scheme === 'https') return 'sse';
  return null;
}

/** The likely meaning of a URL typed without exactly two slashes after its scheme
 * (`wss:/127.0.0.1`), or `null` when it has them. A browser's URL parser, and the
 * server's, would read such a URL as `wss://…` and connect somewhere unexpected; the
 * server refuses it (engine `check_url`), and the pane says so while it is typed. */
export function urlTypo(url: string): { meant: string; slashes: number } | null {
  const m = /^\s*(wss?|https?):([/\\]*)(.*)$/is.exec(url);
  if (!m) return null;
  const slashes = m[2].length;
  if (slashes === 2 && m[2] === '//') return null;
  if (!m[3].trim()) return null; // still typing the scheme
  return { meant: `${m[1].toLowerCase()}://${m[3].trim()}`, slashes };
}

export function isSecure(url: string): boolean {
  return /^\s*(wss|https):/i.test(url);
}

export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export type Built =
  | { ok: true; proto: Proto; request: OpenRequest }
  | { ok: false; field: 'url' | 'headers' | 'auth' | 'ping' | 'options'; message: string };

/** The `POST /api/connections` body for a config, or what is wrong with it. The server
 * checks everything again; this catches what the user can fix before a round trip. */
export function buildOpen(c: PaneConfig): Built {
  const url = c.url.trim();
  if (!url) return { ok: false, field: 'url', message: 'enter a URL: ws://, wss://, http:// or https://' };
  const proto = protoOf(url);
  if (!proto)
    return {
      ok: false,
      field: 'url',
      message: 'the URL must start with ws:// or wss:// (WebSocket) or http:// or https:// (Server-Sent Events)',
    };
  const headers: [string, string][] = [];
  for (const h of c.headers) {
    if (!h.on || (!h.name.trim() && !h.value.trim())) continue;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.name.trim()))
      return { ok: false, field: 'headers', message: `header name ${JSON.stringify(h.name)} is not a valid token` };
    if (h.secret && !h.value)
      return {
        ok: false,
        field: 'headers',
        message: `header ${h.name.trim()} is secret and has no value (secrets are not saved): enter it, or untick the header`,
      };
    if (/[\r\n\0]/.test(h.value))
      return { ok: false, field: 'headers', message: `header ${h.name}: the value holds a line break` };
    headers.push([h.name.trim(), h.value]);
  }
  const request: OpenRequest = { url, proto, headers, subprotocols: [], insecure: !c.verifyTls };
  if (c.name.trim()) request.name = c.name.trim();
  if (c.auth === 'bearer') {
    if (!c.bearer.trim()) return { ok: false, field: 'auth', message: 'enter the bearer token, or choose no auth' };
    request.bearer = c.bearer.trim();
  } else if (c.auth === 'basic') {
    if (c.basicUser.includes(':'))
      return { ok: false, field: 'auth', message: 'a basic-auth user name cannot contain ":"' };
    request.basic = `${c.basicUser}:${c.basicPass}`;
  }
  // Each option: empty is the engine's default; anything else must read as a value.
  const bad = (message: string): Built => ({ ok: false, field: 'options', message });
  const DAY = 86400;
  if (c.connectTimeout.trim()) {
    const v = positive(c.connectTimeout, DAY);
    if (v === null) return bad('connect timeout: a number of seconds above 0');
    request.connect_timeout_secs = v;
  }
  if (c.caFile.trim()) request.ca_file = c.caFile.trim();
  if (proto === 'ws') {
    request.subprotocols = splitList(c.subprotocols);
    const ping = c.pingInterval.trim();
    if (ping) {
      const secs = Number(ping);
      if (!(secs > 0) || secs > DAY)
        return { ok: false, field: 'ping', message: 'ping interval: a number of seconds above 0' };
      request.ping_interval_secs = secs;
    }
    if (c.pongTimeout.trim()) {
      const v = positive(c.pongTimeout, DAY);
      if (v === null) return bad('pong timeout: a number of seconds above 0');
      if (!ping)
        return {
          ok: false,
          field: 'ping',
          message: 'pong timeout: set "Ping every" too; the timeout is counted from each ping',
        };
      request.pong_timeout_secs = v;
    }
  } else {
    request.method = c.method;
    if (c.method === 'POST') request.body = c.body;
    if (c.lastEventId !== '') request.last_event_id = c.lastEventId;
    request.reconnect = c.reconnect;
    if (c.reconnectOnEnd !== 'auto') request.reconnect_on_end = c.reconnectOnEnd === 'on';
    if (c.retryMs.trim()) {
      const v = positive(c.retryMs, DAY * 1000);
      if (v === null || !Number.isInteger(v)) return bad('retry: a whole number of milliseconds above 0');
      request.retry_ms = v;
    }
    if (c.maxAttempts.trim()) {
      const v = positive(c.maxAttempts, 1e9);
      if (v === null || !Number.isInteger(v)) return bad('max attempts: a whole number, at least 1');
      request.max_attempts = v;
    }
    if (c.backoff) request.backoff = true;
    if (c.idleTimeout.trim()) {
      const v = positive(c.idleTimeout, DAY);
      if (v === null) return bad('idle timeout: a number of seconds above 0');
      request.idle_timeout_secs = v;
    }
  }
  const sizes: [string, 'max_message' | 'max_frame' | 'max_line' | 'max_event', string][] =
    proto === 'ws'
      ? [
          [c.maxMessage, 'max_message', 'max message'],
          [c.maxFrame, 'max_frame', 'max frame'],
        ]
      : [
          [c.maxLine, 'max_line', 'max line'],
          [c.maxEvent, 'max_event', 'max event'],
        ];
  for (const [text, key, what] of sizes) {
    if (!text.trim()) continue;
    const v = parseSize(text);
    if (v === null) return bad(`${what}: a number of bytes, or with KiB or MiB (e.g. 64 MiB)`);
    request[key] = v;
  }
  return { ok: true, proto, request };
}

/** What storage keeps of a config: everything but the secrets (the bearer token, the
 * basic-auth password, the values of headers marked secret). */
export function persistable(c: PaneConfig): PaneConfig {
  return {
    ...c,
    bearer: '',
    basicPass: '',
    headers: c.headers.map((h) => ({ ...h, value: h.secret ? '' : h.value })),
  };
}

export function restoreConfig(raw: unknown, fallbackUrl: string): PaneConfig {
  const base = defaultConfig(fallbackUrl);
  if (typeof raw !== 'object' || raw === null) return base;
  const r = raw as Partial<PaneConfig>;
  const out: PaneConfig = { ...base };
  for (const k of Object.keys(base) as (keyof PaneConfig)[]) {
    const v = r[k];
    if (v !== undefined && typeof v === typeof base[k]) (out as unknown as Record<string, unknown>)[k] = v;
  }
  out.headers = Array.isArray(r.headers)
    ? r.headers
        .filter((h) => h && typeof h.name === 'string' && typeof h.value === 'string')
        .map((h) => ({
          name: h.name,
          value: h.value,
          on: h.on !== false,
          ...(h.secret === true ? { secret: true } : {}),
        }))
    : [];
  if (out.method !== 'GET' && out.method !== 'POST') out.method = 'GET';
  if (!['none', 'bearer', 'basic'].includes(out.auth)) out.auth = 'none';
  if (!['auto', 'on', 'off'].includes(out.reconnectOnEnd)) out.reconnectOnEnd = 'auto';
  out.url = followDemoHost(out.url, fallbackUrl);
  return out;
}

/** A saved URL of an embedded demo names the port of the launch that saved it; the
 * server gets a fresh port each launch, so point such a URL at today's server. */
export function followDemoHost(url: string, current: string): string {
  try {
    const u = new URL(url.trim());
    const now = new URL(current);
    const loopback = u.hostname === '127.0.0.1' || u.hostname === 'localhost';
    if (loopback && u.pathname.startsWith('/demo/') && u.host !== now.host) {
      u.host = now.host;
      return u.toString();
    }
  } catch {
    // Not a URL: leave it for the user to fix.
  }
  return url;
}

/** A short name for a URL: its path without the demo prefix, else its host. */
export function nameFromUrl(url: string): string {
  try {
    const u = new URL(url.trim());
    return u.pathname.replace(/^\/(demo\/)?/, '') || u.host;
  } catch {
    return 'untitled';
  }
}
