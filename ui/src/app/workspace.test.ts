import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../host/browser';
import { defaultConfig } from '../store/config';
import { PaneState } from './pane.svelte';
import { demoUrl } from './testing';
import { restoreTheme, restoreWorkspace, saveTheme, saveWorkspace, THEME_KEY, WORKSPACE_KEY } from './workspace';

function pane(id: string, url: string, conns: [string, string][] = []) {
  const p = new PaneState(id, defaultConfig(url));
  p.conns = conns.map(([c]) => c);
  for (const [c, u] of conns) p.connUrls.set(c, u);
  return p;
}

describe('the workspace', () => {
  it('comes back as it was saved: panes in order, settings, connections with their URLs, the active pane', () => {
    const kv = memoryStorage();
    const a = pane('pa', 'ws://example.test/feed', [
      ['c1', 'ws://example.test/feed'],
      ['c4', 'ws://example.test/feed?v=2'],
    ]);
    a.config.name = 'feed';
    a.config.headers = [{ name: 'X-Trace', value: 't1', on: false }];
    a.config.pingInterval = '15';
    const b = pane('pb', 'https://example.test/events');
    b.config.method = 'POST';
    b.config.body = '{"q":1}';
    saveWorkspace(kv, { panes: [a, b], active: 'pb' });

    const w = restoreWorkspace(kv, demoUrl);
    expect(w.active).toBe('pb');
    expect(w.panes.map((p) => p.id)).toEqual(['pa', 'pb']);
    expect(w.panes[0].config).toEqual(a.config);
    expect(w.panes[1].config).toEqual(b.config);
    expect(w.panes[0].conns).toEqual(['c1', 'c4']);
    expect([...w.panes[0].connUrls]).toEqual([
      ['c1', 'ws://example.test/feed'],
      ['c4', 'ws://example.test/feed?v=2'],
    ]);
    // Which connection is shown is decided against the server's list, not saved.
    expect(w.panes[0].connId).toBeNull();
  });

  it('keeps each pane’s Δt mode and decoder, and reads an unknown decoder as auto', () => {
    const kv = memoryStorage();
    const a = pane('pa', 'ws://example.test/feed');
    a.delta = 'open';
    a.decoder = 'stomp';
    const b = pane('pb', 'ws://example.test/other');
    saveWorkspace(kv, { panes: [a, b], active: 'pa' });
    const w = restoreWorkspace(kv, demoUrl);
    expect([w.panes[0].delta, w.panes[0].decoder]).toEqual(['open', 'stomp']);
    expect([w.panes[1].delta, w.panes[1].decoder]).toEqual(['prev', 'auto']);
    const raw = JSON.parse(kv.get(WORKSPACE_KEY) ?? '{}');
    raw.panes[0].decoder = 'carrier-pigeon';
    raw.panes[0].delta = 'sideways';
    kv.set(WORKSPACE_KEY, JSON.stringify(raw));
    const odd = restoreWorkspace(kv, demoUrl);
    expect([odd.panes[0].delta, odd.panes[0].decoder]).toEqual(['prev', 'auto']);
  });

  it('keeps the recording session, the panes’ recorded connections, where they went and where Clear started', () => {
    const kv = memoryStorage();
    const a = pane('pa', 'ws://example.test/feed', [['c2', 'ws://example.test/feed']]);
    a.recorded = {
      c2: {
        session: 4,
        started: '2026-12-01T00:00:00Z',
        recordedAs: 'c5',
        settings: { url: 'ws://example.test/feed', secrets: ['bearer'] },
      },
      gone: { session: 4, started: '2026-12-01T00:00:00Z', recordedAs: 'c6', settings: null },
    };
    a.cleared = { c2: 17 };
    const b = pane('pb', 'ws://example.test/feed');
    b.earlier = { session: 3, conns: ['c1'], name: 'Monday' };
    saveWorkspace(kv, { panes: [a, b], active: 'pa', recording: 9 });
    const w = restoreWorkspace(kv, demoUrl);
    expect(w.recording).toBe(9);
    // Only entries of connections the pane has come back.
    expect(Object.keys(w.panes[0].recorded)).toEqual(['c2']);
    expect(w.panes[0].recorded.c2).toEqual(a.recorded.c2);
    expect(w.panes[0].cleared).toEqual({ c2: 17 });
    expect(w.panes[1].earlier).toEqual({ session: 3, conns: ['c1'], name: 'Monday' });

    // Whatever storage holds, what comes back has the right shape.
    kv.set(
      WORKSPACE_KEY,
      JSON.stringify({
        recording: 'x',
        panes: [
          {
            id: 'p',
            conns: ['c1'],
            recorded: { c1: { session: '4' } },
            cleared: { c1: 'x' },
            earlier: { conns: [1, 'c1'] },
          },
        ],
      }),
    );
    const bad = restoreWorkspace(kv, demoUrl);
    expect([bad.recording, bad.panes[0].recorded, bad.panes[0].cleared]).toEqual([null, {}, {}]);
    expect(bad.panes[0].earlier).toEqual({ session: null, conns: ['c1'] });
  });

  it('never keeps secrets', () => {
    const kv = memoryStorage();
    const p = pane('pa', 'wss://example.test/');
    p.config.auth = 'bearer';
    p.config.bearer = 'sekrit';
    p.config.basicUser = 'me';
    p.config.basicPass = 'hunter2';
    saveWorkspace(kv, { panes: [p], active: 'pa' });
    const raw = kv.get(WORKSPACE_KEY)!;
    expect(raw).not.toContain('sekrit');
    expect(raw).not.toContain('hunter2');
    const back = restoreWorkspace(kv, demoUrl).panes[0].config;
    expect([back.auth, back.basicUser, back.bearer, back.basicPass]).toEqual(['bearer', 'me', '', '']);
  });

  it('keeps a header marked secret without its value, and the saved connection a pane belongs to', () => {
    const kv = memoryStorage();
    const p = pane('pa', 'wss://example.test/');
    p.config.headers = [
      { name: 'X-Api-Key', value: 'key-sekrit', on: true, secret: true },
      { name: 'X-Team', value: 'core', on: true },
    ];
    p.savedAs = { collection: 'k1', item: 'i1' };
    saveWorkspace(kv, { panes: [p], active: 'pa' });
    expect(kv.get(WORKSPACE_KEY)).not.toContain('key-sekrit');
    const back = restoreWorkspace(kv, demoUrl).panes[0];
    expect(back.config.headers).toEqual([
      { name: 'X-Api-Key', value: '', on: true, secret: true },
      { name: 'X-Team', value: 'core', on: true },
    ]);
    expect(back.savedAs).toEqual({ collection: 'k1', item: 'i1' });
  });

  it('starts with a WebSocket and an SSE demo pane when nothing usable is saved', () => {
    for (const raw of [null, '{not json', '{"panes":[]}', '{"panes":[{"config":{}}, null, 3]}']) {
      const kv = memoryStorage();
      if (raw !== null) kv.set(WORKSPACE_KEY, raw);
      const w = restoreWorkspace(kv, demoUrl);
      expect(w.panes.map((p) => p.config.url)).toEqual([
        'ws://127.0.0.1:4000/demo/ws/ticker',
        'http://127.0.0.1:4000/demo/sse/ticker',
      ]);
      expect(new Set(w.panes.map((p) => p.id)).size).toBe(2);
      expect(w.active).toBe(w.panes[0].id);
    }
  });

  it('skips what is not a pane and makes the first pane active when the saved one is gone', () => {
    const kv = memoryStorage();
    kv.set(
      WORKSPACE_KEY,
      JSON.stringify({
        panes: [
          { config: {} },
          {
            id: 'pa',
            config: { url: 'ws://example.test/' },
            conns: ['c1', 7],
            urls: { c1: 'ws://example.test/', c2: 5 },
          },
        ],
        active: 'gone',
      }),
    );
    const w = restoreWorkspace(kv, demoUrl);
    expect(w.panes.map((p) => p.id)).toEqual(['pa']);
    expect(w.panes[0].conns).toEqual(['c1']);
    expect([...w.panes[0].connUrls.keys()]).toEqual(['c1']);
    expect(w.active).toBe('pa');
  });

  it('keeps the theme, and reads anything else as the system’s', () => {
    const kv = memoryStorage();
    expect(restoreTheme(kv)).toBe('system');
    saveTheme(kv, 'dark');
    expect(restoreTheme(kv)).toBe('dark');
    kv.set(THEME_KEY, 'purple');
    expect(restoreTheme(kv)).toBe('system');
  });
});
