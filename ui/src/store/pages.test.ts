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
    for (const s of [1, 11, 21]) {
      cache.get(s);
      await tick();
    }
    expect(fetches).toBe(3);
    cache.get(21);
    cache.get(11);
    expect(fetches).toBe(3);
    cache.get(1);
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
