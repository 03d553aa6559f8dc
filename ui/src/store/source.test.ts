import { describe, expect, it } from 'vitest';
import { rowOf, type Row } from '../transport/decode';
import { Store } from './log';
import { FrameSource } from './source';
import { chunk, records } from './testing';

function serverRows(from: number, limit: number, last: number): Promise<Row[]> {
  return Promise.resolve(records('c1', from, Math.min(last, from + limit - 1)).map(rowOf));
}

/** A source over 100 records, all in memory: the server is never asked. */
function hundredInMemory(): { store: Store; src: FrameSource } {
  const store = new Store(1000, () => 1);
  store.apply([chunk('c1', 1, 100)]);
  const src = new FrameSource(
    store.get('c1')!,
    () => Promise.resolve([]),
    () => {},
  );
  return { store, src };
}

describe('FrameSource', () => {
  it('shows every recorded seq: the newest from memory, older ones from server pages', async () => {
    const store = new Store(1000, () => 1);
    store.apply([chunk('c1', 1, 100_000)]);
    let loads = 0;
    const src = new FrameSource(
      store.get('c1')!,
      (f, l) => serverRows(f, l, 100_000),
      () => loads++,
    );
    expect(src.count).toBe(100_000);
    expect(src.rowAt(99_999)?.seq).toBe(100_000);
    expect(src.rowAt(10)).toBeUndefined();
    await new Promise((r) => setTimeout(r));
    expect(loads).toBe(1);
    expect(src.rowAt(10)?.seq).toBe(11);
    expect(src.rowAt(499)?.seq).toBe(500);
  });

  it('freezes at the paused seq while records keep arriving', () => {
    const { store, src } = hundredInMemory();
    src.pausedAt = 100;
    store.apply([chunk('c1', 101, 150)]);
    expect(src.count).toBe(100);
    expect(src.heldBack).toBe(50);
    src.setFilter({ kinds: ['ping'], dirs: [], text: '' });
    expect(src.count).toBe(10);
    expect(src.heldBack).toBe(5);
    src.pausedAt = null;
    expect(src.count).toBe(15);
  });

  it('maps list indexes through the filter', () => {
    const { src } = hundredInMemory();
    src.setFilter({ kinds: [], dirs: ['out'], text: '' });
    expect(src.count).toBe(10);
    expect(src.seqAt(2)).toBe(30);
    expect(src.rowAt(2)?.kind).toBe('ping');
    expect(src.indexOfSeq(31)).toBe(3);
    src.setFilter({ kinds: [], dirs: [], text: '' });
    expect(src.filter).toBeNull();
    expect(src.seqAt(2)).toBe(3);
  });
});

describe('a cleared view', () => {
  it('starts after the seq it was cleared at, while the recording keeps every row', async () => {
    const store = new Store(1000, () => 1);
    store.apply([chunk('c1', 1, 100)]);
    const log = store.get('c1')!;
    const asked: [number, number][] = [];
    const src = new FrameSource(
      log,
      (from, limit) => {
        asked.push([from, limit]);
        return serverRows(from, limit, 100);
      },
      () => {},
      undefined,
      undefined,
      100,
    );
    // Nothing shown until a frame arrives; the log still holds all 100.
    expect(src.count).toBe(0);
    expect(log.lastSeq).toBe(100);
    store.apply([chunk('c1', 101, 105)]);
    expect(src.count).toBe(5);
    expect(src.seqAt(0)).toBe(101);
    expect(src.rowAt(0)?.seq).toBe(101);
    expect(src.indexOfSeq(103)).toBe(2);
    // A filter sees only the rows after the floor: 101…105 hold no ping.
    src.setFilter({ kinds: ['ping'], dirs: [], text: '' });
    expect(src.count).toBe(0);
    expect(src.filter?.unsearched).toBe(0);
    store.apply([chunk('c1', 106, 110)]);
    expect(src.count).toBe(1);
    expect(src.seqAt(0)).toBe(110);
    // Nothing before the floor was fetched for the view.
    expect(asked).toEqual([]);
  });

  it('never takes the server’s matches from before the floor', () => {
    const store = new Store(1000, () => 1);
    store.apply([chunk('c1', 1, 100)]);
    const src = new FrameSource(
      store.get('c1')!,
      () => Promise.resolve([]),
      () => {},
      async () => ({ matches: [], next: null }),
      undefined,
      40,
    );
    src.setFilter({ kinds: [], dirs: [], text: 'message' });
    const idx = src.filter!;
    // A text search goes to the server for rows received before it was set, down to the floor only.
    expect(idx.unsearched).toBe(60);
    idx.addOlderMatches([99, 55, 41, 40, 12], null);
    expect([...Array(src.count).keys()].map((i) => src.seqAt(i))).toEqual([41, 55, 99]);
    expect(idx.unsearched).toBe(0);
  });
});
