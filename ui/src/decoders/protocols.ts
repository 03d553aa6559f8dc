// Decoders for the subprotocols people debug most: Socket.IO (Engine.IO v4 packets),
// GraphQL over WebSocket (graphql-transport-ws, and the legacy graphql-ws of
// subscriptions-transport-ws), STOMP 1.x, JSON-RPC 2.0 and MessagePack. Each turns one
// message into a short summary for the frame list and named fields for the detail. Pure
// and per message: JSON-RPC's request ↔ response matching is `jsonrpc.ts`'s, choosing a
// decoder is `choose.ts`'s.

import { decode as msgpackDecode } from '@msgpack/msgpack';
import { bytesToHex } from '../lib/bytes';

export type DecoderId = 'socketio' | 'graphql-transport-ws' | 'graphql-ws' | 'stomp' | 'jsonrpc' | 'msgpack';

export const DECODERS: { id: DecoderId; label: string }[] = [
  { id: 'socketio', label: 'Socket.IO' },
  { id: 'graphql-transport-ws', label: 'GraphQL (graphql-transport-ws)' },
  { id: 'graphql-ws', label: 'GraphQL (legacy graphql-ws)' },
  { id: 'stomp', label: 'STOMP' },
  { id: 'jsonrpc', label: 'JSON-RPC 2.0' },
  { id: 'msgpack', label: 'MessagePack' },
];

/** One message, read. */
export interface Decoded {
  /** The message's kind in its protocol: `EVENT`, `subscribe`, `SEND`, `request`. */
  label: string;
  /** One line for the frame list, after the label. */
  summary: string;
  /** Named parts for the detail view, in order. */
  fields: [string, string][];
  /** The payload as a value, for the detail's JSON tree, when it has one. */
  value?: unknown;
  /** JSON-RPC: the id and whether this is the request or the response, for matching. */
  rpc?: { id: string; role: 'request' | 'response' | 'notification'; method?: string };
}

const json = (v: unknown): string => {
  try {
    return JSON.stringify(v, (_, x) =>
      typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? `<${bytesToHex(x)}>` : x,
    );
  } catch {
    return String(v);
  }
};
const short = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…` : s);
const tryJson = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
};
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// --- Socket.IO over Engine.IO v4 ---------------------------------------------------------

const EIO = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
const SIO = ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT', 'BINARY_ACK'];

/** An Engine.IO v4 text packet, and the Socket.IO packet inside a `message` (type 4):
 * `<type>[<attachments>-][<namespace>,][<ack id>][JSON]`. */
export function decodeSocketIo(text: string): Decoded | null {
  const e = Number(text[0]);
  if (!(text.length > 0 && e >= 0 && e <= 6)) return null;
  const rest = text.slice(1);
  if (e !== 4) {
    const fields: [string, string][] = [['Engine.IO', `${e} ${EIO[e]}`]];
    let value: unknown;
    if (e === 0 && rest) {
      const j = tryJson(rest);
      if (j.ok && isObj(j.value)) {
        value = j.value;
        for (const k of ['sid', 'pingInterval', 'pingTimeout', 'maxPayload', 'upgrades'])
          if (k in j.value) fields.push([k, json(j.value[k])]);
      }
    } else if (rest) fields.push(['data', rest]);
    const summary =
      e === 0 && isObj(value) ? `sid ${value.sid} · ping every ${value.pingInterval} ms` : rest ? short(rest) : '';
    return { label: EIO[e], summary, fields, value };
  }
  const s = Number(rest[0]);
  if (!(rest.length > 0 && s >= 0 && s <= 6))
    return { label: 'message', summary: short(rest), fields: [['data', rest]] };
  let i = 1;
  let attachments: string | undefined;
  const att = /^(\d+)-/.exec(rest.slice(i));
  if ((s === 5 || s === 6) && att) {
    attachments = att[1];
    i += att[0].length;
  }
  let nsp = '/';
  if (rest[i] === '/') {
    const comma = rest.indexOf(',', i);
    nsp = comma < 0 ? rest.slice(i) : rest.slice(i, comma);
    i = comma < 0 ? rest.length : comma + 1;
  }
  const ack = /^\d+/.exec(rest.slice(i));
  if (ack) i += ack[0].length;
  const payload = rest.slice(i);
  const j = payload ? tryJson(payload) : null;
  const value = j && j.ok ? j.value : undefined;
  const fields: [string, string][] = [
    ['Engine.IO', '4 message'],
    ['Socket.IO', `${s} ${SIO[s]}`],
    ['namespace', nsp],
  ];
  if (ack) fields.push(['ack id', ack[0]]);
  if (attachments) fields.push(['binary attachments', attachments]);
  let summary = nsp === '/' ? '' : `${nsp} `;
  if ((s === 2 || s === 5) && Array.isArray(value)) {
    fields.push(['event', json(value[0])]);
    if (value.length > 1) fields.push(['arguments', json(value.slice(1))]);
    summary += `${String(value[0])}${value.length > 1 ? ` ${short(json(value.slice(1)))}` : ''}`;
  } else if (payload) {
    fields.push(['data', payload]);
    summary += short(payload);
  }
  if (ack) summary += ` (ack ${ack[0]})`;
  return { label: SIO[s], summary: summary.trim(), fields, value };
}

// --- GraphQL over WebSocket --------------------------------------------------------------

/** `graphql-transport-ws` (the `graphql-ws` library) and the legacy `graphql-ws`
 * protocol of subscriptions-transport-ws: `{type, id?, payload?}`. */
export function decodeGraphql(text: string): Decoded | null {
  const j = tryJson(text);
  if (!j.ok || !isObj(j.value) || typeof j.value.type !== 'string') return null;
  const m = j.value;
  const type = m.type as string;
  const id = typeof m.id === 'string' || typeof m.id === 'number' ? String(m.id) : undefined;
  const fields: [string, string][] = [['type', type]];
  if (id !== undefined) fields.push(['id', id]);
  let summary = id !== undefined ? `#${id}` : '';
  const p = m.payload;
  if (isObj(p)) {
    if (typeof p.query === 'string') {
      const query = p.query.replace(/\s+/g, ' ').trim();
      if (typeof p.operationName === 'string') fields.push(['operation', p.operationName]);
      fields.push(['query', p.query]);
      if (p.variables !== undefined) fields.push(['variables', json(p.variables)]);
      summary += ` ${typeof p.operationName === 'string' ? `${p.operationName}: ` : ''}${short(query, 120)}`;
    } else if ('data' in p || 'errors' in p) {
      if ('data' in p) fields.push(['data', json(p.data)]);
      if (Array.isArray(p.errors)) fields.push(['errors', json(p.errors)]);
      summary += ` ${short(json('errors' in p && !('data' in p) ? p.errors : p.data))}`;
    } else {
      fields.push(['payload', json(p)]);
      if (Object.keys(p).length) summary += ` ${short(json(p))}`;
    }
  } else if (Array.isArray(p)) {
    // graphql-transport-ws `error`: an array of GraphQL errors.
    fields.push(['errors', json(p)]);
    summary += ` ${short(p.map((e) => (isObj(e) ? String(e.message) : json(e))).join('; '))}`;
  } else if (p !== undefined) fields.push(['payload', json(p)]);
  return { label: type, summary: summary.trim(), fields, value: m };
}

