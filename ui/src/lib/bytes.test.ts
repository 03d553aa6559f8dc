import { describe, expect, it } from 'vitest';
import {
  asReadableText,
  bytesToBase64,
  bytesToHex,
  hexDump,
  parseBase64,
  parseHex,
  reencode,
  utf8Length,
} from './bytes';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('base64', () => {
  it('round-trips every length against the platform encoder', () => {
    for (let n = 0; n < 40; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      const enc = bytesToBase64(b);
      expect(enc).toBe(Buffer.from(b).toString('base64'));
      const dec = parseBase64(enc);
      expect(dec.ok && [...dec.value]).toEqual([...b]);
    }
  });
  it('accepts missing padding and whitespace, refuses foreign characters', () => {
    const p = parseBase64('AP8\nQfw');
    expect(p.ok && bytesToHex(p.value)).toBe('00 ff 10 7f');
    const bad = parseBase64('AP8*');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/"\*" at position 4/);
    expect(parseBase64('A').ok).toBe(false);
  });
  it('stops at a limit for previews', () => {
    const p = parseBase64(bytesToBase64(new Uint8Array(100).fill(7)), 10);
    expect(p.ok && p.value.length).toBe(10);
  });
});

describe('hex', () => {
  it('accepts what the server accepts', () => {
    for (const text of ['00ff107f', '0x00ff107f', '00 ff 10 7f', '00:ff:10:7f', '00-FF-10-7F', '  00ff\n107f  ']) {
      const p = parseHex(text);
      expect(p.ok && bytesToHex(p.value, '')).toBe('00ff107f');
    }
    expect(parseHex('').ok).toBe(true);
  });
  it('refuses odd digits, split bytes and non-hex, saying where', () => {
    expect(parseHex('abc')).toMatchObject({ ok: false, error: expect.stringMatching(/odd/) });
    expect(parseHex('a bc')).toMatchObject({ ok: false, error: expect.stringMatching(/splits a byte/) });
    expect(parseHex('zz')).toMatchObject({ ok: false, error: expect.stringMatching(/"z" at position 1/) });
  });
});

describe('hexDump', () => {
  it('prints offset, two groups of eight and printable ASCII', () => {
    const lines = hexDump(Uint8Array.from([...'Hello, world!\n'].map((c) => c.charCodeAt(0)).concat([0, 255, 65])));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({
      offset: '0000',
      hex: '48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 0a 00 ff',
      ascii: 'Hello, world!···',
    });
    expect(lines[1].hex).toBe('41');
    expect(lines[1].ascii).toBe('A');
  });
  it('honours a byte limit', () => {
    expect(hexDump(new Uint8Array(100), 32)).toHaveLength(2);
  });
  it('prints 8 bytes a line for narrow places', () => {
    const lines = hexDump(
      Uint8Array.from({ length: 10 }, (_, i) => 0x41 + i),
      10,
      8,
    );
    expect(lines.map((l) => [l.offset, l.hex, l.ascii])).toEqual([
      ['0000', '41 42 43 44 45 46 47 48', 'ABCDEFGH'],
      ['0008', '49 4a', 'IJ'],
    ]);
  });
});

describe('text', () => {
  it('counts UTF-8 bytes', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é€😀')).toBe(2 + 3 + 4);
  });
  it('reads bytes as text only when valid UTF-8 without control characters', () => {
    expect(asReadableText(bytes(0x68, 0x69, 0x0a))).toBe('hi\n');
    expect(asReadableText(bytes(0xff, 0xfe))).toBeNull();
    expect(asReadableText(bytes(0x68, 0x00))).toBeNull();
  });
});

describe('reencode', () => {
  it('carries the same bytes across the hex/base64 switch and back', () => {
    expect(reencode('00 01 02 03 fe ff', 'hex', 'base64')).toBe('AAECA/7/');
    expect(reencode('AAECA/7/', 'base64', 'hex')).toBe('00 01 02 03 fe ff');
    expect(reencode('', 'hex', 'base64')).toBe('');
  });
  it('leaves a draft that does not parse as typed', () => {
    expect(reencode('zz', 'hex', 'base64')).toBe('zz');
    expect(reencode('AAECA/7/', 'hex', 'hex')).toBe('AAECA/7/');
  });
});
