import { describe, expect, it, vi } from 'vitest';
import { defaultConfig } from '../store/config';
import { RING_ROWS, Store } from '../store/log';
import { chunk, records } from '../store/testing';
import { ApiError } from '../transport/api';
import type { LiveHandlers } from '../transport/live';
import type { ConnView } from '../transport/types';
import { Live, reattach, type Feed, type LiveApi } from './live.svelte';
import { PaneState } from './pane.svelte';
import { connView } from './testing';

const URL_A = 'ws://example.test/a';

function pane(id: string, conns: [string, string][]) {
  const p = new PaneState(id, defaultConfig(URL_A));
  p.conns = conns.map(([c]) => c);
  for (const [c, u] of conns) p.connUrls.set(c, u);
  return p;
}

/** A live feed that records what it was asked, and the handlers to play the worker. */
function fakeFeed() {
  const f = {
    handlers: null as LiveHandlers | null,
    started: null as { cursors: Map<string, number>; watch: string[] } | null,
    watched: [] as [string[], [string, number][]][],
    stopped: false,
    feed: {
      start: (cursors, watch) => void (f.started = { cursors, watch: [...watch] }),
      watch: (ids, from) => void f.watched.push([[...ids], [...(from ?? new Map())]]),
      page: async (conn, from, limit) => chunk(conn, from, from + limit - 1),
      stop: () => void (f.stopped = true),
    } satisfies Feed,
    open: (h: LiveHandlers) => {
      f.handlers = h;
      return f.feed;
    },
  };
  return f;
}

function fakeApi(list: () => Promise<ConnView[]>) {
  const calls = { list: 0, records: 0 };
  const api: LiveApi = {
    list: () => {
      calls.list++;
      return list();
    },
    records: async (id, from, limit) => {
      calls.records++;
      return { records: records(id, from, from + limit - 1), next: from + limit, last_seq: from + limit - 1 };
    },
  };
  return { api, calls };
}

describe('reattach', () => {
  it('keeps a pane’s connections the server still has at the same URL and shows the newest', () => {
    const store = new Store(100, () => 1);
    const p = pane('p1', [
      ['c1', URL_A],
      ['c2', URL_A],
      ['c3', URL_A],
    ]);
    const q = pane('p2', [['c9', URL_A]]);
    const views = [
      connView('c1', { url: URL_A, last_seq: 7 }),
      // A restarted server reused the id for another URL.
      connView('c2', { url: 'ws://elsewhere.test/', last_seq: 3 }),
      connView('c3', { url: URL_A, last_seq: RING_ROWS + 50 }),
      connView('c5', { url: URL_A, last_seq: 12 }),
    ];
    const sub = reattach([p, q], views, store);
    expect(p.conns).toEqual(['c1', 'c3']);
    expect(p.connId).toBe('c3');
    expect(q.conns).toEqual([]);
    expect(q.connId).toBeNull();
    // The shown one streams its newest ring's worth, the others from their end;
    // connections no pane has are not watched, so the server sends nothing of them.
    expect([...sub.cursors]).toEqual([
      ['c1', 7],
      ['c3', 50],
    ]);
    expect(sub.watch).toEqual(['c1', 'c3']);
    expect(store.get('c3')?.lastSeq).toBe(50);
    expect(store.views.map((v) => v.id)).toEqual(['c1', 'c3']);
    expect(store.get('c5')).toBeUndefined();
  });

  it('after a restart keeps nothing, even an id the server reused for the same URL, and says which session had them', () => {
    const store = new Store(100, () => 1);
    const p = pane('p1', [
      ['c1', URL_A],
      ['c2', URL_A],
    ]);
    // c2 showed a connection of library session 4, opened there as c2 (it was c5 in session 4).
    p.recorded = { c2: { session: 4, started: '2026-12-01T00:00:00Z', recordedAs: 'c5', settings: null } };
    p.cleared = { c1: 3 };
    const q = pane('p2', [['c1', URL_A]]);
    const views = [connView('c1', { url: URL_A, last_seq: 7 })];
    const sub = reattach([p, q], views, store, { saved: 6, now: 7 });
    expect([p.conns, q.conns, sub.watch]).toEqual([[], [], []]);
    expect(p.earlier).toEqual({ session: 4, conns: ['c5'] });
    expect(q.earlier).toEqual({ session: 6, conns: ['c1'] });
    expect([p.recorded, p.cleared]).toEqual([{}, {}]);
  });

  it('on the same server run keeps what it still has; without a library, says only that they are gone', () => {
    const store = new Store(100, () => 1);
    const p = pane('p1', [['c1', URL_A]]);
    const q = pane('p2', [['c2', URL_A]]);
    reattach([p, q], [connView('c1', { url: URL_A })], store, { saved: 6, now: 6 });
    expect([p.conns, p.earlier]).toEqual([['c1'], null]);
    expect(q.earlier).toEqual({ session: 6, conns: ['c2'] });
    const r = pane('p3', [['c3', URL_A]]);
    reattach([r], [], store, { saved: null, now: null });
    expect(r.earlier).toEqual({ session: null, conns: ['c3'] });
  });

  it('with no connections on the server leaves the store alone', () => {
    const store = new Store(100, () => 1);
    const p = pane('p1', [['c1', URL_A]]);
    const sub = reattach([p], [], store);
    expect(p.conns).toEqual([]);
    expect(sub).toEqual({ cursors: new Map(), watch: [] });
    expect(store.logs.size).toBe(0);
  });
});

