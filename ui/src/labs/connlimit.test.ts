import { describe, expect, it } from 'vitest';
import {
  concludeConnectionLimit,
  COUNT,
  HOLD_MS,
  LabCancelled,
  runConnectionLimit,
  seventhOf,
  type Attempt,
  type Measured,
} from './connlimit';
import { simulatedBrowser } from './testing';

const page = { host: '127.0.0.1', port: '4000' };
const quiet = { step: () => {}, change: () => {} };

describe('the connection-limit lab in a browser that holds six per host', () => {
  it('sees the seventh wait for a close, seven WebSockets and the split streams open, and closes all', async () => {
    const { env, all } = simulatedBrowser(6);
    const steps: string[] = [];
    const m = await runConnectionLimit(env, page, { step: (s) => steps.push(s), change: () => {} });
    expect(m.other).toBe('localhost');
    expect(m.oneHost.every((a) => a.url === 'http://localhost:4000/demo/sse/ticker?rate=1')).toBe(true);
    expect(m.sockets.every((a) => a.url === 'ws://localhost:4000/demo/ws/echo')).toBe(true);
    expect(m.split.map((a) => a.host)).toEqual([...Array(4).fill('localhost'), ...Array(3).fill('127.0.0.1')]);
    const seventh = seventhOf(m);
    expect(seventh.kind).toBe('held');
    if (seventh.kind === 'held') expect(seventh.wait).toBeGreaterThanOrEqual(HOLD_MS);
    expect(m.sockets.every((a) => a.opened !== null)).toBe(true);
    expect(m.split.every((a) => a.opened !== null)).toBe(true);
    expect(all.length).toBe(3 * COUNT);
    expect(all.every((c) => c.readyState >= 2)).toBe(true);
    expect(steps[0]).toMatch(/^A: opening 7 EventSources to localhost:4000/);

    const r = concludeConnectionLimit(m);
    expect(r.conclusion).toMatch(/Six EventSources to localhost opened at once; the seventh waited [\d,]+ ms/);
    expect(r.conclusion).toMatch(/at most six connections per host/);
    expect(r.conclusion).toMatch(/All 7 WebSockets to the same host opened/);
    expect(r.conclusion).toMatch(/all 7 EventSources opened: the limit is counted per host/);
    const fig = Object.fromEntries(r.figures.map((f) => [f.name, f]));
    expect(fig['open before any was closed, 7 to one host']).toMatchObject({ ws: 7, sse: 6, unit: 'of 7' });
    expect(fig['the seventh opened'].sse).toMatch(/^\d+ ms after one was closed$/);
    expect(fig['7 split over two host names (4 + 3): open'].sse).toBe(7);
  });

  it('measures from the page on localhost against 127.0.0.1', async () => {
    const { env } = simulatedBrowser(6);
    const m = await runConnectionLimit(env, { host: 'localhost', port: '9' }, quiet);
    expect(m.other).toBe('127.0.0.1');
    expect(m.oneHost[0].url).toBe('http://127.0.0.1:9/demo/sse/ticker?rate=1');
  });

  it('reports a browser without the limit as not held back, not with the textbook sentence', async () => {
    const { env } = simulatedBrowser(Infinity);
    const m = await runConnectionLimit(env, page, quiet);
    expect(seventhOf(m).kind).toBe('not-held');
    const r = concludeConnectionLimit(m);
    expect(r.conclusion).toMatch(
      /before any was closed: it was not held back, so the six-per-host limit did not apply here/,
    );
    expect(r.conclusion).not.toMatch(/at most six/);
    expect(r.figures[0]).toMatchObject({ sse: 7 });
  });

  it('closes every connection when cancelled', async () => {
    const { env, all } = simulatedBrowser(6);
    const abort = new AbortController();
    const run = runConnectionLimit(
      env,
      page,
      {
        step: (s) => s.startsWith('A: closed') && abort.abort(),
        change: () => {},
      },
      abort.signal,
    );
    await expect(run).rejects.toBeInstanceOf(LabCancelled);
    expect(all.length).toBe(COUNT);
    expect(all.every((c) => c.readyState >= 2)).toBe(true);
  });

  it('refuses a page on a host it cannot pair with another name', async () => {
    const { env, all } = simulatedBrowser(6);
    await expect(runConnectionLimit(env, { host: '[::1]', port: '1' }, quiet)).rejects.toThrow(
      /127\.0\.0\.1 with localhost/,
    );
    expect(all).toHaveLength(0);
  });
});

