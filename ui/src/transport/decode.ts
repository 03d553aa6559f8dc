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
export const PREVIEW_BYTES = 40;

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
      // The status is the row's note; the preview says what else the handshake settled
      // (it once repeated the status: "101 101 no subprotocol").
      return { preview: extra, note: String(r.status ?? '') };
    }
    case 'error':
      return { preview: flat(r.message ?? ''), note: r.status !== undefined ? String(r.status) : '' };
    case 'event':
      return { preview: flat(r.data ?? ''), note: eventNote(r.event, r.id) };
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

/** A run of consecutive text or event records of one connection, as `/api/live?format=runs`
 * sends them (crates/server/src/ui_socket.rs): `seq` is the first record's; `t` the first
 * time in µs since the epoch, then differences; one `dir` letter per record (`i`/`o`). */
export interface Run {
  conn: string;
  proto: Proto;
  kind: 'text' | 'event';
  seq: number;
  t: number[];
  dir: string;
  size: number[];
  data: string[];
  event?: string[];
  id?: (string | null)[];
  /** Each record's `wire_bytes` (null where none), when any record of the run has it. */
  wire_bytes?: (number | null)[];
  /** Each record's `framing_bytes` (null where none), when any record of the run has it. */
  framing_bytes?: (number | null)[];
}

/** Rows of one connection in seq order, gathered before they become a chunk. */
class ChunkBuilder {
  private seq: number[] = [];
  private t: number[] = [];
  private dir: number[] = [];
  private kind: number[] = [];
  private size: number[] = [];
  private parts: string[] = [];
  private time = timeParser();

  constructor(
    readonly conn: string,
    readonly proto: Proto,
  ) {}

  row(seq: number, t: number, dir: number, kind: number, size: number, preview: string, note: string) {
    this.seq.push(seq);
    this.t.push(t);
    this.dir.push(dir);
    this.kind.push(kind);
    this.size.push(size);
    this.parts.push(preview, note);
  }

  record(r: StreamRecord) {
    const d = describe(r);
    this.row(
      r.seq,
      this.time(r.t),
      DIR_CODE[r.dir] ?? 2,
      KIND_CODE[r.kind] ?? KIND_CODE.error,
      typeof r.size === 'number' ? r.size : -1,
      d.preview,
      d.note,
    );
  }

  build(): Chunk {
    const n = this.seq.length;
    const ends = new Uint32Array(2 * n);
    let at = 0;
    for (let i = 0; i < 2 * n; i++) ends[i] = at += this.parts[i].length;
    return {
      conn: this.conn,
      proto: this.proto,
      n,
      seq: Float64Array.from(this.seq),
      t: Float64Array.from(this.t),
      dir: Uint8Array.from(this.dir),
      kind: Uint8Array.from(this.kind),
      size: Float64Array.from(this.size),
      text: this.parts.join(''),
      ends,
    };
  }
}

function isRun(v: unknown): v is { run: Run } {
  if (typeof v !== 'object' || v === null || !('run' in v)) return false;
  const r = (v as { run: Run }).run;
  if (typeof r !== 'object' || r === null) return false;
  const n = Array.isArray(r.data) ? r.data.length : -1;
  return (
    typeof r.conn === 'string' &&
    typeof r.seq === 'number' &&
    (r.kind === 'text' || r.kind === 'event') &&
    Array.isArray(r.t) &&
    r.t.length >= n &&
    Array.isArray(r.size) &&
    r.size.length >= n &&
    typeof r.dir === 'string' &&
    r.dir.length >= n &&
    (r.kind === 'text' || (Array.isArray(r.event) && r.event.length >= n))
  );
}

function eventNote(event: string | undefined, id: string | null | undefined): string {
  return `${event ?? 'message'}${id != null ? ` #${id}` : ''}`;
}

/** Builds chunks from a live batch's records, or its `items` (records and runs), in
 * arrival order, skipping any `seq` already seen for its connection (`last` is updated)
 * and connections in `ignore`. What is malformed is skipped rather than failing the batch. */
export function chunkItems(
  items: unknown[],
  last: Map<string, number>,
  ignore?: { has(conn: string): boolean },
): Chunk[] {
  const byConn = new Map<string, ChunkBuilder>();
  const builder = (conn: string, proto: Proto) => {
    let b = byConn.get(conn);
    if (!b) byConn.set(conn, (b = new ChunkBuilder(conn, proto)));
    return b;
  };
  for (const v of items) {
    if (isRun(v)) {
      const run = v.run;
      let prev = last.get(run.conn) ?? 0;
      const skip = ignore?.has(run.conn);
      const b = skip ? null : builder(run.conn, run.proto === 'sse' ? 'sse' : 'ws');
      const kind = KIND_CODE[run.kind];
      const n = run.data.length;
      let us = 0;
      for (let i = 0; i < n; i++) {
        us += run.t[i];
        const seq = run.seq + i;
        if (seq <= prev) continue;
        prev = seq;
        if (!b) continue;
        const data = run.data[i];
        b.row(
          seq,
          us / 1000,
          run.dir.charCodeAt(i) === 111 ? DIR_CODE.out : DIR_CODE.in,
          kind,
          typeof run.size[i] === 'number' ? run.size[i] : -1,
          flat(typeof data === 'string' ? data : ''),
          run.kind === 'event' ? eventNote(run.event?.[i], run.id?.[i]) : '',
        );
      }
      last.set(run.conn, prev);
      continue;
    }
    const r = v as StreamRecord;
    if (typeof r !== 'object' || r === null || typeof r.conn !== 'string' || typeof r.seq !== 'number') continue;
    const prev = last.get(r.conn) ?? 0;
    if (r.seq <= prev) continue;
    last.set(r.conn, r.seq);
    if (ignore?.has(r.conn)) continue;
    builder(r.conn, r.proto).record(r);
  }
  const out: Chunk[] = [];
  for (const b of byConn.values()) out.push(b.build());
  return out;
}

/** A chunk of one connection's records, in the order given. */
export function toChunk(conn: string, list: StreamRecord[]): Chunk {
  const b = new ChunkBuilder(conn, list[0]?.proto ?? 'ws');
  for (const r of list) b.record(r);
  return b.build();
}

/** Every row of a chunk, as views read them. */
export function rowsOf(c: Chunk): Row[] {
  const out = new Array<Row>(c.n);
  for (let i = 0; i < c.n; i++)
    out[i] = {
      seq: c.seq[i],
      t: c.t[i],
      dir: dirOf(c.dir[i]),
      kind: kindOf(c.kind[i]),
      size: c.size[i],
      preview: previewIn(c, i),
      note: noteIn(c, i),
    };
  return out;
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
