// The session library as the window sees it: the list of recorded and imported sessions
// (with the one recording now and the disk they use), renaming, deleting, exporting and
// importing them, and opening one: its connections go into panes, read-only, into the
// panes that showed them before a restart when there are such. Also what "Connect again"
// needs from a recorded connection's settings: the secrets to ask for, and the request
// they complete. Panes themselves are `panes.svelte.ts`'s; how a file is saved is the
// host's; the list is drawn by views/LibraryMenu.svelte.

import type { Host } from '../host';
import { ApiError, type Api } from '../transport/api';
import type {
  ConnSettings,
  ConnView,
  ImportedSession,
  OpenedConn,
  OpenRequest,
  SessionList,
  SessionSummary,
} from '../transport/types';
import type { PaneState, RecordedConn } from './pane.svelte';

/** What this module asks of the control API. */
export type LibraryApi = Pick<
  Api,
  | 'sessions'
  | 'renameSession'
  | 'deleteSession'
  | 'openSession'
  | 'sessionExportPath'
  | 'importSession'
  | 'downloadLink'
  | 'list'
>;

/** What opening a session asks of the panes. */
export interface LibraryPanes {
  readonly list: readonly PaneState[];
  /** Puts a recorded connection into `into` (a pane that showed it before), or a new pane. */
  attachRecorded(view: ConnView, rec: RecordedConn, into?: PaneState): PaneState;
}

/** One secret a recorded connection was opened with and its settings left out. */
export interface SecretField {
  /** As the server names it: `bearer`, `basic`, `header Authorization`. */
  key: string;
  label: string;
  placeholder: string;
}

/** The secrets to ask for before connecting again, in the server's order. */
export function secretFields(settings: ConnSettings | null): SecretField[] {
  return (settings?.secrets ?? []).map((key) => {
    if (key === 'bearer') return { key, label: 'Bearer token', placeholder: 'token' };
    if (key === 'basic') return { key, label: 'Basic credentials', placeholder: 'user:password' };
    const header = key.startsWith('header ') ? key.slice('header '.length) : key;
    return { key, label: `${header} header`, placeholder: 'value' };
  });
}

/** The `POST /api/connections` body that opens `settings` again, with the secrets the
 * user typed put back where the server left them out. An empty answer leaves that
 * secret out (an endpoint may not need it any more); nothing here keeps the answers. */
export function requestFrom(settings: ConnSettings, answers: Readonly<Record<string, string>>): OpenRequest {
  const { secrets = [], ...kept } = settings;
  // Headers come back as the server keeps them: `[name, value]` pairs or `Name: value`
  // lines; both are accepted again as they are.
  const headers = [...((kept.headers ?? []) as [string, string][])];
  const req: OpenRequest = {
    ...kept,
    headers,
    subprotocols: kept.subprotocols ?? [],
    insecure: kept.insecure ?? false,
  };
  for (const key of secrets) {
    const v = answers[key]?.trim();
    if (!v) continue;
    if (key === 'bearer') req.bearer = v;
    else if (key === 'basic') req.basic = v;
    else if (key.startsWith('header ')) headers.push([key.slice('header '.length), v]);
  }
  return req;
}

/** A library session's connections, matched to the panes restored without them: a pane
 * whose `earlier` names this session takes the connections it showed (`recorded_as`);
 * the rest go to new panes. */
export function matchPanes(
  sid: number,
  conns: readonly OpenedConn[],
  panes: readonly PaneState[],
): { into: Map<string, PaneState>; fresh: OpenedConn[] } {
  const into = new Map<string, PaneState>();
  const fresh: OpenedConn[] = [];
  for (const c of conns) {
    const pane = panes.find((p) => p.earlier?.session === sid && p.earlier.conns.includes(c.recorded_as));
    if (pane) into.set(c.id, pane);
    else fresh.push(c);
  }
  return { into, fresh };
}

export type ExportFormat = 'ndjson' | 'har';

export class Library {
  sessions: SessionSummary[] = $state([]);
  /** The session recording now; `null` with a memory-only server. */
  recording: number | null = $state(null);
  disk: SessionList['disk'] = $state(null);
  /** Set when the server has no library (`--memory-only`) after the first listing. */
  memoryOnly = $state(false);
  loading = $state(false);
  /** The last failure of a library command, for the menu to show. */
  error: string | null = $state(null);
  /** The last import, with its notes, until dismissed. */
  imported: ImportedSession | null = $state(null);
  /** An import running (its file name). */
  importing: string | null = $state(null);

  constructor(
    private readonly api: LibraryApi,
    private readonly host: Pick<Host, 'saveExport' | 'importFile'>,
    private readonly panes: LibraryPanes,
  ) {}