describe('the live link', () => {
  it('starts the feed from the server’s list and applies its batches to the store', async () => {
    const store = new Store(100, () => 1);
    const f = fakeFeed();
    const { api } = fakeApi(async () => [connView('c1', { url: URL_A, last_seq: 4 }), connView('c2', { last_seq: 9 })]);
    const live = new Live(store, api, f.open);
    const p = pane('p1', [['c1', URL_A]]);
    await live.start([p]);
    expect(f.started).toEqual({ cursors: new Map([['c1', 0]]), watch: ['c1'] });
    f.handlers!.chunks([chunk('c1', 1, 6)]);
    expect(store.get('c1')?.lastSeq).toBe(6);
    f.handlers!.conns([connView('c1', { url: URL_A, state: 'closed' })]);
    expect(store.get('c1')?.view?.state).toBe('closed');
    // The server's list of every connection, watched or not, is kept for the views.
    f.handlers!.list!([{ id: 'c2', proto: 'ws', url: URL_A, name: 'x', state: 'failed', since: '' }]);
    expect(live.known.map((c) => c.id)).toEqual(['c2']);
    live.watch(['c1', 'c4']);
    expect(f.watched).toEqual([[['c1', 'c4'], []]]);
    // A connection a pane attaches starts after what the page holds of it.
    live.watch(['c1', 'c4', 'c2'], new Map([['c2', 0]]));
    expect(f.watched.at(-1)).toEqual([['c1', 'c4', 'c2'], [['c2', 0]]]);
    live.stop();
    expect(f.stopped).toBe(true);
  });

  it('notes a refused token, asks the API why when the socket keeps failing, and clears it once open', async () => {
    const store = new Store(100, () => 1);
    const f = fakeFeed();
    let refusal: ApiError | null = new ApiError('unauthorized', 'the launch token is wrong', 401);
    const { api, calls } = fakeApi(async () => {
      if (refusal) throw refusal;
      return [];
    });
    const live = new Live(store, api, f.open);
    await live.start([]);
    expect(live.authProblem).toBe('the launch token is wrong');
    // The listing failed: the feed starts with nothing kept.
    expect(f.started).toEqual({ cursors: new Map(), watch: [] });

    f.handlers!.status('open', 0);
    expect([live.state, live.authProblem]).toEqual(['open', null]);

    refusal = new ApiError('bad_origin', 'this page’s origin is not allowed', 403);
    f.handlers!.status('retrying', 1);
    expect(calls.list).toBe(1);
    f.handlers!.status('retrying', 2);
    expect([live.state, live.attempt]).toEqual(['retrying', 2]);
    expect(calls.list).toBe(2);
    await vi.waitFor(() => expect(live.authProblem).toBe('this page’s origin is not allowed'));

    // A server that does not answer says nothing about the token; other errors change nothing.
    live.note(new Error('boom'));
    expect(live.authProblem).toBe('this page’s origin is not allowed');
    live.note(new ApiError('unreachable', 'no answer'));
    expect(live.authProblem).toBeNull();
  });

  it('reads older rows through the API before the feed runs, and through the feed after', async () => {
    const store = new Store(100, () => 1);
    const f = fakeFeed();
    const { api, calls } = fakeApi(async () => []);
    const live = new Live(store, api, f.open);
    const before = await live.records('c1', 11, 3);
    expect(before.map((r) => r.seq)).toEqual([11, 12, 13]);
    expect(calls.records).toBe(1);
    await live.start([]);
    const after = await live.records('c1', 11, 3);
    expect(after).toEqual(before);
    expect(calls.records).toBe(1);
  });
});
