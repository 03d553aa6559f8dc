// Records into the compact form the store keeps: per connection, columns of numbers
// (seq, time, direction, kind, size) and two short strings per row (a preview and a
// note). Full payloads stay on the server; the detail view fetches one record when it
// is selected. This runs in the live worker, off the UI thread, and for pages fetched
// from `/records`.

import { DIRS, KINDS, parseTime, type Dir, type Kind, type Proto, type StreamRecord } from '../contract';

/** `parseTime` for a stream of times that mostly share their second: the whole-second
 * part is parsed once per second, the fraction by hand. Five times faster on a burst. */
export function timeParser(): (t: string) => number {
  let prefix = '';
  let base = NaN;
  return (t) => {
    // `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the engine's form; anything else takes the full parse.
    if (t.length < 21 || t.charCodeAt(19) !== 46 || t.charCodeAt(t.length - 1) !== 90) return parseTime(t);
    const p = t.slice(0, 19);
    if (p !== prefix) {
      prefix = p;
      base = parseTime(`${p}Z`);
    }
    let frac = 0;
    let scale = 100;
    for (let i = 20; i < t.length - 1; i++) {
      const d = t.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return parseTime(t);
      frac += d * scale;
      scale /= 10;
    }
    return base + frac;
  };
}
import { bytesToHex, parseBase64 } from '../lib/bytes';
import { closeCodeName } from '../lib/format';

/** Characters of payload a preview keeps: a wide row's worth, and what search reads. */
export const PREVIEW_CHARS = 240;
/** Bytes of a binary payload a preview shows in hex. */
const PREVIEW_BYTES = 40;

export const KIND_CODE: Record<Kind, number> = Object.fromEntries(KINDS.map((k, i) => [k, i])) as Record<Kind, number>;
export const DIR_CODE: Record<Dir, number> = { in: 0, out: 1, meta: 2 };

/** Rows of one connection, in seq order, as columns. Typed arrays are transferred from
 * the worker without copying; the previews and notes travel as one string with end
 * offsets, because copying one long string between threads costs far less than copying
 * fifty thousand short ones. */
export interface Chunk {
  conn: string;
  proto: Proto;
  n: number;
  seq: Float64Array;
  /** Epoch ms with microseconds in the fraction. */
  t: Float64Array;
  dir: Uint8Array;
  kind: Uint8Array;
  /** Payload bytes, -1 where the record has no size. */
  size: Float64Array;
  /** Every row's preview followed by its note, all rows concatenated. */
  text: string;
  /** `ends[2i]`: where row i's preview ends in `text`; `ends[2i + 1]`: where its note
   * ends (and row i + 1's preview starts). */
  ends: Uint32Array;
}

export function previewIn(c: Chunk, i: number): string {
  return c.text.slice(i ? c.ends[2 * i - 1] : 0, c.ends[2 * i]);
}

export function noteIn(c: Chunk, i: number): string {
  return c.text.slice(c.ends[2 * i], c.ends[2 * i + 1]);
}

/** One row, as views read it. */
export interface Row {
  seq: number;
  t: number;
  dir: Dir;
  kind: Kind;
  size: number;
  preview: string;
  note: string;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function flat(text: string): string {
  const cut = text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS) : text;
  // Most payloads hold no control character: one test, no copies.
  if (!CONTROL.test(cut)) return cut;
  // One line per row: line ends and tabs become visible marks, other controls a dot.
  // eslint-disable-next-line no-control-regex
  return cut
    .replace(/\r\n|\n|\r/g, '⏎')
    .replace(/\t/g, '  ')
    .replace(/[\u0000-\u001f\u007f]/g, '·');
}

function hexPreview(b64: string | undefined): string {
  if (!b64) return '(empty)';
  const p = parseBase64(b64.slice(0, Math.ceil((PREVIEW_BYTES + 2) / 3) * 4), PREVIEW_BYTES);
  return p.ok ? bytesToHex(p.value) : '(not base64)';
}

function controlPreview(b64: string | undefined): string {
  if (!b64) return '(empty)';
  const p = parseBase64(b64, 125);
  if (!p.ok) return '(not base64)';
  const bytes = p.value;
  let printable = true;
  for (const b of bytes) if (b < 0x20 || b >= 0x7f) printable = false;
  return printable ? `"${String.fromCharCode(...bytes)}"` : bytesToHex(bytes);
}

