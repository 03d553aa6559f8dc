// A connection read through a decoder: which one applies (chosen by hand, from the
// subprotocol or URL, or from the first messages), the frame list's rows rewritten as
// the decoder reads them, and JSON-RPC's request ↔ response index. Rows carry previews
// (cut at a few hundred characters, line ends shown as ⏎), so a row is decoded from its
// preview where that holds the whole message and summarised from what it shows where
// not; the detail view decodes the whole record.

import { DIRS } from '../contract';
import { parseHex } from '../lib/bytes';
import type { ConnLog } from '../store/log';
import { KIND_CODE, PREVIEW_BYTES, PREVIEW_CHARS, type Row } from '../transport/decode';
import { decoderFor, sniffDecoder } from './choose';
import { RpcIndex, rpcFromPreview } from './jsonrpc';
import { decodeBinary, decodeJsonRpc, decodeText, msgpackHead, type Decoded, type DecoderId } from './protocols';

/** What the pane's decoder select holds: automatic, none, a decoder, or the LLM view. */
export type DecoderChoice = 'auto' | 'none' | 'llm' | DecoderId;

/** Rows looked at to guess a decoder from what the messages look like. */
const SNIFF_ROWS = 40;

/** Undoes the preview's marks where they stand for line ends. */
export function unflat(preview: string): string {
  return preview.replace(/⏎/g, '\n');
}

export class DecoderSession {
  /** From the subprotocol or URL, once known. */
  named: DecoderId | null = null;
  /** From the first messages, once enough arrived. */
  sniffed: DecoderId | null = null;
  private sniffDone = false;
  readonly rpc = new RpcIndex();
  private unlisten: (() => void) | null = null;

  constructor(
    readonly log: ConnLog,
    url: string,
    public choice: DecoderChoice,
  ) {
    this.named = decoderFor(undefined, url);
    this.unlisten = log.listen(() => this.catchUp());
    this.catchUp();
  }

  /** The negotiated subprotocol, read from the connection's `open` record. */
  setSubprotocol(subprotocol: string | undefined, url: string) {
    this.named = decoderFor(subprotocol, url) ?? this.named;
  }

  dispose() {
    this.unlisten?.();
    this.unlisten = null;
  }

  /** The decoder in force: the choice by hand, else what the connection named, else
   * what its messages look like. */
  get active(): DecoderId | null {
    if (this.choice === 'none' || this.choice === 'llm') return null;
    if (this.choice !== 'auto') return this.choice;
    return this.named ?? this.sniffed;
  }

  /** The last seq read into the sniff and the index. */
  private indexed = 0;

  /** Reads the rows the ring gained since last time: the sniff and the JSON-RPC index. */
  catchUp() {
    const ring = this.log.ring;
    if (!ring.length || ring.lastSeq <= this.indexed) return;
    // From the row after the last one read, or the oldest held if that one left memory.
    const from = Math.max(this.indexed + 1, ring.firstSeq);
    const previews: string[] = [];
    for (let i = ring.find(from); i >= 0 && i < ring.length; i++) {
      const seq = ring.seqAt(i);
      this.indexed = seq;
      const k = ring.kindAt(i);
      if (k !== KIND_CODE.text && k !== KIND_CODE.event) continue;
      const preview = ring.previewAt(i);
      if (!this.sniffDone && seq <= SNIFF_ROWS) previews.push(preview);
      const msg = rpcMessage(preview);
      if (msg) this.rpc.observe(seq, ring.row(i).t, DIRS[ring.dirAt(i)], msg);
    }
    if (!this.sniffDone && previews.length) {
      this.sniffPreviews.push(...previews);
      this.sniffed = sniffDecoder(this.sniffPreviews) ?? this.sniffed;
    }
    if (this.indexed >= SNIFF_ROWS) this.sniffDone = true;
  }
  private sniffPreviews: string[] = [];

  /** The row as the decoder reads it: its note the message's kind (and a JSON-RPC
   * round trip), its preview the summary. Rows the decoder does not read stay as they are. */
  decorate(row: Row): Row {
    const id = this.active;
    if (!id) return row;
    const d = decodeRow(id, row);
    if (!d) return row;
    let note = d.label;
    if (id === 'jsonrpc') {
      const m = this.rpc.responses.get(row.seq);
      const a = this.rpc.answered.get(row.seq);
      if (m) note = `${d.label} ${formatRtt(m.rttMs)}`;
      else if (a) note = `${d.label} → #${a.responseSeq}`;
    }
    return { ...row, note, preview: d.summary || row.preview };
  }
}

/** A JSON-RPC message's id and role from a preview: parsed whole when it is, else read
 * from its keys. */
function rpcMessage(preview: string) {
  const whole = preview.length < PREVIEW_CHARS ? decodeJsonRpc(unflat(preview)) : null;
  return whole?.rpc ?? rpcFromPreview(preview);
}

/** Decodes one row from its preview; a binary row only when the preview holds every
 * byte (else MessagePack is named by its first byte). */
export function decodeRow(id: DecoderId, row: Row): Decoded | null {
  if (row.kind === 'text' || row.kind === 'event') {
    const cut = row.preview.length >= PREVIEW_CHARS;
    // The preview shows a STOMP frame's closing NUL as a dot.
    const text = id === 'stomp' ? unflat(row.preview).replace(/·$/, '\0') : unflat(row.preview);
    const whole = cut ? null : decodeText(id, text);
    if (whole) return whole;
    if (!cut) return null;
    // Cut short: the kind is still readable from the start.
    if (id === 'jsonrpc') {
      const m = rpcFromPreview(row.preview);
      return m
        ? {
            label: m.role === 'response' ? 'result' : m.role,
            summary: `${m.method ?? ''} #${m.id}`.trim() + ' …',
            fields: [],
          }
        : null;
    }
    const type = /"type"\s*:\s*"([^"]+)"/.exec(row.preview)?.[1];
    if (type && (id === 'graphql-transport-ws' || id === 'graphql-ws'))
      return { label: type, summary: row.preview, fields: [] };
    const stomp = /^([A-Z]+)⏎/.exec(row.preview)?.[1];
    if (stomp && id === 'stomp') return { label: stomp, summary: row.preview.slice(stomp.length + 1), fields: [] };
    return null;
  }
  if (row.kind === 'binary') {
    const hex = parseHex(row.preview);
    if (!hex.ok) return null;
    if (row.size <= PREVIEW_BYTES) return decodeBinary(id, hex.value);
    if (id === 'msgpack' && hex.value.length) {
      return {
        label: msgpackHead(hex.value[0]),
        summary: `${row.size} bytes; select the frame to decode it all`,
        fields: [],
      };
    }
  }
  return null;
}

export function formatRtt(ms: number): string {
  return ms < 1
    ? `${Math.round(ms * 1000)} µs`
    : ms < 1000
      ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms`
      : `${(ms / 1000).toFixed(2)} s`;
}
