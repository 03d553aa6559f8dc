import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../host/browser';
import { RING_ROWS, Store } from '../store/log';
import { loadSaved, saveMessage } from '../store/saved';
import { chunk } from '../store/testing';
import { ApiError } from '../transport/api';
import type { ConnView, OpenRequest } from '../transport/types';
import { Panes, type PaneApi } from './panes.svelte';
import { connView, demoUrl } from './testing';
import { restoreWorkspace, WORKSPACE_KEY } from './workspace';

/** Panes over an API stand-in that answers from `answers` and logs every call. */
function setup(answers: { open?: (req: OpenRequest) => Promise<ConnView>; close?: () => Promise<void> } = {}) {
  const storage = memoryStorage();
  const store = new Store(100, () => 1);
  const calls: string[] = [];
  const opened: OpenRequest[] = [];
  let n = 0;
  const api: PaneApi = {
    open: (req) => {
      opened.push(req);
      return answers.open?.(req) ?? Promise.resolve(connView(`c${++n}`, { url: req.url, proto: req.proto ?? 'ws' }));
    },
    close: (id) => {
      calls.push(`close ${id}`);
      return answers.close?.() ?? Promise.resolve();
    },
    closeAndForget: async (id) => void calls.push(`close+forget ${id}`),
    rename: async (id, name) => {
      calls.push(`rename ${id} ${name}`);
      return connView(id, { name });
    },
  };
  const watched: string[][] = [];
  const from: [string, number][][] = [];
  const noted: unknown[] = [];
  const live = {
    watch: (ids: Iterable<string>, f?: ReadonlyMap<string, number>) => {
      watched.push([...ids]);
      from.push([...(f ?? new Map())]);
    },
    note: (e: unknown) => void noted.push(e),
  };
  const panes = new Panes({ api, store, storage, live, demoUrl });
  return { panes, storage, store, calls, opened, watched, from, noted };
}

const saved = (storage: ReturnType<typeof memoryStorage>) => restoreWorkspace(storage, demoUrl);

