import { describe, expect, it } from 'vitest';
import { Ring } from './ring';
import { chunk } from './testing';

describe('Ring', () => {
  it('keeps rows in seq order until full', () => {
    const r = new Ring(10);
    expect(r.firstSeq).toBe(0);
    expect(r.append(chunk('c1', 1, 4))).toBe(0);
    expect([r.length, r.firstSeq, r.lastSeq]).toEqual([4, 1, 4]);
    expect(r.row(2)).toMatchObject({ seq: 3, dir: 'in', kind: 'text', preview: 'message 3', size: 9 });
  });

  it('overwrites the oldest rows once full, and says how many left', () => {
    const r = new Ring(10);
    r.append(chunk('c1', 1, 8));
    expect(r.append(chunk('c1', 9, 13))).toBe(3);
    expect([r.length, r.firstSeq, r.lastSeq]).toEqual([10, 4, 13]);
    expect(r.row(0).seq).toBe(4);
    expect(r.row(9).seq).toBe(13);
    expect(r.row(6)).toMatchObject({ seq: 10, kind: 'ping', dir: 'out', preview: '(empty)' });
  });

  it('takes a chunk larger than itself, keeping its newest rows', () => {
    const r = new Ring(5);
    expect(r.append(chunk('c1', 1, 12))).toBe(7);
    expect([r.firstSeq, r.lastSeq]).toEqual([8, 12]);
  });

  it('finds rows by seq, and not rows that left memory', () => {
    const r = new Ring(100);
    for (let s = 1; s <= 1000; s += 50) r.append(chunk('c1', s, s + 49));
    expect(r.find(950)).toBe(49);
    expect(r.row(r.find(1000)).seq).toBe(1000);
    expect(r.find(900)).toBe(-1);
    expect(r.find(1001)).toBe(-1);
  });
});
