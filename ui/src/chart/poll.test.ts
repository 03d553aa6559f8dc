import { afterEach, describe, expect, it, vi } from 'vitest';
import { ImagePoller, SETTLE_MS, type PollerOptions } from './poll';

afterEach(() => vi.useRealTimers());

function poller(over: Partial<PollerOptions> = {}) {
  const shown: string[] = [];
  const errors: (string | null)[] = [];
  const asked: string[] = [];
  let n = 0;
  const p = new ImagePoller({
    path: () => `/api/chart.svg?n=${n++}`,
    every: () => 250,
    fetchBlob: async (path) => {
      asked.push(path);
      return new Blob([`<svg>${path}</svg>`], { type: 'image/svg+xml' });
    },
    onImage: (u) => shown.push(u),
    onError: (e) => errors.push(e),
    decode: async () => {},
    ...over,
  });
  return { p, shown, errors, asked };
}

describe('image poller', () => {
  it('draws a new picture every interval and stops when told', async () => {
    vi.useFakeTimers();
    const { p, shown, asked } = poller();
    p.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(shown).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    // Four a second.
    expect(shown.length).toBeGreaterThanOrEqual(4);
    expect(p.frames).toBe(shown.length);
    p.stop();
    const after = asked.length;
    await vi.advanceTimersByTimeAsync(2000);
    expect(asked.length).toBe(after);
  });

  it('never has two requests in flight', async () => {
    vi.useFakeTimers();
    let inFlight = 0;
    let most = 0;
    const { p } = poller({
      fetchBlob: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        // A server slower than the interval.
        await new Promise((r) => setTimeout(r, 900));
        inFlight--;
        return new Blob(['x']);
      },
    });
    p.start();
    for (let i = 0; i < 10; i++) {
      p.poke();
      await vi.advanceTimersByTimeAsync(300);
    }
    p.stop();
    expect(most).toBe(1);
  });

  it('reports a failure, keeps the last picture, and clears the error when one comes through', async () => {
    vi.useFakeTimers();
    let fail = false;
    const { p, shown, errors } = poller({
      fetchBlob: async () => {
        if (fail) throw new Error('no connection c9');
        return new Blob(['x']);
      },
    });
    p.start();
    await vi.advanceTimersByTimeAsync(1);
    fail = true;
    await vi.advanceTimersByTimeAsync(260);
    expect(errors.at(-1)).toBe('no connection c9');
    expect(shown).toHaveLength(1);
    fail = false;
    await vi.advanceTimersByTimeAsync(260);
    expect(errors.at(-1)).toBeNull();
    expect(shown).toHaveLength(2);
    p.stop();
  });

  it('asks nothing while there is nothing to draw or the page is hidden', async () => {
    vi.useFakeTimers();
    let hidden = true;
    const { p, asked } = poller({ hidden: () => hidden });
    p.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked).toHaveLength(0);
    hidden = false;
    await vi.advanceTimersByTimeAsync(300);
    expect(asked.length).toBeGreaterThan(0);
    p.stop();
    const none = poller({ path: () => null });
    none.p.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(none.asked).toHaveLength(0);
    none.p.stop();
  });

  it('rests with no timer once nothing is live, and goes on when poked live again', async () => {
    vi.useFakeTimers();
    let live = false;
    const { p, asked } = poller({ live: () => live });
    p.start();
    await vi.advanceTimersByTimeAsync(1);
    // The first picture is drawn, then nothing moves: no more requests, no timer left.
    expect(asked).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(asked).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    // A connection goes live: drawn four a second again.
    live = true;
    p.poke();
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked.length).toBeGreaterThanOrEqual(5);
    // It ends: the last seconds settle into the picture, then the poller rests.
    live = false;
    const ended = asked.length;
    await vi.advanceTimersByTimeAsync(SETTLE_MS + 500);
    const settled = asked.length;
    expect(settled).toBeGreaterThan(ended);
    await vi.advanceTimersByTimeAsync(5000);
    expect(asked.length).toBe(settled);
    expect(vi.getTimerCount()).toBe(0);
    p.stop();
  });

  it('sets no timer while there is nothing to draw', async () => {
    vi.useFakeTimers();
    let path: string | null = null;
    const { p, asked } = poller({ path: () => path });
    p.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(asked).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    path = '/api/chart.svg';
    p.poke();
    await vi.advanceTimersByTimeAsync(1);
    expect(asked).toEqual(['/api/chart.svg']);
    p.stop();
  });

  it('does not report a failure of a picture that was asked for again while on its way', async () => {
    vi.useFakeTimers();
    let calls = 0;
    let poke = () => {};
    const { p, errors, shown } = poller({
      fetchBlob: async () => {
        // The first picture names a connection that is forgotten while it is drawn.
        if (++calls === 1) {
          poke();
          throw new Error('unknown connection c7');
        }
        return new Blob(['x']);
      },
    });
    poke = () => p.poke();
    p.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(errors.filter((e) => e !== null)).toEqual([]);
    expect(shown).toHaveLength(1);
    p.stop();
  });

  it('still reports a failure nothing asked past', async () => {
    vi.useFakeTimers();
    const { p, errors } = poller({
      fetchBlob: async () => {
        throw new Error('the server answered 500');
      },
    });
    p.start();
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toContain('the server answered 500');
    p.stop();
  });
});