  async refresh(): Promise<SessionList | null> {
    this.loading = true;
    try {
      const l = await this.api.sessions();
      this.sessions = l.sessions;
      this.recording = l.recording;
      this.disk = l.disk;
      this.memoryOnly = l.disk === null;
      return l;
    } catch (e) {
      this.error = message(e);
      return null;
    } finally {
      this.loading = false;
    }
  }

  find(id: number): SessionSummary | undefined {
    return this.sessions.find((s) => s.id === id);
  }

  async rename(id: number, name: string): Promise<boolean> {
    const s = this.find(id);
    if (!name.trim() || s?.name === name.trim()) return true;
    try {
      const v = await this.api.renameSession(id, name.trim());
      this.sessions = this.sessions.map((x) => (x.id === id ? v : x));
      this.error = null;
      return true;
    } catch (e) {
      this.error = message(e);
      return false;
    }
  }

  async remove(id: number): Promise<boolean> {
    try {
      await this.api.deleteSession(id);
      this.sessions = this.sessions.filter((s) => s.id !== id);
      if (this.imported?.id === id) this.imported = null;
      this.error = null;
      // The disk figure moved; the list is otherwise as shown.
      void this.refresh();
      return true;
    } catch (e) {
      this.error =
        e instanceof ApiError && e.code === 'conflict'
          ? 'This session is recording now: it can be deleted once the app has restarted.'
          : message(e);
      return false;
    }
  }

  async exportAs(id: number, format: ExportFormat, keepSecrets = false): Promise<void> {
    const path = this.api.sessionExportPath(id, format, keepSecrets);
    try {
      await this.host.saveExport(path, `streamscope-session-${id}.${format}`, (p) => this.api.downloadLink(p));
      this.error = null;
    } catch (e) {
      this.error = `export failed: ${message(e)}`;
    }
  }

  /** Imports an NDJSON or HAR file as a new session; its notes stay in `imported`. */
  async importFile(file: File): Promise<ImportedSession | null> {
    if (!importable(file.name)) {
      this.error = `${file.name}: only .har and .ndjson files can be imported`;
      return null;
    }
    this.importing = file.name;
    this.error = null;
    try {
      return this.took(await this.api.importSession(file.name, file));
    } catch (e) {
      this.error = `import of ${file.name} failed: ${message(e)}`;
      return null;
    } finally {
      this.importing = null;
    }
  }

  /** Whether the host picks files itself (the desktop's native open dialog). */
  get picksFiles(): boolean {
    return !!this.host.importFile;
  }

  /** Imports through the host's own open dialog (desktop); `null` when cancelled. */
  async importPicked(): Promise<ImportedSession | null> {
    if (!this.host.importFile) return null;
    this.importing = 'the chosen file';
    this.error = null;
    try {
      const s = await this.host.importFile();
      return s ? this.took(s) : null;
    } catch (e) {
      this.error = `import failed: ${message(e)}`;
      return null;
    } finally {
      this.importing = null;
    }
  }

  /** Shows an imported session first in the list, with its notes. */
  private took(s: ImportedSession): ImportedSession {
    this.imported = s;
    const { notes: _n, ...summary } = s;
    this.sessions = [summary, ...this.sessions.filter((x) => x.id !== s.id)];
    void this.refresh();
    return s;
  }

  /** Opens the session: each connection in the pane that showed it before a restart, or
   * in a new pane. Resolves to the panes it filled. */
  async open(id: number): Promise<PaneState[]> {
    try {
      const opened = await this.api.openSession(id);
      const views = new Map((await this.api.list()).map((v) => [v.id, v]));
      const s = this.find(id);
      const started = s?.started ?? new Date().toISOString();
      const { into } = matchPanes(id, opened.conns, this.panes.list);
      const shown: PaneState[] = [];
      for (const c of opened.conns) {
        const view = views.get(c.id);
        if (!view) continue;
        const rec: RecordedConn = { session: id, started, recordedAs: c.recorded_as, settings: c.settings ?? null };
        shown.push(this.panes.attachRecorded(view, rec, into.get(c.id)));
      }
      this.error = null;
      return shown;
    } catch (e) {
      this.error = message(e);
      return [];
    }
  }

  /** Fills in the name and start of the sessions restored panes point at, and marks those
   * the library no longer has. */
  describeEarlier(panes: readonly PaneState[]) {
    for (const p of panes) {
      const e = p.earlier;
      if (!e || e.session === null) continue;
      const s = this.find(e.session);
      p.earlier = s ? { ...e, name: s.name, started: s.started, missing: undefined } : { ...e, missing: true };
    }
  }
}

/** Whether a file's name says a format the importer reads. */
export function importable(name: string): boolean {
  return /\.(har|ndjson|jsonl)$/i.test(name);
}

function message(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}
