import { describe, expect, it } from 'vitest';
import { countOf, isRepeating, MAX_COUNT, MAX_INTERVAL_MS, repeatNote, repeatRequest } from './repeat';

const text = { kind: 'text', data: 'hi' } as const;

describe('the repeat request', () => {
  it('asks the server for the message, the interval and the count when there is one', () => {
    expect(repeatRequest(text, 250, null)).toEqual({ ok: true, request: { message: text, interval_ms: 250 } });
    expect(repeatRequest(text, 1, 3)).toEqual({ ok: true, request: { message: text, interval_ms: 1, count: 3 } });
    expect(repeatRequest(text, MAX_INTERVAL_MS, MAX_COUNT).ok).toBe(true);
  });

  it('refuses what the server would refuse, before asking', () => {
    for (const ms of [0, -5, 1.5, NaN, MAX_INTERVAL_MS + 1])
      expect(repeatRequest(text, ms, null)).toMatchObject({ ok: false, message: expect.stringContaining('ms') });
    for (const n of [0.5, -1, MAX_COUNT + 1])
      expect(repeatRequest(text, 10, n)).toMatchObject({ ok: false, message: expect.stringContaining('times') });
    expect(repeatRequest({ kind: 'close', code: 1000, reason: '' }, 10, null).ok).toBe(false);
  });

  it('reads an empty or zero count as until stopped', () => {
    expect([countOf(null), countOf(undefined), countOf(''), countOf(0), countOf(5), countOf('7')]).toEqual([
      null,
      null,
      null,
      null,
      5,
      7,
    ]);
  });
});

describe('the repeat shown', () => {
  it('says the progress the server reported', () => {
    expect(repeatNote({ id: 'r1', interval_ms: 1000, sent: 1234 })).toBe('repeating every 1,000 ms — sent 1,234');
    expect(repeatNote({ id: 'r1', interval_ms: 5, count: 10, sent: 3 })).toBe('repeating every 5 ms — sent 3 of 10');
  });

  it('runs while the server lists it, from the start until the listing catches up, and not once stopped', () => {
    const r = { id: 'r2', interval_ms: 5, sent: 1 };
    expect(isRepeating(null, null, null)).toBe(false);
    expect(isRepeating(r, null, null)).toBe(true);
    // Just started, not listed yet (the listing comes four times a second).
    expect(isRepeating(null, 'r2', null)).toBe(true);
    // Stopped here, the listing still shows it: Stop took.
    expect(isRepeating(r, null, 'r2')).toBe(false);
    // A newer repeat (another tab) is not the one stopped here.
    expect(isRepeating({ ...r, id: 'r3' }, null, 'r2')).toBe(true);
  });
});