// --- STOMP -------------------------------------------------------------------------------

const STOMP_COMMANDS = new Set([
  'CONNECT',
  'STOMP',
  'CONNECTED',
  'SEND',
  'SUBSCRIBE',
  'UNSUBSCRIBE',
  'ACK',
  'NACK',
  'BEGIN',
  'COMMIT',
  'ABORT',
  'DISCONNECT',
  'MESSAGE',
  'RECEIPT',
  'ERROR',
]);

/** A STOMP 1.x frame: `COMMAND\nname:value\n…\n\nbody\0`; a lone line end is a
 * heart-beat. Header values are unescaped as 1.2 says (`\n`, `\r`, `\c`, `\\`). */
export function decodeStomp(text: string): Decoded | null {
  if (/^(\r?\n)+$/.test(text)) return { label: 'heart-beat', summary: '', fields: [] };
  const lines = text.replace(/^(\r?\n)+/, '');
  const head = /^([A-Z]+)\r?\n/.exec(lines);
  if (!head || !STOMP_COMMANDS.has(head[1])) return null;
  const command = head[1];
  let i = head[0].length;
  const fields: [string, string][] = [['command', command]];
  const headers: Record<string, string> = {};
  while (i < lines.length) {
    const end = lines.indexOf('\n', i);
    const line = (end < 0 ? lines.slice(i) : lines.slice(i, end)).replace(/\r$/, '');
    i = end < 0 ? lines.length : end + 1;
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon);
    const value = line
      .slice(colon + 1)
      .replace(/\\(.)/g, (_, c: string) => ({ n: '\n', r: '\r', c: ':', '\\': '\\' })[c] ?? c);
    // STOMP: a repeated header keeps its first value.
    if (!(name in headers)) {
      headers[name] = value;
      fields.push([name, value]);
    }
  }
  const nul = lines.indexOf('\0', i);
  const body = nul < 0 ? lines.slice(i) : lines.slice(i, nul);
  if (body) fields.push(['body', body]);
  const where = headers.destination ?? headers.subscription ?? headers['receipt-id'] ?? headers.message ?? '';
  const summary =
    command === 'CONNECTED'
      ? `version ${headers.version ?? '?'}${headers['heart-beat'] ? ` · heart-beat ${headers['heart-beat']}` : ''}`
      : `${where}${body ? ` ${short(body.replace(/\s+/g, ' '), 120)}` : ''}`.trim();
  const j = body ? tryJson(body) : null;
  return { label: command, summary, fields, value: j && j.ok ? j.value : undefined };
}

// --- JSON-RPC 2.0 ------------------------------------------------------------------------

/** A JSON-RPC 2.0 request, notification or response (a batch: its first member, with the
 * count). */
