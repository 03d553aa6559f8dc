import { describe, expect, it, vi } from 'vitest';
import type { StreamRecord } from '../contract';
import { KIND_CODE, toChunk } from '../transport/decode';
import {
  compile,
  isActive,
  MatchIndex,
  MAX_MATCHES,
  NO_FILTER,
  PENDING_DELAY_MS,
  previewIsWhole,
  type SearchRange,
} from './filter';
import { Store } from './log';
import { chunk, text } from './testing';

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

describe('previewIsWhole', () => {
  const { text, binary } = KIND_CODE;
  it('trusts a preview that holds every byte of the payload', () => {
    expect(previewIsWhole(text, 240, 'x'.repeat(240))).toBe(true);
    expect(previewIsWhole(text, -1, 'an error message')).toBe(true);
    expect(previewIsWhole(binary, 40, 'de '.repeat(40).trim())).toBe(true);
  });
  it('sends the server a payload longer than its preview, or possibly longer', () => {
    expect(previewIsWhole(text, 1000, 'x'.repeat(240))).toBe(false);
    // Multi-byte: 240 bytes of "é" are 120 characters, previewed whole, but the size
    // alone cannot tell, so the server is asked.
    expect(previewIsWhole(text, 240, 'é'.repeat(120))).toBe(false);
    // A binary preview is the hex of its first 40 bytes, longer than the 41 bytes it cut.
    expect(previewIsWhole(binary, 41, 'de '.repeat(40).trim())).toBe(false);
  });
});

/** The server's search (crates/engine/src/session/search.rs) over `records`: whole text,
 * `after < seq < before`, newest first, at most `cap` matches a page. */
function serverOver(records: StreamRecord[], cap = Infinity) {
  const calls: { after: number; before: number }[] = [];
  const search: SearchRange = async (spec, r) => {
    calls.push({ after: r.after, before: r.before });
    const needle = spec.text.trim().toLowerCase();
    const matches: number[] = [];
    const limit = Math.min(r.limit, cap);
    for (let i = records.length - 1; i >= 0; i--) {
      const rec = records[i];
      if (rec.seq >= r.before || rec.seq <= r.after) continue;
      if (!(rec.data ?? '').toLowerCase().includes(needle)) continue;
      matches.push(rec.seq);
      if (matches.length === limit) return { matches, next: rec.seq > r.after + 1 ? rec.seq : null };
    }
    return { matches, next: null };
  };
  return { search, calls };
}

/** `n` characters with `word` at character `at`. */
const longWith = (word: string, at: number, n = 1000) => 'x'.repeat(at) + word + 'y'.repeat(n - at - word.length);

