import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNdjson, parseTime, type StreamRecord } from '../contract';
import {
  chunkItems,
  describe as describeRecord,
  KIND_CODE,
  noteIn,
  PREVIEW_CHARS,
  previewIn,
  rowOf,
  rowsOf,
  toChunk,
  type Chunk,
  type Run,
} from './decode';

const fixture = parseNdjson(readFileSync(new URL('../fixtures/recorded.ndjson', import.meta.url), 'utf8'));
const find = (pred: (r: StreamRecord) => boolean) => fixture.find(pred)!;

describe('previews of real records', () => {
  it('shows text as one line, binary and control payloads as hex or quoted text', () => {
    expect(describeRecord(find((r) => r.kind === 'text' && r.data === 'hello')).preview).toBe('hello');
    expect(describeRecord(find((r) => r.kind === 'binary' && r.size === 4)).preview).toBe('00 ff 10 7f');
    expect(describeRecord(find((r) => r.kind === 'ping' && r.size === 13)).preview).toBe('"are you there"');
  });

  it('names close codes and SSE event types with their ids', () => {
    expect(describeRecord(find((r) => r.kind === 'close' && r.code === 4000))).toEqual({
      preview: 'application-defined · script finished',
      note: '4000',
    });
    const tick = describeRecord(find((r) => r.kind === 'event' && r.event === 'tick'));
    expect(tick.note).toBe('tick #1');
    expect(tick.preview).toMatch(/^\{"n":1,/);
  });

  it('describes the connection records', () => {
    const sseOpen = describeRecord(find((r) => r.kind === 'open' && r.proto === 'sse'));
    // The status once appeared twice in the row: as the note and again in the preview.
    expect(sseOpen).toEqual({ preview: 'text/event-stream', note: '200' });
    const wsOpen = describeRecord(find((r) => r.kind === 'open' && r.proto === 'ws'));
    expect(wsOpen.note).toBe('101');
    expect(wsOpen.preview).not.toMatch(/101/);
    expect(describeRecord(find((r) => r.kind === 'reconnect' && r.last_event_id === '2')).preview).toBe(
      'attempt 1 after 20 ms · Last-Event-ID: 2',
    );
    expect(describeRecord(find((r) => r.kind === 'comment')).preview).toMatch(/^: /);
    expect(describeRecord(find((r) => r.kind === 'error' && r.proto === 'ws')).preview).toMatch(/could not connect/);
  });

  it('keeps previews short and on one line', () => {
    const long = { ...fixture[1], data: 'x\n'.repeat(1000), size: 2000 };
    const d = describeRecord(long);
    expect(d.preview.length).toBe(PREVIEW_CHARS);
    expect(d.preview).not.toMatch(/\n/);
  });
});

describe('chunkItems of records', () => {
  it('splits a live batch by connection into columns', () => {
    const last = new Map<string, number>();
    const chunks = chunkItems(fixture.slice(0, 30), last);
    const c1 = chunks.find((c) => c.conn === 'c1')!;
    expect(c1.n).toBe(13);
    expect([...c1.seq.slice(0, 3)]).toEqual([1, 2, 3]);
    expect(c1.kind[0]).toBe(KIND_CODE.open);
    expect(c1.size[0]).toBe(-1);
    expect(c1.size[1]).toBe(5);
    expect(last.get('c1')).toBe(13);
    expect(previewIn(c1, 1)).toBe('hello');
    expect(noteIn(c1, 0)).toBe('101');
    expect(previewIn(c1, 12)).toBe('application-defined · done here');
    expect(noteIn(c1, 12)).toBe('4001');
  });

  it('drops what it has seen (a resumed socket) and what it is told to ignore', () => {
    const last = new Map([['c1', 10]]);
    const chunks = chunkItems(fixture.slice(0, 30), last, new Set(['c2']));
    expect(chunks.find((c) => c.conn === 'c1')?.n).toBe(3);
    expect(chunks.find((c) => c.conn === 'c2')).toBeUndefined();
    // Ignored connections still advance their cursor, so a resumed socket skips them.
    expect(last.get('c2')).toBe(6);
  });

  it('makes the same row as a page record would', () => {
    const r = fixture[4];
    const [c] = chunkItems([r], new Map());
    expect(rowOf(r)).toMatchObject({ seq: c.seq[0], size: c.size[0], preview: previewIn(c, 0), note: noteIn(c, 0) });
  });
});

/** What the server's `format=runs` makes of records (crates/server/src/ui_socket.rs):
 * consecutive text or event records of one connection as runs, the rest as they are. */
function asItems(records: StreamRecord[]): unknown[] {
  const out: unknown[] = [];
  let run: Run | null = null;
  let lastT = 0;
  for (const r of records) {
    const kind = r.kind === 'text' ? 'text' : r.kind === 'event' && r.dir === 'in' ? 'event' : null;
    if (!kind) {
      run = null;
      out.push(r);
      continue;
    }
    const us = Math.round(parseTime(r.t) * 1000);
    if (!run || run.conn !== r.conn || run.kind !== kind || run.seq + run.data.length !== r.seq) {
      run = { conn: r.conn, proto: r.proto, kind, seq: r.seq, t: [], dir: '', size: [], data: [] };
      if (kind === 'event') Object.assign(run, { event: [], id: [] });
      out.push({ run });
      lastT = 0;
    }
    run.t.push(us - lastT);
    lastT = us;
    run.dir += r.dir === 'out' ? 'o' : 'i';
    run.size.push(r.size ?? 0);
    run.data.push(r.data ?? '');
    run.event?.push(r.event ?? 'message');
    run.id?.push(r.id ?? null);
  }
  return out;
}

const columns = (c: Chunk) => ({
  conn: c.conn,
  proto: c.proto,
  seq: [...c.seq],
  t: [...c.t].map((x) => Math.round(x * 1000)),
  dir: [...c.dir],
  kind: [...c.kind],
  size: [...c.size],
  text: c.text,
  ends: [...c.ends],
});

describe('chunkItems', () => {
  it('makes the same chunks of runs as of the records they stand for', () => {
    const items = asItems(fixture);
    expect(items.some((i) => typeof i === 'object' && i !== null && 'run' in i)).toBe(true);
    const fromRuns = chunkItems(items, new Map());
    const fromRecords = chunkItems(fixture, new Map());
    expect(fromRuns.map(columns)).toEqual(fromRecords.map(columns));
  });

  it('skips what a resumed socket sends again, inside a run too, and ignored connections', () => {
    const ticks = fixture.filter((r) => r.conn === 'c2');
    const last = new Map([['c2', ticks[2].seq]]);
    const [c] = chunkItems(asItems(ticks), last);
    expect(c.seq[0]).toBe(ticks[2].seq + 1);
    expect(last.get('c2')).toBe(ticks.at(-1)!.seq);
    const again = new Map<string, number>();
    expect(chunkItems(asItems(ticks), again, new Set(['c2']))).toEqual([]);
    expect(again.get('c2')).toBe(ticks.at(-1)!.seq);
  });

  it('skips a malformed run instead of failing the batch', () => {
    const bad = { run: { conn: 'c9', proto: 'ws', kind: 'text', seq: 1, t: [1], dir: '', size: [], data: ['x', 'y'] } };
    const chunks = chunkItems([bad, fixture[0]], new Map());
    expect(chunks.map((c) => c.conn)).toEqual([fixture[0].conn]);
  });
});

describe('rowsOf', () => {
  it('gives the rows of a page decoded in the worker as rowOf gives them from records', () => {
    const c1 = fixture.filter((r) => r.conn === 'c1');
    const rows = rowsOf(toChunk('c1', c1));
    expect(rows).toHaveLength(c1.length);
    rows.forEach((row, i) => {
      const want = rowOf(c1[i]);
      expect({ ...row, t: 0 }).toEqual({ ...want, t: 0 });
      expect(row.t).toBeCloseTo(want.t, 3);
    });
  });
});

describe('timeParser', () => {
  it('agrees with parseTime, fast path or not', async () => {
    const { timeParser } = await import('./decode');
    const { parseTime } = await import('../contract');
    const time = timeParser();
    for (const t of [
      '2026-01-02T03:04:05.123456Z',
      '2026-01-02T03:04:05.999999Z',
      '2026-01-02T03:04:06.000001Z',
      '2026-01-02T03:04:06.5Z',
      '2026-01-02T03:04:06Z',
      '2026-01-02T05:04:06.25+02:00',
      'garbage',
    ]) {
      const a = time(t);
      const b = parseTime(t);
      if (Number.isNaN(b)) expect(a).toBeNaN();
      else expect(a).toBeCloseTo(b, 3);
    }
  });
});

describe('the live wire format fixture (shared with ui_socket.rs)', () => {
  const live = JSON.parse(readFileSync(new URL('../fixtures/live-batch.json', import.meta.url), 'utf8'));
  const input = live.input as StreamRecord[];
  const rows = (chunks: Chunk[]) => Object.fromEntries(chunks.map((c) => [c.conn, rowsOf(c)]));

  it('decodes the runs batch into the same rows as the records it was made from', () => {
    // The fixture's preview is the one the UI asks for, so cutting loses nothing a row shows.
    expect(live.preview).toBe(PREVIEW_CHARS);
    const fromRuns = rows(chunkItems(live.runs.items, new Map()));
    const fromInput = rows(chunkItems(input, new Map()));
    expect(fromRuns).toEqual(fromInput);
    expect(rows(chunkItems(live.records.records, new Map()))).toEqual(fromInput);
    expect(Object.keys(fromRuns)).toEqual(['c3', 'c4']);
    expect(fromRuns.c3.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('reads what the rows need from the runs: times, directions, sizes, previews, event notes', () => {
    const [c3, c4] = chunkItems(live.runs.items, new Map()).map(rowsOf);
    expect(c3[2]).toMatchObject({ dir: 'out', kind: 'text', size: 13, preview: '{"n":1}⏎été' });
    expect(c3[2].t).toBe(parseTime('2026-01-02T03:04:05.000250Z'));
    // `size` counts the whole payload though the run carries its preview only.
    expect(c3[3]).toMatchObject({ size: 300, preview: '0123456789'.repeat(24) });
    expect(c4.map((r) => r.note)).toEqual(['200', 'tick #1', 'message #1', 'message', '', 'tick #4']);
  });

  it('has the connection list shapes the store and the views read', () => {
    const [view] = live.conns;
    expect(Object.keys(view).sort()).toEqual(
      ['id', 'proto', 'url', 'name', 'state', 'since', 'last_seq', 'recorded_bytes', 'totals', 'rate'].sort(),
    );
    expect(Object.keys(live.list[0]).sort()).toEqual(['id', 'proto', 'url', 'name', 'state', 'since'].sort());
    expect(live.error).toMatchObject({ type: 'error', code: 'bad_request' });
  });
});
