// Bytes for people: hex and base64 in both directions, hex dumps, and whether a payload
// reads as text. Hex parsing accepts what the server's `parse_hex` accepts (an optional
// 0x, whitespace, ':' or '-' between byte pairs), so the sender can check before sending.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64.length; i++) t[B64.charCodeAt(i)] = i;
  return t;
})();

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Standard base64 with padding, as the contract's `data_b64`. */
export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64[n >> 18] + B64[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + '=';
  }
  return out;
}

/** Decodes standard base64 (whitespace ignored, padding optional); `limit` stops after
 * that many bytes, for previews of large payloads. */
export function parseBase64(text: string, limit = Infinity): Parsed<Uint8Array> {
  const clean = text.replace(/\s+/g, '');
  const body = clean.replace(/={1,2}$/, '');
  if (body.length % 4 === 1)
    return { ok: false, error: 'base64 length is not valid (one character too many or too few)' };
  if (clean.length !== body.length && clean.length % 4 !== 0)
    return { ok: false, error: 'base64 padding does not fit the length' };
  const total = Math.floor((body.length * 3) / 4);
  const n = Math.min(total, limit);
  const out = new Uint8Array(n);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < body.length && o < n; i++) {
    const c = body.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0)
      return { ok: false, error: `base64: ${JSON.stringify(body[i])} at position ${i + 1} is not a base64 character` };
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return { ok: true, value: out };
}

/** Like the server's parse_hex: `0x` prefix allowed, whitespace, ':' and '-' between
 * byte pairs, never inside one. */
export function parseHex(text: string): Parsed<Uint8Array> {
  let body = text.trim();
  if (body.startsWith('0x') || body.startsWith('0X')) body = body.slice(2);
  const out: number[] = [];
  let high = -1;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (/\s/.test(c) || c === ':' || c === '-') {
      if (high >= 0) return { ok: false, error: 'hex: a separator splits a byte; write two digits per byte' };
      continue;
    }
    const v = parseInt(c, 16);
    if (Number.isNaN(v))
      return { ok: false, error: `hex: ${JSON.stringify(c)} at position ${i + 1} is not a hex digit` };
    if (high < 0) high = v;
    else {
      out.push((high << 4) | v);
      high = -1;
    }
  }
  if (high >= 0) return { ok: false, error: 'hex: odd number of digits; write two digits per byte' };
  return { ok: true, value: Uint8Array.from(out) };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function bytesToHex(bytes: Uint8Array, sep = ' '): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (i ? sep : '') + HEX[bytes[i]];
  return out;
}

export interface DumpLine {
  offset: string;
  hex: string;
  ascii: string;
}

/** A classic hex dump: offset, hex (16 bytes a line in two groups of 8, or 8 a line for
 * narrow places), printable ASCII. */
export function hexDump(bytes: Uint8Array, maxBytes = bytes.length, perLine: 8 | 16 = 16): DumpLine[] {
  const n = Math.min(bytes.length, maxBytes);
  const width = Math.max(4, (n > 0 ? n - 1 : 0).toString(16).length);
  const lines: DumpLine[] = [];
  for (let off = 0; off < n; off += perLine) {
    let hex = '';
    let ascii = '';
    for (let j = 0; j < perLine; j++) {
      const i = off + j;
      if (j === 8) hex += ' ';
      if (i < n) {
        const b = bytes[i];
        hex += HEX[b] + ' ';
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '·';
      } else hex += '   ';
    }
    lines.push({ offset: off.toString(16).padStart(width, '0'), hex: hex.trimEnd(), ascii });
  }
  return lines;
}

const encoder = new TextEncoder();

export function utf8Length(text: string): number {
  // Fast path for ASCII, which most messages are.
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else return encoder.encode(text).length;
  }
  return n;
}

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The bytes as text when they are valid UTF-8 without control characters other than
 * tab and line ends; `null` otherwise. */
export function asReadableText(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text) ? null : text;
}

/** The same bytes written in the other encoding, for the sender's hex/base64 switch: a
 * draft that parses is carried over (what will be sent stays the same bytes); one that
 * does not is left as typed, so nothing the user wrote is thrown away. */
export function reencode(text: string, from: 'hex' | 'base64', to: 'hex' | 'base64'): string {
  if (from === to) return text;
  const p = from === 'hex' ? parseHex(text) : parseBase64(text);
  if (!p.ok) return text;
  return to === 'hex' ? bytesToHex(p.value) : bytesToBase64(p.value);
}
