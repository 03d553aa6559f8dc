import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CAUSES, ContractError, parseNdjson, parseRecord, parseTime, SIZED_KINDS, type StreamRecord } from './contract';

// Recorded from a real `sscope serve`: every demo endpoint once, exported through
// `/api/connections/{id}/export` (see src/fixtures/README.md).
const fixture = readFileSync(new URL('./fixtures/recorded.ndjson', import.meta.url), 'utf8');

describe('the recorded NDJSON fixture', () => {
  const records = parseNdjson(fixture);

  it('parses every line as a contract record', () => {
    expect(records.length).toBe(fixture.trim().split('\n').length);
  });

  it('numbers each connection 1, 2, 3 … without gaps', () => {
    const last = new Map<string, number>();
    for (const r of records) {
      expect(r.seq).toBe((last.get(r.conn) ?? 0) + 1);
      last.set(r.conn, r.seq);
    }
    expect(last.size).toBeGreaterThanOrEqual(8);
  });

  it('gives its error records a known cause', () => {
    const errors = records.filter((r) => r.kind === 'error');
    expect(errors.length).toBeGreaterThan(0);
    for (const r of errors) expect(CAUSES as readonly string[]).toContain(r.cause);
  });

  it('holds every kind of both protocols', () => {
    const seen = new Set(records.map((r) => `${r.proto}:${r.kind}`));
    for (const k of ['open', 'text', 'binary', 'ping', 'pong', 'close', 'error']) expect(seen).toContain(`ws:${k}`);
    for (const k of ['open', 'event', 'comment', 'retry', 'reconnect', 'end', 'error'])
      expect(seen).toContain(`sse:${k}`);
  });

  it('gives sizes exactly to data kinds', () => {
    for (const r of records) expect(r.size !== undefined).toBe(SIZED_KINDS.has(r.kind));
  });

  it('keeps the SSE fields: named events with ids, retry, Last-Event-ID on reconnect', () => {
    const ticks = records.filter((r) => r.kind === 'event' && r.event === 'tick');
    expect(ticks.length).toBeGreaterThan(0);
    expect(ticks.map((r) => r.id)).toEqual(ticks.map((_, i) => String(i + 1)));
    const reconnect = records.find((r) => r.kind === 'reconnect' && r.last_event_id !== undefined) as StreamRecord;
    expect(reconnect.attempt).toBe(1);
    expect(records.some((r) => r.kind === 'retry' && typeof r.retry_ms === 'number')).toBe(true);
    expect(records.some((r) => r.kind === 'comment' && r.data?.startsWith(' '))).toBe(true);
  });

  it('keeps close codes and reasons, and the handshake headers lower-case', () => {
    const close = records.find((r) => r.kind === 'close' && r.code === 4000);
    expect(close?.reason).toBe('script finished');
    const open = records.find((r) => r.kind === 'open' && r.proto === 'ws');
    expect(open?.status).toBe(101);
    expect(open?.headers?.upgrade).toBe('websocket');
  });
});

describe('parseRecord', () => {
  const base = {
    t: '2026-01-02T03:04:05.123456Z',
    conn: 'c1',
    proto: 'ws',
    seq: 1,
    dir: 'in',
    kind: 'text',
    size: 2,
    data: 'hi',
  };

  it('accepts a valid record', () => {
    expect(parseRecord(base).data).toBe('hi');
  });

  it.each([
    [{ ...base, seq: 0 }, /seq/],
    [{ ...base, kind: 'event' }, /does not belong to ws/],
    [{ ...base, size: undefined }, /carry size/],
    [{ ...base, t: 'yesterday' }, /RFC 3339/],
    [{ ...base, dir: 'sideways' }, /dir/],
    [{ ...base, kind: 'open', dir: 'in', size: undefined, status: 101, headers: {} }, /dir meta/],
    [{ ...base, kind: 'open', dir: 'meta', size: undefined, headers: { Upgrade: 'x' }, status: 101 }, /lower-case/],
    [{ ...base, kind: 'binary', data: undefined }, /data_b64/],
  ])('refuses %o', (rec, why) => {
    expect(() => parseRecord(rec)).toThrow(why);
  });

  it('names the line of a bad NDJSON record', () => {
    expect(() => parseNdjson(`${JSON.stringify(base)}\n{"t":1}\n`)).toThrow(ContractError);
    expect(() => parseNdjson(`${JSON.stringify(base)}\n{"t":1}\n`)).toThrow(/line 2/);
    expect(() => parseNdjson('not json')).toThrow(/line 1: not JSON/);
  });
});