describe('MatchIndex with the server deciding rows cut in their preview', () => {
  it('shows a long frame whose match is past its preview, between the short ones matched here', async () => {
    const store = new Store(100, () => 1);
    const log = store.ensure('c1', 'ws');
    const recs = [
      text('c1', 1, 'needle one'),
      text('c1', 2, 'nothing'),
      text('c1', 3, longWith('needle', 900)),
      text('c1', 4, longWith('other', 900)),
      text('c1', 5, 'a needle too'),
    ];
    const server = serverOver(recs);
    let changes = 0;
    const idx = new MatchIndex({ kinds: [], dirs: [], text: 'NEEDLE' }, log, MAX_MATCHES, {
      search: server.search,
      onChange: () => changes++,
    });
    store.apply([toChunk('c1', recs)]);
    // The short rows are decided at once, here; the long ones wait for the server.
    expect(Array.from({ length: idx.count }, (_, i) => idx.seqAt(i))).toEqual([1, 5]);
    expect(idx.pendingCount).toBe(2);
    await idx.settle();
    expect(Array.from({ length: idx.count }, (_, i) => idx.seqAt(i))).toEqual([1, 3, 5]);
    expect(idx.pendingCount).toBe(0);
    // One request, for the range of the cut rows only.
    expect(server.calls).toEqual([{ after: 2, before: 5 }]);
    expect(changes).toBe(1);
    idx.dispose();
  });

  it('never asks the server about short rows, nor without a text filter', async () => {
    const store = new Store(100, () => 1);
    const log = store.ensure('c1', 'ws');
    const server = serverOver([]);
    const opts = { search: server.search, onChange: () => {} };
    const byText = new MatchIndex({ kinds: [], dirs: [], text: 'message' }, log, MAX_MATCHES, opts);
    const byKind = new MatchIndex({ kinds: ['text'], dirs: [], text: '' }, log, MAX_MATCHES, opts);
    store.apply([chunk('c1', 1, 50), toChunk('c1', [text('c1', 51, longWith('message', 500))])]);
    expect(byText.count).toBe(45);
    expect(byText.pendingCount).toBe(1);
    expect(byKind.pendingCount).toBe(0);
    expect(byKind.count).toBe(46);
    byText.dispose();
    byKind.dispose();
    expect(server.calls).toEqual([]);
  });

  it('pages through a range the server answers in parts, and leaves rows that came meanwhile to the next run', async () => {
    const store = new Store(1000, () => 1);
    const log = store.ensure('c1', 'ws');
    const recs: StreamRecord[] = [];
    for (let s = 1; s <= 21; s++) recs.push(text('c1', s, s % 2 ? longWith('hit', 700) : `short hit ${s}`));
    // Two matches a page: several pages for the ten long rows and the short ones among them.
    const server = serverOver(recs, 2);
    const idx = new MatchIndex({ kinds: [], dirs: [], text: 'hit' }, log, MAX_MATCHES, {
      search: server.search,
      onChange: () => {},
    });
    store.apply([toChunk('c1', recs.slice(0, 19))]);
    expect(idx.count).toBe(9);
    expect(idx.pendingCount).toBe(10);
    const run = idx.settle();
    // Seqs 20 (short) and 21 (long) arrive while the run is under way.
    store.apply([toChunk('c1', recs.slice(19))]);
    await run;
    const seqs = () => Array.from({ length: idx.count }, (_, i) => idx.seqAt(i));
    expect(seqs()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(server.calls.every((c) => c.after === 0 && c.before <= 20)).toBe(true);
    expect(server.calls.length).toBeGreaterThan(1);
    expect(idx.pendingCount).toBe(1);
    await idx.settle();
    expect(seqs()).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    expect(server.calls.at(-1)).toEqual({ after: 20, before: 22 });
    expect(idx.pendingCount).toBe(0);
    idx.dispose();
  });

  it('asks on its own a moment after a cut row arrives, and drops an answer that comes after dispose', async () => {
    vi.useFakeTimers();
    try {
      const store = new Store(100, () => 1);
      const log = store.ensure('c1', 'ws');
      const recs = [text('c1', 1, longWith('late', 600))];
      const server = serverOver(recs);
      const idx = new MatchIndex({ kinds: [], dirs: [], text: 'late' }, log, MAX_MATCHES, {
        search: server.search,
        onChange: () => {},
      });
      store.apply([toChunk('c1', recs)]);
      expect(server.calls.length).toBe(0);
      await vi.advanceTimersByTimeAsync(PENDING_DELAY_MS);
      expect(server.calls.length).toBe(1);
      expect(idx.count).toBe(1);

      const other = new MatchIndex({ kinds: [], dirs: [], text: 'late' }, log, MAX_MATCHES, {
        search: server.search,
        onChange: () => {},
      });
      store.apply([toChunk('c1', [text('c1', 2, longWith('late', 600))])]);
      recs.push(text('c1', 2, longWith('late', 600)));
      const run = other.settle();
      other.dispose();
      await run;
      expect(other.count).toBe(0);
      idx.dispose();
    } finally {
      vi.useRealTimers();
    }
  });
});
