import { describe, expect, it } from 'vitest';
import { rowOf } from '../transport/decode';
import { PageCache } from './pages';
import { records } from './testing';

const tick = () => new Promise((r) => setTimeout(r));

describe('PageCache', () => {
  it('fetches a page once, however often its rows are asked for', async () => {
    const asked: [number, number][] = [];
    const cache = new PageCache(
      (from, limit) => {
        asked.push([from, limit]);
        return Promise.resolve(records('c1', from, from + limit - 1).map(rowOf));
      },
      () => {},
      100,
      3,
    );
    expect(cache.get(150)).toBeUndefined();
    expect(cache.get(199)).toBeUndefined();
    expect(cache.pending).toBe(1);
    await tick();
    expect(cache.get(150)?.seq).toBe(150);
    expect(asked).toEqual([[101, 100]]);
  });

  it('keeps a bounded number of pages, least recently used out first', async () => {
    let fetches = 0;
    const cache = new PageCache(
      (from, limit) => {
        fetches++;
        return Promise.resolve(records('c1', from, from + limit - 1).map(rowOf));
      },
      () => {},
      10,
      2,
    );
    // Rows away from the pages' edges, so no page is fetched ahead.
    for (const s of [5, 15, 25]) {
      cache.get(s);
      await tick();
    }
    expect(fetches).toBe(3);
    cache.get(25);
    cache.get(15);
    expect(fetches).toBe(3);
    cache.get(5);
    expect(fetches).toBe(4);
  });

  it('does not keep a short page (the live end), and reports failures', async () => {
    let n = 0;
    const cache = new PageCache(
      (from) => {
        n++;
        return n === 1 ? Promise.resolve(records('c1', from, from + 3).map(rowOf)) : Promise.reject(new Error('gone'));
      },
      () => {},
      10,
      2,
    );
    cache.get(1);
    await tick();
    expect(cache.get(1)).toBeUndefined();
    await tick();
    expect(cache.failed).toBe('gone');
  });
});

describe('PageCache under a dragged scrollbar', () => {
  /** A fetch that answers only when told to. */
  function manual() {
    const asked: number[] = [];
    const answers: (() => void)[] = [];
    const fetchRows = (from: number, limit: number) => {
      asked.push(from);
      return new Promise<ReturnType<typeof rowOf>[]>((resolve) =>
        answers.push(() => resolve(records('c1', from, from + limit - 1).map(rowOf))),
      );
    };
    return { asked, answers, fetchRows };
  }

  it('has at most two requests in flight, fetches the newest wanted page next, and forgets old ones', async () => {
    const m = manual();
    const cache = new PageCache(m.fetchRows, () => {}, 10, 64);
    // The view passes over pages 0..9, one after another.
    for (let p = 0; p < 10; p++) cache.get(p * 10 + 1);
    expect(m.asked).toEqual([1, 11]);
    expect(cache.pending).toBe(2 + 4);
    // Both answers land: the newest waiting pages go next, newest first.
    m.answers.shift()!();
    m.answers.shift()!();
    await tick();
    expect(m.asked).toEqual([1, 11, 91, 81]);
    m.answers.shift()!();
    m.answers.shift()!();
    await tick();
    expect(m.asked).toEqual([1, 11, 91, 81, 71, 61]);
    m.answers.shift()!();
    m.answers.shift()!();
    await tick();
    // Pages 2..5 were passed over and forgotten: never fetched.
    expect(m.asked).toHaveLength(6);
    expect(cache.pending).toBe(0);
    expect(cache.get(91)?.seq).toBe(91);
  });

  it('fetches the next page ahead as the view nears the end of one, only when recorded to its end', async () => {
    const m = manual();
    const cache = new PageCache(m.fetchRows, () => {}, 500, 64);
    cache.get(1, 1400);
    m.answers.shift()!();
    await tick();
    // Row 450 of page 0: page 1 (501..1000) is recorded, so it comes ahead.
    expect(cache.get(450, 1400)?.seq).toBe(450);
    expect(m.asked).toEqual([1, 501]);
    m.answers.shift()!();
    await tick();
    // Near the end of page 1, page 2 (1001..1500) is not recorded to its end yet.
    expect(cache.get(950, 1400)?.seq).toBe(950);
    expect(m.asked).toEqual([1, 501]);
    // Near the start of page 1: page 0 is here already.
    expect(cache.get(510, 1400)?.seq).toBe(510);
    expect(m.asked).toEqual([1, 501]);
  });
});