describe('wire figures', () => {
  // As `sscope ws` printed them against Python websockets with permessage-deflate.
  const open = {
    t: '2026-12-07T01:13:02.937029Z',
    conn: 'c1',
    proto: 'ws',
    seq: 1,
    dir: 'meta',
    kind: 'open',
    status: 101,
    headers: { upgrade: 'websocket' },
    request_size: 224,
    response_size: 312,
    extensions: 'permessage-deflate; server_max_window_bits=12; client_max_window_bits=12',
  };
  const fragmented = {
    t: '2026-12-07T01:13:02.939082Z',
    conn: 'c1',
    proto: 'ws',
    seq: 2,
    dir: 'in',
    kind: 'text',
    size: 5,
    data: 'hello',
    wire_bytes: 11,
    frames: 2,
    compressed_size: 7,
    frame_list: [
      { fin: false, opcode: 1, rsv1: true, masked: false, len: 3 },
      { fin: true, opcode: 0, rsv1: false, masked: false, len: 4 },
    ],
  };

  it('are read on the open record and on a fragmented, compressed message', () => {
    expect(parseRecord(open).extensions).toMatch(/^permessage-deflate/);
    const r = parseRecord(fragmented);
    expect(r.frame_list?.map((f) => f.len)).toEqual([3, 4]);
    expect(r.compressed_size).toBe(7);
  });

  const chunkedEvent = {
    t: '2026-12-07T01:13:02.939082Z',
    conn: 'c2',
    proto: 'sse',
    seq: 2,
    dir: 'in',
    kind: 'event',
    size: 1,
    event: 'message',
    data: 'a',
    wire_bytes: 9,
    framing_bytes: 3,
  };

  it('read chunk framing on an SSE item', () => {
    expect(parseRecord(chunkedEvent).framing_bytes).toBe(3);
  });

  it.each([
    [{ ...chunkedEvent, framing_bytes: '3' }, /framing_bytes must be a number/],
    [{ ...chunkedEvent, wire_bytes: undefined }, /carry framing_bytes, beside wire_bytes/],
    [{ ...fragmented, framing_bytes: 2 }, /only SSE events, comments and retries carry framing_bytes/],
    [{ ...fragmented, frames: 3 }, /lists every frame/],
    [{ ...fragmented, frame_list: [{ fin: true }, { fin: true }] }, /frame_list entry/],
    [{ ...fragmented, wire_bytes: '11' }, /wire_bytes must be a number/],
    [{ ...fragmented, request_size: 10 }, /only WebSocket open records carry request_size/],
    [{ ...open, frames: 1 }, /only WebSocket frames carry frames/],
  ])('refuses %o', (rec, why) => {
    expect(() => parseRecord(rec)).toThrow(why);
  });
});

describe('parseTime', () => {
  it('keeps microseconds in the fraction of a millisecond', () => {
    const ms = parseTime('2026-01-02T03:04:05.123456Z');
    expect(Math.floor(ms)).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 123));
    // Epoch milliseconds in a double keep sub-microsecond resolution.
    expect(Math.round((ms - Math.floor(ms)) * 1000)).toBe(456);
  });
  it('reads offsets and missing fractions', () => {
    expect(parseTime('2026-01-02T05:04:05+02:00')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseTime('nope')).toBeNaN();
  });
});

describe('the cause of an error record', () => {
  const base = { t: '2026-11-25T18:55:56.335294Z', conn: 'c1', proto: 'ws', seq: 1, dir: 'meta' };

  it('is kept as it came, even a code this build does not know', () => {
    expect(parseRecord({ ...base, kind: 'error', message: 'x', cause: 'quantum_flux' }).cause).toBe('quantum_flux');
    expect(parseRecord({ ...base, kind: 'error', message: 'x' }).cause).toBeUndefined();
  });

  it('is refused on other kinds and when not a string', () => {
    expect(() => parseRecord({ ...base, kind: 'open', status: 101, headers: {}, cause: 'refused' })).toThrow(
      ContractError,
    );
    expect(() => parseRecord({ ...base, kind: 'error', message: 'x', cause: 7 })).toThrow(ContractError);
  });
});