export function decodeJsonRpc(text: string): Decoded | null {
  const j = tryJson(text);
  if (!j.ok) return null;
  const batch = Array.isArray(j.value) ? j.value : null;
  const m = batch ? batch[0] : j.value;
  if (!isObj(m) || (m.jsonrpc !== '2.0' && !('method' in m) && !('result' in m) && !('error' in m))) return null;
  const id = typeof m.id === 'string' || typeof m.id === 'number' ? String(m.id) : undefined;
  const fields: [string, string][] = [];
  if (batch) fields.push(['batch', `${batch.length} messages (the first shown)`]);
  let label: string;
  let summary: string;
  let rpc: Decoded['rpc'];
  if (typeof m.method === 'string') {
    label = id === undefined ? 'notification' : 'request';
    fields.push(['method', m.method]);
    if (id !== undefined) fields.push(['id', id]);
    if (m.params !== undefined) fields.push(['params', json(m.params)]);
    summary = `${m.method}${id !== undefined ? ` #${id}` : ''}${m.params !== undefined ? ` ${short(json(m.params), 120)}` : ''}`;
    rpc = { id: id ?? '', role: id === undefined ? 'notification' : 'request', method: m.method };
  } else if ('result' in m || 'error' in m) {
    label = 'error' in m ? 'error' : 'result';
    if (id !== undefined) fields.push(['id', id]);
    if ('error' in m) {
      const e = m.error;
      fields.push(['error', json(e)]);
      summary = `#${id ?? 'null'} ${isObj(e) ? `${e.code} ${e.message}` : json(e)}`;
    } else {
      fields.push(['result', json(m.result)]);
      summary = `#${id ?? 'null'} ${short(json(m.result), 120)}`;
    }
    rpc = { id: id ?? '', role: 'response' };
  } else return null;
  if (batch) summary = `batch of ${batch.length}: ${summary}`;
  return { label, summary, fields, value: j.value, rpc };
}

// --- MessagePack -------------------------------------------------------------------------

/** A MessagePack binary message, decoded with @msgpack/msgpack (extension types kept as
 * their type and bytes). */
export function decodeMsgpack(bytes: Uint8Array): Decoded | null {
  let value: unknown;
  try {
    value = msgpackDecode(bytes, { useBigInt64: true });
  } catch {
    return null;
  }
  const fields: [string, string][] = [];
  let label: string = typeof value;
  if (Array.isArray(value)) {
    label = `array(${value.length})`;
    value.slice(0, 50).forEach((v, i) => fields.push([`[${i}]`, json(v)]));
  } else if (value instanceof Map || isObj(value)) {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
    label = `map(${entries.length})`;
    for (const [k, v] of entries.slice(0, 50)) fields.push([String(k), json(v)]);
  } else fields.push(['value', json(value)]);
  return { label, summary: short(json(value)), fields, value: toPlain(value) };
}

/** What a MessagePack value's first byte says, for a message only partly in a preview:
 * `map(5)`, `array(3)`, `str`. */
export function msgpackHead(first: number): string {
  if (first <= 0x7f) return 'int';
  if (first <= 0x8f) return `map(${first & 0x0f})`;
  if (first <= 0x9f) return `array(${first & 0x0f})`;
  if (first <= 0xbf) return 'str';
  if (first >= 0xe0) return 'int';
  return (
    (
      {
        0xc0: 'nil',
        0xc2: 'false',
        0xc3: 'true',
        0xc4: 'bin',
        0xc5: 'bin',
        0xc6: 'bin',
        0xca: 'float',
        0xcb: 'float',
        0xd9: 'str',
        0xda: 'str',
        0xdb: 'str',
        0xdc: 'array',
        0xdd: 'array',
        0xde: 'map',
        0xdf: 'map',
      } as Record<number, string>
    )[first] ?? (first >= 0xcc && first <= 0xd3 ? 'int' : 'ext')
  );
}

/** A decoded value the JSON tree can show: bigints as strings, bytes as hex, Maps as
 * objects. */
function toPlain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `<${bytesToHex(v)}>`;
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), toPlain(x)]));
  if (Array.isArray(v)) return v.map(toPlain);
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  return v;
}

/** Decodes a text message with decoder `id`; `null` when it is not one of its messages. */
export function decodeText(id: DecoderId, text: string): Decoded | null {
  switch (id) {
    case 'socketio':
      return decodeSocketIo(text);
    case 'graphql-transport-ws':
    case 'graphql-ws':
      return decodeGraphql(text);
    case 'stomp':
      return decodeStomp(text);
    case 'jsonrpc':
      return decodeJsonRpc(text);
    case 'msgpack':
      return null;
  }
}

/** Decodes a binary message: MessagePack, and STOMP or Socket.IO frames sent as binary. */
export function decodeBinary(id: DecoderId, bytes: Uint8Array): Decoded | null {
  if (id === 'msgpack') return decodeMsgpack(bytes);
  if (id === 'stomp') return decodeStomp(new TextDecoder().decode(bytes));
  if (id === 'socketio') return { label: 'binary attachment', summary: `${bytes.length} bytes`, fields: [] };
  return null;
}
