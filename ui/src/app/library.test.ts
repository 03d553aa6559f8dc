import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../store/config';
import { ApiError } from '../transport/api';
import type { ConnView, ImportedSession, OpenedConn, SessionSummary } from '../transport/types';
import { importable, Library, matchPanes, requestFrom, secretFields, type LibraryApi } from './library.svelte';
import { PaneState, type RecordedConn } from './pane.svelte';
import { connView } from './testing';

function summary(id: number, over: Partial<SessionSummary> = {}): SessionSummary {
  return {
    id,
    name: `Session ${id}`,
    started: '2026-12-06T10:00:00.000000Z',
    ended: '2026-12-06T10:05:00.000000Z',
    duration_ms: 300_000,
    conns: 2,
    records: 40,
    bytes: 4096,
    origin: 'live',
    live: false,
    ...over,
  };
}

function opened(id: string, recordedAs: string, over: Partial<OpenedConn> = {}): OpenedConn {
  return {
    id,
    proto: 'ws',
    url: 'ws://x.test/a',
    name: 'a',
    settings: { url: 'ws://x.test/a' },
    recorded_as: recordedAs,
    ...over,
  };
}

/** A library over an API stand-in and panes that log what was attached where. */
function setup(over: Partial<LibraryApi> = {}, panes: PaneState[] = []) {
  const calls: string[] = [];
  const attached: [string, RecordedConn, string | undefined][] = [];
  // The server's catalogue: what the commands change and the listing reads.
  let db = [summary(3, { live: true }), summary(2), summary(1)];
  const api: LibraryApi = {
    sessions: async () => ({ sessions: [...db], recording: 3, disk: { used: 9000, budget: 1 << 30 } }),
    renameSession: async (id, name) => {
      calls.push(`rename ${id} ${name}`);
      db = db.map((s) => (s.id === id ? { ...s, name } : s));
      return db.find((s) => s.id === id)!;
    },
    deleteSession: async (id) => {
      calls.push(`delete ${id}`);
      db = db.filter((s) => s.id !== id);
    },
    openSession: async (id) => ({ session: id, conns: [opened('c7', 'c1'), opened('c8', 'c2')] }),
    sessionExportPath: (id, f, keep) => `/api/sessions/${id}/export?format=${f}${keep ? '&keep_secrets=true' : ''}`,
    importSession: async (name) => {
      const s = summary(9, { name, origin: 'import' });
      db = [s, ...db];
      return { ...s, notes: ['2 entries that are not WebSocket or SSE were skipped'] };
    },
    downloadLink: async (p) => `http://127.0.0.1:1/api/downloads/x?for=${p}`,
    list: async (): Promise<ConnView[]> => [connView('c7'), connView('c8')],
    ...over,
  };
  const saved: string[] = [];
  const host = {
    saveExport: async (path: string, filename: string, link: (p: string) => Promise<string>) => {
      saved.push(`${filename} ${await link(path)}`);
      return 'saved' as const;
    },
  };
  const list = panes;
  const lib = new Library(api, host, {
    list,
    attachRecorded: (view, rec, into) => {
      attached.push([view.id, rec, into?.id]);
      const p = into ?? new PaneState(`new-${view.id}`, defaultConfig(view.url));
      return p;
    },
  });
  return { lib, calls, attached, saved };
}

describe('connect again', () => {
  it('asks for each secret the settings left out, by name', () => {
    expect(secretFields({ url: 'u', secrets: ['bearer', 'basic', 'header Cookie'] }).map((f) => f.label)).toEqual([
      'Bearer token',
      'Basic credentials',
      'Cookie header',
    ]);
    expect(secretFields({ url: 'u' })).toEqual([]);
    expect(secretFields(null)).toEqual([]);
  });

  it('puts the typed secrets back where they were and sends no `secrets` key', () => {
    const req = requestFrom(
      {
        url: 'wss://x.test/feed',
        headers: [['X-Trace', '1']],
        subprotocols: ['v1'],
        ping_interval_secs: 5,
        secrets: ['bearer', 'header Authorization', 'basic'],
      },
      { bearer: ' tok ', 'header Authorization': 'Token abc', basic: '' },
    );
    expect(req).toEqual({
      url: 'wss://x.test/feed',
      headers: [
        ['X-Trace', '1'],
        ['Authorization', 'Token abc'],
      ],
      subprotocols: ['v1'],
      insecure: false,
      ping_interval_secs: 5,
      bearer: 'tok',
    });
  });

  it('fills what the server leaves unset with the defaults a request needs', () => {
    expect(requestFrom({ url: 'http://x.test/events', method: 'POST', body: '{}' }, {})).toEqual({
      url: 'http://x.test/events',
      method: 'POST',
      body: '{}',
      headers: [],
      subprotocols: [],
      insecure: false,
    });
  });
});

