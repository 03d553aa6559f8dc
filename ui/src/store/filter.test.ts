import { describe, expect, it } from 'vitest';
import { compile, isActive, MatchIndex, NO_FILTER } from './filter';
import { Store } from './log';
import { chunk } from './testing';

describe('compile', () => {
  it('filters by kind, direction and case-insensitive text in preview and note', () => {
    const p = compile({ kinds: ['text', 'event'], dirs: ['in'], text: 'TICK' });
    // kinds: text = 1, event = 7, ping = 3; dirs: in = 0, out = 1
    expect(p(0, 1, 'a tick here', '')).toBe(true);
    expect(p(0, 7, '{}', 'tick #3')).toBe(true);
    expect(p(1, 1, 'tick', '')).toBe(false);
    expect(p(0, 3, 'tick', '')).toBe(false);
    expect(p(0, 1, 'tock', '')).toBe(false);
  });
  it('knows when nothing is filtered', () => {
    expect(isActive(NO_FILTER)).toBe(false);
    expect(isActive({ ...NO_FILTER, text: '  ' })).toBe(false);
    expect(isActive({ ...NO_FILTER, dirs: ['out'] })).toBe(true);
  });
});

describe('MatchIndex', () => {
  it('indexes what is in memory, then every row as it arrives', () => {
    const store = new Store(1000, () => 1);
    store.apply([chunk('c1', 1, 50)]);
    const idx = new MatchIndex({ kinds: ['ping'], dirs: [], text: '' }, store.get('c1')!);
    expect(idx.count).toBe(5);
    store.apply([chunk('c1', 51, 100)]);
    expect(idx.count).toBe(10);
    expect([idx.seqAt(0), idx.seqAt(9)]).toEqual([10, 100]);
    expect(idx.unsearched).toBe(0);
    idx.dispose();
    store.apply([chunk('c1', 101, 110)]);
    expect(idx.count).toBe(10);
  });

  it('keeps matches after their rows leave memory', () => {
    const store = new Store(20, () => 1);
    const log = store.ensure('c1', 'ws');
    const idx = new MatchIndex({ kinds: [], dirs: [], text: 'message 7' }, log);
    for (let s = 1; s <= 1000; s += 10) store.apply([chunk('c1', s, s + 9)]);
    expect(log.ring.length).toBe(20);
    // message 7, 70–79 (but 70 is a ping), 700–779 without pings …
    expect(idx.seqAt(0)).toBe(7);
    expect(idx.count).toBe(1 + 9 + 90);
  });

  it('prepends the server matches of older rows page by page', () => {
    const store = new Store(100, () => 1);
    store.apply([chunk('c1', 1, 1000)]);
    const log = store.get('c1')!;
    const idx = new MatchIndex({ kinds: ['ping'], dirs: [], text: '' }, log);
    expect(idx.count).toBe(10);
    expect(idx.unsearched).toBe(900);
    // The server's page: pings 900 … 410, newest first, stopped before 401.
    const page = Array.from({ length: 50 }, (_, i) => 900 - 10 * i);
    const found = idx.addOlderMatches(page, 401);
    expect(found).toBe(50);
    expect(idx.unsearched).toBe(400);
    expect(idx.prepended).toBe(50);
    expect(idx.count).toBe(60);
    expect(idx.seqAt(0)).toBe(410);
    expect(idx.seqAt(59)).toBe(1000);
    expect(idx.countUpTo(905)).toBe(50);
    expect(idx.indexOf(905)).toBe(50);
  });

  it('stays bounded: past its limit it forgets the oldest half, which count as unsearched again', () => {
    const store = new Store(100, () => 1);
    const log = store.ensure('c1', 'ws');
    // Pings are every 10th seq: 10, 20, … A limit of 8 matches.
    const idx = new MatchIndex({ kinds: ['ping'], dirs: [], text: '' }, log, 8);
    store.apply([chunk('c1', 1, 80)]);
    expect(idx.count).toBe(8);
    store.apply([chunk('c1', 81, 90)]);
    // Nine matches: the oldest five (10 … 50) go, four (60 … 90) stay.
    expect(idx.count).toBe(4);
    expect([idx.seqAt(0), idx.seqAt(3)]).toEqual([60, 90]);
    expect(idx.unsearched).toBe(50);
    expect(idx.prepended).toBe(-5);
    // Searching older finds them again on the server, which searched to the oldest.
    const found = idx.addOlderMatches([50, 40, 30, 20, 10], null);
    expect(found).toBe(5);
    expect(idx.count).toBe(9);
    expect([idx.seqAt(0), idx.seqAt(8)]).toEqual([10, 90]);
    expect(idx.unsearched).toBe(0);
  });

  it('leaves a text search of what was already received to the server, which reads whole records', () => {
    const store = new Store(100, () => 1);
    store.apply([chunk('c1', 1, 50)]);
    const log = store.get('c1')!;
    const idx = new MatchIndex({ kinds: [], dirs: [], text: 'message 4' }, log);
    // Nothing from the previews in memory: every received row is the server's to search.
    expect(idx.count).toBe(0);
    expect(idx.unsearched).toBe(50);
    // Rows arriving from now on are tested as they come, so the live view keeps going.
    store.apply([chunk('c1', 51, 60)]);
    expect(idx.count).toBe(0);
    store.apply([{ ...chunk('c1', 61, 61) }]);
    expect(idx.unsearched).toBe(50);
    expect(idx.addOlderMatches([49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 4], null)).toBe(11);
    expect(idx.unsearched).toBe(0);
    expect(idx.seqAt(0)).toBe(4);
  });

  it('ignores a stale page whose matches are not below what was searched', () => {
    const store = new Store(100, () => 1);
    store.apply([chunk('c1', 1, 100)]);
    const idx = new MatchIndex({ kinds: [], dirs: [], text: 'x' }, store.get('c1')!);
    expect(idx.addOlderMatches([80, 70], 60)).toBe(2);
    expect(idx.addOlderMatches([80, 70], 60)).toBe(0);
    expect(idx.count).toBe(2);
  });
});
