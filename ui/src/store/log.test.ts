import { describe, expect, it } from 'vitest';
import type { ConnView } from '../transport/types';
import { Store } from './log';
import { chunk } from './testing';

function view(id: string, events: number): ConnView {
  const zero = { events_in: 0, events_out: 0, bytes_in: 0, bytes_out: 0, wire_in: 0, wire_out: 0 };
  return {
    id,
    proto: 'ws',
    url: 'ws://x/',
    name: 'x',
    state: 'open',
    since: '2026-01-02T03:04:05Z',
    last_seq: 0,
    recorded_bytes: 0,
    totals: zero,
    rate: { ...zero, events_in: events },
  };
}

describe('Store', () => {
  it('keys logs by conn and appends their chunks', () => {
    const store = new Store(1000, () => 1);
    store.apply([chunk('c1', 1, 5), chunk('c2', 1, 3)]);
    store.apply([chunk('c1', 6, 9)]);
    expect(store.get('c1')?.lastSeq).toBe(9);
    expect(store.get('c2')?.lastSeq).toBe(3);
    expect(store.get('c1')?.ring.row(8).seq).toBe(9);
  });

  it('bounds each log in memory while lastSeq keeps counting', () => {
    const store = new Store(100, () => 1);
    for (let s = 1; s <= 10_000; s += 1000) store.apply([chunk('c1', s, s + 999)]);
    const log = store.get('c1')!;
    expect(log.lastSeq).toBe(10_000);
    expect(log.ring.length).toBe(100);
    expect(log.ring.firstSeq).toBe(9_901);
  });

  it('tells subscribers once per frame, however many batches arrived', () => {
    const frames: (() => void)[] = [];
    const store = new Store(100, (fn) => frames.push(fn));
    let calls = 0;
    store.subscribe(() => calls++);
    store.apply([chunk('c1', 1, 2)]);
    store.apply([chunk('c1', 3, 4)]);
    store.applyConns([view('c1', 5)]);
    expect(frames).toHaveLength(1);
    frames[0]();
    expect(calls).toBe(1);
    store.apply([chunk('c1', 5, 6)]);
    expect(frames).toHaveLength(2);
  });

  it('tells append listeners about every chunk at once', () => {
    const store = new Store(100, () => 1);
    const log = store.ensure('c1', 'ws');
    const seen: number[] = [];
    const stop = log.listen((l) => seen.push(l.lastSeq));
    store.apply([chunk('c1', 1, 3)]);
    store.apply([chunk('c1', 4, 4)]);
    stop();
    store.apply([chunk('c1', 5, 5)]);
    expect(seen).toEqual([3, 4]);
  });
});