describe('the library', () => {
  it('lists sessions with the one recording now and the disk', async () => {
    const { lib } = setup();
    await lib.refresh();
    expect(lib.sessions.map((s) => s.id)).toEqual([3, 2, 1]);
    expect([lib.recording, lib.disk?.used, lib.memoryOnly]).toEqual([3, 9000, false]);
  });

  it('says so when the server keeps no library', async () => {
    const { lib } = setup({ sessions: async () => ({ sessions: [], recording: null, disk: null }) });
    await lib.refresh();
    expect(lib.memoryOnly).toBe(true);
  });

  it('renames, deletes and explains why the session recording now cannot go', async () => {
    const { lib, calls } = setup();
    const { deleteSession } = lib['api'];
    lib['api'].deleteSession = async (id) => {
      if (id === 3) throw new ApiError('conflict', 'session 3 is recording', 409);
      return deleteSession(id);
    };
    await lib.refresh();
    expect(await lib.rename(2, '  Tuesday’s outage ')).toBe(true);
    expect(lib.find(2)?.name).toBe('Tuesday’s outage');
    // Unchanged or empty: nothing asked.
    await lib.rename(2, 'Tuesday’s outage');
    await lib.rename(2, '   ');
    expect(await lib.remove(1)).toBe(true);
    expect(lib.find(1)).toBeUndefined();
    expect(await lib.remove(3)).toBe(false);
    expect(lib.error).toMatch(/recording now/);
    expect(calls).toEqual(['rename 2 Tuesday’s outage', 'delete 1']);
  });

  it('exports through the host, with secrets only when asked', async () => {
    const { lib, saved } = setup();
    await lib.exportAs(2, 'har');
    await lib.exportAs(2, 'har', true);
    await lib.exportAs(2, 'ndjson', true);
    expect(saved).toEqual([
      'streamscope-session-2.har http://127.0.0.1:1/api/downloads/x?for=/api/sessions/2/export?format=har',
      'streamscope-session-2.har http://127.0.0.1:1/api/downloads/x?for=/api/sessions/2/export?format=har&keep_secrets=true',
      'streamscope-session-2.ndjson http://127.0.0.1:1/api/downloads/x?for=/api/sessions/2/export?format=ndjson&keep_secrets=true',
    ]);
  });

  it('imports a file into a new session and keeps its notes; a refusal is shown whole', async () => {
    let refuse = false;
    const { lib } = setup();
    const { importSession } = lib['api'];
    lib['api'].importSession = async (name, file): Promise<ImportedSession> => {
      if (refuse) throw new ApiError('bad_request', `${name}: line 3: missing field \`seq\``, 400);
      return importSession(name, file);
    };
    await lib.refresh();
    const s = await lib.importFile(new File(['{}'], 'capture.har'));
    expect(s?.id).toBe(9);
    expect(lib.imported?.notes).toEqual(['2 entries that are not WebSocket or SSE were skipped']);
    expect(lib.sessions[0].id).toBe(9);
    refuse = true;
    expect(await lib.importFile(new File(['x'], 'bad.ndjson'))).toBeNull();
    expect(lib.error).toBe('import of bad.ndjson failed: bad.ndjson: line 3: missing field `seq`');
    // Not a format the importer reads: refused here, the server is not asked.
    expect(await lib.importFile(new File(['x'], 'notes.txt'))).toBeNull();
    expect(lib.error).toMatch(/only \.har and \.ndjson/);
    expect([importable('a.HAR'), importable('b.jsonl'), importable('c.json')]).toEqual([true, true, false]);
  });

  it('opens a session into the panes that showed its connections before a restart, the rest into new panes', async () => {
    const before = new PaneState('p1', defaultConfig('ws://x.test/a'));
    before.earlier = { session: 2, conns: ['c2'] };
    const other = new PaneState('p2', defaultConfig('ws://x.test/a'));
    other.earlier = { session: 1, conns: ['c1'] };
    const { lib, attached } = setup({}, [before, other]);
    await lib.refresh();
    await lib.open(2);
    expect(attached.map(([id, rec, into]) => [id, rec.session, rec.recordedAs, into])).toEqual([
      ['c7', 2, 'c1', undefined],
      ['c8', 2, 'c2', 'p1'],
    ]);
    expect(attached[0][1].started).toBe(summary(2).started);
  });

  it('names the session restored panes point at, or says it was deleted', async () => {
    const a = new PaneState('p1', defaultConfig('ws://x.test/a'));
    a.earlier = { session: 2, conns: ['c1'] };
    const b = new PaneState('p2', defaultConfig('ws://x.test/a'));
    b.earlier = { session: 7, conns: ['c1'] };
    const { lib } = setup();
    await lib.refresh();
    lib.describeEarlier([a, b]);
    expect(a.earlier).toMatchObject({ name: 'Session 2', started: summary(2).started });
    expect(b.earlier?.missing).toBe(true);
  });

  it('matches by the id a connection had while recording, and only within that session', () => {
    const p = new PaneState('p1', defaultConfig(''));
    p.earlier = { session: 5, conns: ['c3'] };
    const { into, fresh } = matchPanes(5, [opened('c9', 'c3'), opened('c10', 'c4')], [p]);
    expect([...into].map(([c, pane]) => [c, pane.id])).toEqual([['c9', 'p1']]);
    expect(fresh.map((c) => c.id)).toEqual(['c10']);
    expect(matchPanes(6, [opened('c9', 'c3')], [p]).into.size).toBe(0);
  });

  it('imports through the host’s own dialog when it has one; a cancel is no error', async () => {
    const { lib } = setup();
    expect(lib.picksFiles).toBe(false);
    let answer: ImportedSession | null = null;
    let refusal: unknown = null;
    lib['host'].importFile = async () => {
      if (refusal) throw refusal;
      return answer;
    };
    expect(lib.picksFiles).toBe(true);
    expect(await lib.importPicked()).toBeNull();
    expect([lib.error, lib.imported]).toEqual([null, null]);
    answer = { ...summary(12, { name: 'x.har', origin: 'import' }), notes: ['n'] };
    expect((await lib.importPicked())?.id).toBe(12);
    expect(lib.imported?.notes).toEqual(['n']);
    // The shell's refusal carries the server's message.
    refusal = { code: 'refused', message: 'x.har: log.entries[3]: missing field `time`' };
    expect(await lib.importPicked()).toBeNull();
    expect(lib.error).toBe('import failed: x.har: log.entries[3]: missing field `time`');
  });
});
