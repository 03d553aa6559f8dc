import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const calls: [string, unknown][] = [];
let importAnswer: unknown = null;
vi.mock('@tauri-apps/api/core', () => ({
  invoke: (cmd: string, args: unknown) => {
    calls.push([cmd, args]);
    if (cmd === 'import_file') return Promise.resolve(importAnswer);
    if (cmd === 'secret_get') return Promise.resolve(null);
    return Promise.resolve(cmd === 'save_export' ? true : undefined);
  },
}));

const { tauriHost } = await import('./tauri');

function fakeWindow(init?: object) {
  const session = new Map<string, string>();
  const w = {
    __STREAMSCOPE_SHELL__: init,
    location: { href: 'http://127.0.0.1:4000/' },
    sessionStorage: {
      getItem: (k: string) => session.get(k) ?? null,
      setItem: (k: string, v: string) => void session.set(k, v),
    },
    addEventListener: () => {},
  };
  vi.stubGlobal('window', w);
  return session;
}

describe('the desktop host', () => {
  beforeEach(() => {
    calls.length = 0;
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('starts from the settings the shell handed over and saves the whole map after changes', async () => {
    fakeWindow({ launch: 'L1', settings: { 'sscope.theme': 'dark' } });
    const host = tauriHost();
    expect(host.storage.get('sscope.theme')).toBe('dark');
    host.storage.set('sscope.theme', 'light');
    host.storage.set('sscope.saved.p1', '[]');
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toEqual([['save_settings', { entries: { 'sscope.theme': 'light', 'sscope.saved.p1': '[]' } }]]);
  });

  it('prefers this launch’s newer map after a reload', () => {
    const session = fakeWindow({ launch: 'L2', settings: { a: 'old' } });
    session.set('sscope.shell.L2', JSON.stringify({ a: 'new' }));
    expect(tauriHost().storage.get('a')).toBe('new');
    session.set('sscope.shell.L1', JSON.stringify({ a: 'other launch' }));
    fakeWindow({ launch: 'L3', settings: { a: 'shell' } });
    expect(tauriHost().storage.get('a')).toBe('shell');
  });

  it('hands the shell an /api path without the token for exports', async () => {
    fakeWindow({ launch: 'L1', settings: {} });
    const r = await tauriHost().saveExport('/api/connections/c1/export', 'streamscope-c1.ndjson', () =>
      Promise.reject(new Error('the shell needs no one-use link')),
    );
    expect(r).toBe('saved');
    expect(calls).toEqual([['save_export', { path: '/api/connections/c1/export', filename: 'streamscope-c1.ndjson' }]]);
  });

  it('imports through the shell’s open dialog, and says so when the user cancelled', async () => {
    fakeWindow({ launch: 'L1', settings: {} });
    const host = tauriHost();
    importAnswer = null;
    expect(await host.importFile?.()).toBeNull();
    importAnswer = { id: 4, name: 'capture.har', notes: ['1 document counted'] };
    expect(await host.importFile?.()).toEqual(importAnswer);
    // The page names no file: the shell asks the user.
    expect(calls).toEqual([
      ['import_file', undefined],
      ['import_file', undefined],
    ]);
  });

  it('reaches the keychain through the shell’s three commands, a missing secret as null', async () => {
    fakeWindow({ launch: 'L1', settings: {} });
    const keys = tauriHost().secrets;
    expect(keys).toBeDefined();
    await keys?.set('saved/i1/bearer', 'tok');
    expect(await keys?.get('saved/i1/bearer')).toBeNull();
    await keys?.remove('saved/i1/bearer');
    expect(calls).toEqual([
      ['secret_set', { key: 'saved/i1/bearer', value: 'tok' }],
      ['secret_get', { key: 'saved/i1/bearer' }],
      ['secret_delete', { key: 'saved/i1/bearer' }],
    ]);
  });
});
