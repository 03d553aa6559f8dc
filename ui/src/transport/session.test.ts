import { describe, expect, it } from 'vitest';
import { LIVE_PROTOCOL, liveProtocols, liveUrl, readSession, serverHost } from './session';

function fakeHistory() {
  const calls: string[] = [];
  return {
    calls,
    history: {
      state: null,
      replaceState: (_s: unknown, _t: string, url?: string | URL | null) => calls.push(String(url)),
    },
  };
}

function fakeStore() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
}

describe('readSession', () => {
  it('takes the token from the URL and removes it from the address bar', () => {
    const h = fakeHistory();
    const store = fakeStore();
    const s = readSession(
      { href: 'http://127.0.0.1:4000/?token=abc&x=1#f', origin: 'http://127.0.0.1:4000' },
      h.history,
      store,
    );
    expect(s).toEqual({ base: 'http://127.0.0.1:4000', token: 'abc' });
    expect(h.calls).toEqual(['/?x=1#f']);
    // A reload, with the token gone from the URL, still has it.
    const again = readSession(
      { href: 'http://127.0.0.1:4000/', origin: 'http://127.0.0.1:4000' },
      fakeHistory().history,
      store,
    );
    expect(again.token).toBe('abc');
  });

  it('takes the token from the fragment, keeping the rest of it', () => {
    const h = fakeHistory();
    const s = readSession(
      { href: 'http://127.0.0.1:4000/?x=1#token=abc&pane=2', origin: 'http://127.0.0.1:4000' },
      h.history,
      fakeStore(),
    );
    expect(s.token).toBe('abc');
    expect(h.calls).toEqual(['/?x=1#pane=2']);
  });

  it('works without a token (every call is then refused)', () => {
    const h = fakeHistory();
    const s = readSession({ href: 'http://127.0.0.1:4000/', origin: 'http://127.0.0.1:4000' }, h.history, null);
    expect(s.token).toBeNull();
    expect(h.calls).toEqual([]);
  });
});

describe('liveUrl', () => {
  it('carries the resume cursors, and the token only as a subprotocol', () => {
    const s = { base: 'http://127.0.0.1:4000', token: 't0k' };
    const url = liveUrl(s, [
      ['c1', 120],
      ['c2', 0],
      ['c3', 40],
    ]);
    expect(url).toBe('ws://127.0.0.1:4000/api/live?from=c1%3A120%2Cc3%3A40');
    expect(liveProtocols(s)).toEqual([LIVE_PROTOCOL, 'streamscope.token.t0k']);
    expect(liveProtocols({ ...s, token: null })).toEqual([LIVE_PROTOCOL]);
    expect(new URL(url).searchParams.get('from')).toBe('c1:120,c3:40');
  });
  it('asks for runs with data cut to the preview', () => {
    const url = new URL(liveUrl({ base: 'http://127.0.0.1:4000', token: null }, [], 240));
    expect(url.searchParams.get('format')).toBe('runs');
    expect(url.searchParams.get('preview')).toBe('240');
  });
  it('uses wss for https', () => {
    expect(liveUrl({ base: 'https://h', token: null }, [])).toBe('wss://h/api/live');
    expect(serverHost({ base: 'http://127.0.0.1:9/', token: null })).toBe('127.0.0.1:9');
  });
});

describe('liveUrl with a watch set', () => {
  it('names the watched connections and sends only their cursors', () => {
    const url = new URL(
      liveUrl(
        { base: 'http://127.0.0.1:4000', token: null },
        [
          ['c1', 5],
          ['c2', 9],
        ],
        240,
        ['c2', 'c7'],
      ),
    );
    expect(url.searchParams.get('watch')).toBe('c2,c7');
    expect(url.searchParams.get('from')).toBe('c2:9');
  });
  it('watches nothing with an empty set, which is not the same as every connection', () => {
    const url = new URL(liveUrl({ base: 'http://127.0.0.1:4000', token: null }, [['c1', 5]], 240, []));
    expect(url.searchParams.get('watch')).toBe('');
    expect(url.searchParams.has('from')).toBe(false);
  });
});
