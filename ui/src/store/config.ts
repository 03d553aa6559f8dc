// A pane's connection settings, as the user edits them, and the open request built from
// them. Pure: the pane view owns the editing, the transport the sending.

import type { Proto } from '../contract';
import type { OpenRequest } from '../transport/types';

export interface HeaderRow {
  name: string;
  value: string;
  on: boolean;
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
  };
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
  | { ok: false; field: 'url' | 'headers' | 'auth' | 'ping'; message: string };

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
  if (proto === 'ws') {
    request.subprotocols = splitList(c.subprotocols);
    const ping = c.pingInterval.trim();
    if (ping) {
      const secs = Number(ping);
      if (!(secs > 0) || secs > 86400)
        return { ok: false, field: 'ping', message: 'ping interval: a number of seconds above 0' };
      request.ping_interval_secs = secs;
    }
  } else {
    request.method = c.method;
    if (c.method === 'POST') request.body = c.body;
    if (c.lastEventId !== '') request.last_event_id = c.lastEventId;
    request.reconnect = c.reconnect;
  }
  return { ok: true, proto, request };
}

/** What storage keeps of a config: everything but the secrets. */
export function persistable(c: PaneConfig): PaneConfig {
  return { ...c, bearer: '', basicPass: '', headers: c.headers.map((h) => ({ ...h })) };
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
        .map((h) => ({ name: h.name, value: h.value, on: h.on !== false }))
    : [];
  if (out.method !== 'GET' && out.method !== 'POST') out.method = 'GET';
  if (!['none', 'bearer', 'basic'].includes(out.auth)) out.auth = 'none';
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