describe('panes', () => {
  it('start from the saved workspace and save each change', () => {
    const { panes, storage } = setup();
    panes.restore();
    expect(panes.list).toHaveLength(2);
    const ws = panes.add('ws');
    const sse = panes.add('sse', 'https://example.test/events');
    expect(ws.config.url).toBe('ws://127.0.0.1:4000/demo/ws/echo');
    expect(sse.config.url).toBe('https://example.test/events');
    expect(panes.active).toBe(sse.id);
    expect(saved(storage).panes.map((p) => p.id)).toEqual(panes.list.map((p) => p.id));

    panes.move(sse.id, -1);
    expect(panes.list.map((p) => p.id).slice(-2)).toEqual([sse.id, ws.id]);
    expect(saved(storage).panes.map((p) => p.id)).toEqual(panes.list.map((p) => p.id));
    // Past either end: nothing moves.
    const order = panes.list.map((p) => p.id);
    panes.move(panes.list[0].id, -1);
    panes.move(ws.id, 1);
    panes.move('nope', 1);
    expect(panes.list.map((p) => p.id)).toEqual(order);
  });

  it('connect with the settings, show the new connection, and keep what was asked without secrets', async () => {
    const { panes, store, storage, opened } = setup();
    const p = panes.add('ws', 'ws://example.test/feed');
    p.config.auth = 'bearer';
    p.config.bearer = 'sekrit';
    p.paused = true;
    await panes.connect(p);
    expect(opened[0].bearer).toBe('sekrit');
    expect([p.connId, p.conns, p.paused, p.busy, p.error]).toEqual(['c1', ['c1'], false, false, null]);
    expect(store.get('c1')?.view?.url).toBe('ws://example.test/feed');
    expect(panes.stateOf(p)).toBe('open');
    const asked = p.requests.get('c1')!;
    expect(asked.bearer).toBeUndefined();
    expect(asked.headers).toEqual([['Authorization', 'Bearer ••••••']]);
    await panes.connect(p);
    expect([p.connId, p.conns]).toEqual(['c2', ['c1', 'c2']]);
    const back = saved(storage).panes.find((q) => q.id === p.id)!;
    expect(back.conns).toEqual(['c1', 'c2']);
    expect(back.connUrls.get('c2')).toBe('ws://example.test/feed');
    expect(storage.get(WORKSPACE_KEY)).not.toContain('sekrit');

    panes.view(p, 'c1');
    expect(p.connId).toBe('c1');
    panes.view(p, 'c7');
    expect(p.connId).toBe('c1');
  });

  it('show invalid settings and refusals on the pane, and pass refusals on to the live link', async () => {
    const refusal = new ApiError('unauthorized', 'the launch token is wrong', 401);
    const { panes, opened, noted } = setup({ open: () => Promise.reject(refusal) });
    const p = panes.add('ws', 'localhost:8080');
    expect(panes.stateOf(p)).toBe('idle');
    await panes.connect(p);
    expect(p.error?.code).toBe('invalid_input');
    expect(p.error?.field).toBe('url');
    expect(opened).toEqual([]);

    p.config.url = 'ws://example.test/';
    await panes.connect(p);
    expect(p.error).toEqual({ code: 'unauthorized', message: 'the launch token is wrong', field: undefined });
    expect([p.busy, p.connId]).toEqual([false, null]);
    expect(noted).toEqual([refusal]);
  });

  it('disconnect quietly when the connection already ended', async () => {
    let answer: ApiError = new ApiError('connection_ended', 'c1 has ended', 409);
    const { panes, calls } = setup({ close: () => Promise.reject(answer) });
    const p = panes.add('ws', 'ws://example.test/');
    await panes.disconnect(p);
    expect(calls).toEqual([]);
    await panes.connect(p);
    await panes.disconnect(p);
    expect(calls).toEqual(['close c1']);
    expect(p.error).toBeNull();
    answer = new ApiError('unreachable', 'no answer');
    await panes.disconnect(p);
    expect(p.error?.code).toBe('unreachable');
  });

  it('rename the shown connection after the pane', async () => {
    const { panes, store, calls } = setup();
    const p = panes.add('ws', 'ws://example.test/');
    await panes.rename(p);
    expect(calls).toEqual([]);
    await panes.connect(p);
    p.config.name = '  prices ';
    await panes.rename(p);
    expect(calls).toEqual(['rename c1 prices']);
    expect(store.get('c1')?.view?.name).toBe('prices');
  });

  it('close: saved messages go, and the server closes then forgets every connection, asked once each', async () => {
    const { panes, store, storage, calls, watched } = setup();
    panes.restore();
    const p = panes.add('ws', 'ws://example.test/');
    await panes.connect(p);
    await panes.connect(p);
    // Each connection joins the watched set as it opens.
    expect(watched).toEqual([['c1'], ['c1', 'c2']]);
    store.get('c1')!.applyView(connView('c1', { state: 'closed' }));
    saveMessage(storage, p.id, { name: 'hi', mode: 'text', payload: 'hi' });
    panes.hooks.set(p.id, { focusUrl() {}, send() {} });

    await panes.close(p.id);
    expect(panes.list.map((q) => q.id)).not.toContain(p.id);
    expect(panes.active).toBe(panes.list[0].id);
    expect(panes.hooks.has(p.id)).toBe(false);
    expect(loadSaved(storage, p.id)).toEqual([]);
    expect(saved(storage).panes.map((q) => q.id)).toEqual(panes.list.map((q) => q.id));
    // The closed pane's connections leave the watched set.
    expect(watched.at(-1)).toEqual([]);
    // No timer: the server waits for each close handshake before it forgets.
    expect(calls).toEqual(['close+forget c1', 'close+forget c2']);
    expect(store.get('c1')).toBeUndefined();
    expect(store.get('c2')).toBeUndefined();
    // While the server completes the close, the connections are not offered as unattached.
    expect(panes.unattached([connView('c1'), connView('c2'), connView('c3')]).map((v) => v.id)).toEqual(['c3']);

    await panes.close('gone');
    expect(calls).toHaveLength(2);
  });

  it('list the connections no pane shows, and attach one to a new pane that streams it from the start', async () => {
    const { panes, store, storage, watched, from } = setup();
    panes.restore();
    const p = panes.add('ws', 'ws://example.test/');
    await panes.connect(p);
    const other = connView('c7', { url: 'ws://elsewhere.test/feed', name: 'feed', last_seq: 40 });
    const big = connView('c8', { proto: 'sse', url: 'http://elsewhere.test/events', last_seq: 25_000 });
    const views = [connView('c1'), other, big];
    expect(panes.unattached(views).map((v) => v.id)).toEqual(['c7', 'c8']);

    const before = panes.list.length;
    const q = panes.attach(other);
    expect(panes.list).toHaveLength(before + 1);
    expect([q.connId, q.conns, q.config.url, q.config.name]).toEqual(['c7', ['c7'], other.url, 'feed']);
    expect(panes.active).toBe(q.id);
    expect(store.get('c7')?.view?.url).toBe(other.url);
    // Watched with the panes' others, from seq 1: nothing of it was held yet.
    expect(watched.at(-1)).toEqual(['c1', 'c7']);
    expect(from.at(-1)).toEqual([['c7', 0]]);
    expect(panes.unattached(views).map((v) => v.id)).toEqual(['c8']);
    // Kept across a reload like any pane's connection.
    expect(saved(storage).panes.find((x) => x.id === q.id)?.conns).toEqual(['c7']);

    // A long recording streams its newest ring's worth; the rest pages from the server.
    panes.attach(big);
    expect(watched.at(-1)).toEqual(['c1', 'c7', 'c8']);
    expect(from.at(-1)).toEqual([['c8', 25_000 - RING_ROWS]]);
    expect(store.get('c8')?.lastSeq).toBe(25_000 - RING_ROWS);
    // Attaching what a pane shows already just shows that pane, and asks nothing new.
    const asked = watched.length;
    expect(panes.attach(other)).toBe(q);
    expect(watched).toHaveLength(asked);
  });

  it('close and forget connections no pane shows', async () => {
    const failure = new ApiError('unreachable', 'no answer');
    let fail = false;
    const { panes, store, calls, noted } = setup({ close: () => (fail ? Promise.reject(failure) : Promise.resolve()) });
    store.applyConns([connView('c4'), connView('c5')]);
    await panes.closeUnattached('c4');
    await panes.forgetUnattached('c5');
    expect(calls).toEqual(['close c4', 'close+forget c5']);
    expect(store.get('c5')).toBeUndefined();
    expect(panes.unattached(store.views).map((v) => v.id)).toEqual(['c4']);
    // Once the server no longer lists it, the id may come back (a restarted server).
    expect(panes.unattached([connView('c4')]).map((v) => v.id)).toEqual(['c4']);
    expect(panes.unattached([connView('c4'), connView('c5')]).map((v) => v.id)).toEqual(['c4', 'c5']);
    fail = true;
    await panes.closeUnattached('c4');
    expect(noted).toEqual([failure]);
  });

  it('clear hides the frames so far from the view only, and Show all brings them back', () => {
    const { panes, store, storage } = setup();
    const p = panes.attach(connView('c4', { last_seq: 30 }));
    store.apply([chunk('c4', 1, 30)]);
    panes.clear(p);
    expect(p.cleared).toEqual({ c4: 30 });
    // The store (what the view pages from) keeps every frame; nothing was asked of the server.
    expect(store.get('c4')?.lastSeq).toBe(30);
    expect(saved(storage).panes.at(-1)?.cleared).toEqual({ c4: 30 });
    panes.showAll(p);
    expect(p.cleared).toEqual({});
    expect(saved(storage).panes.at(-1)?.cleared).toEqual({});
  });

  it('show a library session’s connection read-only, in the pane that showed it before or a new one', () => {
    const { panes, watched } = setup();
    panes.restore();
    const before = panes.list[0];
    before.earlier = { session: 4, conns: ['c1'] };
    const rec = { session: 4, started: '2026-12-01T00:00:00Z', recordedAs: 'c1', settings: { url: 'ws://x.test/rec' } };
    expect(panes.attachRecorded(connView('c9', { url: 'ws://x.test/rec' }), rec, before)).toBe(before);
    expect([before.connId, before.shownRecording, before.earlier, before.config.url]).toEqual([
      'c9',
      rec,
      null,
      'ws://x.test/rec',
    ]);
    const n = panes.list.length;
    const fresh = panes.attachRecorded(connView('c10'), { ...rec, recordedAs: 'c2' });
    expect(panes.list).toHaveLength(n + 1);
    expect(fresh.shownRecording?.recordedAs).toBe('c2');
    expect(watched.at(-1)).toEqual(['c9', 'c10']);
  });

  it('connect again opens a live connection in the pane, which then shows it and no longer reads as recorded', async () => {
    const { panes, opened } = setup();
    const rec = { session: 4, started: '2026-12-01T00:00:00Z', recordedAs: 'c1', settings: { url: 'ws://x.test/rec' } };
    const p = panes.attachRecorded(connView('c9', { url: 'ws://x.test/rec' }), rec);
    await panes.connectAgain(p, {
      url: 'ws://x.test/rec',
      headers: [],
      subprotocols: [],
      insecure: false,
      bearer: 't',
    });
    expect(opened.at(-1)?.bearer).toBe('t');
    expect([p.conns, p.connId, p.shownRecording]).toEqual([['c9', 'c1'], 'c1', null]);
    // What the detail view shows of the request hides the secret.
    expect(JSON.stringify(p.requests.get('c1'))).not.toContain('"t"');
  });
});