/** The one-line preview and the short note (event type, close code, status) of a record. */
export function describe(r: StreamRecord): { preview: string; note: string } {
  switch (r.kind) {
    case 'text':
      return { preview: flat(r.data ?? ''), note: '' };
    case 'binary':
      return { preview: hexPreview(r.data_b64), note: '' };
    case 'ping':
    case 'pong':
      return { preview: controlPreview(r.data_b64), note: '' };
    case 'close':
      return {
        preview:
          r.code === undefined ? 'no status code' : `${closeCodeName(r.code)}${r.reason ? ` · ${flat(r.reason)}` : ''}`,
        note: r.code === undefined ? '' : String(r.code),
      };
    case 'open': {
      const h = r.headers ?? {};
      const extra =
        r.proto === 'ws'
          ? r.subprotocol
            ? `subprotocol ${r.subprotocol}`
            : 'no subprotocol'
          : (h['content-type'] ?? '');
      return { preview: `${r.status ?? ''} ${extra}`.trim(), note: String(r.status ?? '') };
    }
    case 'error':
      return { preview: flat(r.message ?? ''), note: r.status !== undefined ? String(r.status) : '' };
    case 'event':
      return { preview: flat(r.data ?? ''), note: `${r.event ?? 'message'}${r.id !== undefined ? ` #${r.id}` : ''}` };
    case 'comment':
      return { preview: flat(`:${r.data ?? ''}`), note: '' };
    case 'retry':
      return { preview: `reconnection delay ${r.retry_ms} ms`, note: '' };
    case 'reconnect':
      return {
        preview: `attempt ${r.attempt} after ${r.retry_ms} ms${r.last_event_id !== undefined ? ` · Last-Event-ID: ${r.last_event_id}` : ''}`,
        note: '',
      };
    case 'end':
      return { preview: 'the server ended the stream', note: '' };
  }
}

/** Builds chunks from records in arrival order, skipping any `seq` already seen for its
 * connection (`last` is updated) and connections in `ignore`. */
export function chunkRecords(records: unknown[], last: Map<string, number>, ignore?: ReadonlySet<string>): Chunk[] {
  const byConn = new Map<string, StreamRecord[]>();
  for (const v of records) {
    const r = v as StreamRecord;
    if (typeof r !== 'object' || r === null || typeof r.conn !== 'string' || typeof r.seq !== 'number') continue;
    const prev = last.get(r.conn) ?? 0;
    if (r.seq <= prev) continue;
    last.set(r.conn, r.seq);
    if (ignore?.has(r.conn)) continue;
    let list = byConn.get(r.conn);
    if (!list) byConn.set(r.conn, (list = []));
    list.push(r);
  }
  const out: Chunk[] = [];
  for (const [conn, list] of byConn) out.push(toChunk(conn, list));
  return out;
}

export function toChunk(conn: string, list: StreamRecord[]): Chunk {
  const n = list.length;
  const c: Chunk = {
    conn,
    proto: list[0]?.proto ?? 'ws',
    n,
    seq: new Float64Array(n),
    t: new Float64Array(n),
    dir: new Uint8Array(n),
    kind: new Uint8Array(n),
    size: new Float64Array(n),
    text: '',
    ends: new Uint32Array(2 * n),
  };
  const parts = new Array<string>(2 * n);
  const time = timeParser();
  let at = 0;
  for (let i = 0; i < n; i++) {
    const r = list[i];
    c.seq[i] = r.seq;
    c.t[i] = time(r.t);
    c.dir[i] = DIR_CODE[r.dir] ?? 2;
    c.kind[i] = KIND_CODE[r.kind] ?? KIND_CODE.error;
    c.size[i] = typeof r.size === 'number' ? r.size : -1;
    const d = describe(r);
    parts[2 * i] = d.preview;
    parts[2 * i + 1] = d.note;
    c.ends[2 * i] = at += d.preview.length;
    c.ends[2 * i + 1] = at += d.note.length;
  }
  c.text = parts.join('');
  return c;
}

export function rowOf(r: StreamRecord): Row {
  const d = describe(r);
  return {
    seq: r.seq,
    t: parseTime(r.t),
    dir: r.dir,
    kind: r.kind,
    size: typeof r.size === 'number' ? r.size : -1,
    preview: d.preview,
    note: d.note,
  };
}

export function kindOf(code: number): Kind {
  return KINDS[code] ?? 'error';
}
export function dirOf(code: number): Dir {
  return DIRS[code] ?? 'meta';
}