// Figure sets as a run could measure them, for the conclusion rules alone.
const at = (kind: 'sse' | 'ws', host: string, created: number, opened: number | null, failed = false): Attempt => ({
  kind,
  host,
  url: '',
  created,
  opened,
  closed: null,
  failed,
});
function measured(over: Partial<Measured> = {}): Measured {
  return {
    host: '127.0.0.1',
    other: 'localhost',
    port: '4000',
    // Six open in 3–8 ms; the seventh opens at 1512 ms, 12 ms after the close at 1500.
    oneHost: [...[3, 4, 5, 6, 7, 8].map((t) => at('sse', 'localhost', 0, t)), at('sse', 'localhost', 0, 1512)],
    closedIndex: 0,
    closedAt: 1500,
    sockets: [2, 3, 3, 4, 4, 5, 6].map((t) => at('ws', 'localhost', 2000, 2000 + t)),
    split: [
      ...[1, 2, 3, 4].map((t) => at('sse', 'localhost', 3000, 3000 + t)),
      ...[1, 2, 3].map((t) => at('sse', '127.0.0.1', 3000, 3000 + t)),
    ],
    ...over,
  };
}

describe('the connection-limit conclusion', () => {
  it('says the seventh was held back when it opened only after the close, with the measured times', () => {
    const r = concludeConnectionLimit(measured());
    expect(r.lab).toBe('connection-limit');
    expect(r.conclusion).toContain('the seventh waited 1,512 ms and opened only 12 ms after one of them was closed');
    expect(r.figures.find((f) => f.name === 'the seventh to one host: time to open')).toMatchObject({
      ws: 6,
      sse: 1512,
      unit: 'ms',
    });
    expect(r.figures.find((f) => f.name === 'slowest of the first six: time to open')).toMatchObject({ ws: 5, sse: 8 });
    expect(r.notes.join(' ')).toMatch(/HTTP\/1\.1 only over plain HTTP, so HTTP\/2.* cannot be shown live here/);
  });

  it('contradicting run: a seventh that opened at once is reported as not held back', () => {
    const m = measured();
    m.oneHost[6] = at('sse', 'localhost', 0, 9);
    const r = concludeConnectionLimit(m);
    expect(r.conclusion).toContain('the seventh opened too, after 9 ms, before any was closed: it was not held back');
    expect(r.conclusion).toContain('did not apply here');
    expect(r.conclusion).not.toMatch(/at most six|waited/);
    expect(r.figures.find((f) => f.name === 'the seventh opened')?.sse).toBe('before any was closed');
    expect(r.figures[0].sse).toBe(7);
  });

  it('says when the seventh never opened, even after the close', () => {
    const m = measured();
    m.oneHost[6] = at('sse', 'localhost', 0, null);
    const r = concludeConnectionLimit(m);
    expect(r.conclusion).toMatch(/the seventh did not open within 5 s, not even after one of them was closed/);
    expect(r.figures[1].sse).toBe('did not open');
  });

  it('does not draw a conclusion about the limit from streams that could not connect', () => {
    const m = measured({ oneHost: Array.from({ length: COUNT }, () => at('sse', 'localhost', 0, null, true)) });
    const r = concludeConnectionLimit(m);
    expect(r.conclusion).toMatch(/None of the 7 EventSources to localhost could connect, so this run shows nothing/);
    expect(r.conclusion).not.toMatch(/per host, and an open|held back/);
  });

  it('reports WebSockets and split streams that did not all open, by count and host', () => {
    const m = measured();
    m.sockets[5] = at('ws', 'localhost', 2000, null, true);
    m.sockets[6] = at('ws', 'localhost', 2000, null);
    m.split[6] = at('sse', '127.0.0.1', 3000, null);
    const r = concludeConnectionLimit(m);
    expect(r.conclusion).toContain('Only 5 of 7 WebSockets to the same host opened (1 failed).');
    expect(r.conclusion).toContain(
      'Split over two host names, only 6 of 7 EventSources opened (4 of 4 to localhost, 2 of 3 to 127.0.0.1).',
    );
    expect(r.figures[1].ws).toBe('did not open');
  });
});
