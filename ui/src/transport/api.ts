// The control API (`/api/connections…`, `/api/sessions…`, `/api/labs…`, `/demo`) over fetch. Errors come back as
// `ApiError` with the server's `code`; views branch on the code and show the message.

import { parseRecord } from '../contract';
import type { Session } from './session';
import type {
  Collection,
  CollectionsListing,
  ConnView,
  EnvironmentView,
  ImportedCollections,
  SavedItem,
  DemoListing,
  ErrorCode,
  ImportedSession,
  LabCatalogue,
  LabRun,
  OpenedSession,
  OpenRequest,
  RecordPage,
  RepeatRequest,
  SearchPage,
  StartTapRequest,
  TapView,
  SearchRequest,
  SendRequest,
  SessionList,
  SessionSummary,
} from './types';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status = 0,
  ) {
    super(message);
  }
}

export class Api {
  constructor(readonly session: Session) {}

  /** Sends a request with the token; a refusal becomes an `ApiError` with the server's
   * `code` and message, an unreachable server `unreachable`. An aborted request rejects
   * with the abort. */
  private async request(
    method: string,
    path: string,
    init: { accept?: string; body?: unknown; raw?: Blob; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (init.accept) headers.accept = init.accept;
    if (this.session.token) headers.authorization = `Bearer ${this.session.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    else if (init.raw) headers['content-type'] = 'application/octet-stream';
    let res: Response;
    try {
      res = await fetch(this.session.base + path, {
        method,
        headers,
        // A file goes as it is (an import): the server reads its format from the name.
        body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
        credentials: 'same-origin',
        signal: init.signal,
      });
    } catch (e) {
      if (init.signal?.aborted) throw e;
      throw new ApiError('unreachable', 'the Streamscope server does not answer; is it still running?');
    }
    if (!res.ok) {
      let e: { code?: string; message?: string } | undefined;
      try {
        e = (await res.json()) as typeof e;
      } catch {
        e = undefined;
      }
      throw new ApiError(
        (e?.code as ErrorCode) ?? 'unexpected',
        e?.message ?? `the server answered ${res.status} ${res.statusText}`,
        res.status,
      );
    }
    return res;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, { accept: 'application/json', body });
    if (res.status === 204 || res.status === 202) return undefined as T;
    const text = await res.text();
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      return undefined as T;
    }
  }

  /** GETs an image (a chart) as a Blob; errors as from every call. */
  async blob(path: string, signal?: AbortSignal): Promise<Blob> {
    return (await this.request('GET', path, { signal })).blob();
  }
  rename(id: string, name: string): Promise<ConnView> {
    return this.call('PATCH', `/api/connections/${encodeURIComponent(id)}`, { name });
  }
  list(): Promise<ConnView[]> {
    return this.call('GET', '/api/connections');
  }
  open(req: OpenRequest): Promise<ConnView> {
    return this.call('POST', '/api/connections', req);
  }
  send(id: string, msg: SendRequest): Promise<void> {
    return this.call('POST', `/api/connections/${encodeURIComponent(id)}/send`, msg);
  }
  close(id: string): Promise<void> {
    return this.call('POST', `/api/connections/${encodeURIComponent(id)}/close`);
  }
  forget(id: string): Promise<void> {
    return this.call('DELETE', `/api/connections/${encodeURIComponent(id)}`);
  }
  /** Closes the connection properly and has the server forget it once the close has
   * completed (or the engine's close deadline passed): one call, nothing to wait for. */
  closeAndForget(id: string): Promise<void> {
    return this.call('DELETE', `/api/connections/${encodeURIComponent(id)}?close=true`);
  }
  /** Starts the server's repeat sender on the connection, replacing a running one. */
  async repeat(id: string, req: RepeatRequest): Promise<string> {
    const res = await this.request('POST', `/api/connections/${encodeURIComponent(id)}/repeat`, {
      accept: 'application/json',
      body: req,
    });
    return ((await res.json()) as { id: string }).id;
  }
  stopRepeat(id: string): Promise<void> {
    return this.call('DELETE', `/api/connections/${encodeURIComponent(id)}/repeat`);
  }
  async records(id: string, from: number, limit: number): Promise<RecordPage> {
    const page = await this.call<RecordPage>(
      'GET',
      `/api/connections/${encodeURIComponent(id)}/records?from=${from}&limit=${limit}`,
    );
    page.records = page.records.map(parseRecord);
    return page;
  }
  /** Seqs of the records that match, newest first, searched over whole records. */
  search(id: string, r: SearchRequest): Promise<SearchPage> {
    const q = new URLSearchParams({ q: r.text });
    if (r.kinds.length) q.set('kinds', r.kinds.join(','));
    if (r.dirs.length) q.set('dir', r.dirs.join(','));
    if (r.before !== undefined) q.set('before', String(r.before));
    if (r.after !== undefined) q.set('after', String(r.after));
    if (r.limit !== undefined) q.set('limit', String(r.limit));
    return this.call('GET', `/api/connections/${encodeURIComponent(id)}/search?${q}`);
  }
  /** The running reverse taps. */
  taps(): Promise<TapView[]> {
    return this.call('GET', '/api/taps');
  }
  /** Starts a reverse tap; the answer's `listen` carries the port picked for port 0. */
  startTap(req: StartTapRequest): Promise<TapView> {
    return this.call('POST', '/api/taps', req);
  }
  stopTap(id: string): Promise<void> {
    return this.call('DELETE', `/api/taps/${encodeURIComponent(id)}`);
  }
  /** The proxy CA's certificate (PEM), made on first use. */
  tapCa(): Promise<Blob> {
    return this.blob('/api/taps/ca');
  }
  deleteTapCa(): Promise<void> {
    return this.call('DELETE', '/api/taps/ca');
  }
  /** The labs and the claims card. */
  labs(): Promise<LabCatalogue> {
    return this.call('GET', '/api/labs');
  }
  /** Starts an engine lab; `quick` runs it with short parameters. Resolves to the run's id.
   * An unknown lab is refused with 404, a lab that runs in the page with 409. */
  async startLab(name: string, quick = false): Promise<string> {
    const r = await this.call<{ run: string }>('POST', `/api/labs/${encodeURIComponent(name)}`, quick ? { quick } : {});
    return r.run;
  }
  labRun(run: string): Promise<LabRun> {
    return this.call('GET', `/api/labs/runs/${encodeURIComponent(run)}`);
  }
  demos(): Promise<DemoListing[]> {
    return this.call('GET', '/demo');
  }
  /** The session library, newest first, with the session recording now and the disk. */
  sessions(): Promise<SessionList> {
    return this.call('GET', '/api/sessions');
  }
  renameSession(id: number, name: string): Promise<SessionSummary> {
    return this.call('PATCH', `/api/sessions/${id}`, { name });
  }
  /** Refused with `conflict` for the session recording now. */
  deleteSession(id: number): Promise<void> {
    return this.call('DELETE', `/api/sessions/${id}`);
  }
  /** Shows the session's connections in the server's session (closed, read-only). */
  openSession(id: number): Promise<OpenedSession> {
    return this.call('POST', `/api/sessions/${id}/open`);
  }
  /** The `/api` path of a session's export; HAR redacts secrets unless `keepSecrets`. */
  sessionExportPath(id: number, format: 'ndjson' | 'har', keepSecrets = false): string {
    return `/api/sessions/${id}/export?format=${format}${format === 'har' && keepSecrets ? '&keep_secrets=true' : ''}`;
  }
  /** Imports an NDJSON or HAR file (its name's extension says which) as a new session;
   * a bad file is refused with `bad_request` and a message naming the line or entry. */
  async importSession(name: string, file: Blob): Promise<ImportedSession> {
    const res = await this.request('POST', `/api/sessions/import?name=${encodeURIComponent(name)}`, {
      accept: 'application/json',
      raw: file,
    });
    return (await res.json()) as ImportedSession;
  }
  /** The `/api` path of the connection's NDJSON export. */
  exportPath(id: string): string {
    return `/api/connections/${encodeURIComponent(id)}/export`;
  }
  /** A one-use URL that downloads `path` (an export or a chart) without the token: a
   * link cannot carry a header, and a token in a URL leaks when the URL is copied. */
  async downloadLink(path: string): Promise<string> {
    const link = await this.call<{ url: string }>('POST', '/api/downloads', { path });
    return this.session.base + link.url;
  }

  // Saved connections and environments (`/api/collections`, `/api/environments`).
  collections(): Promise<CollectionsListing> {
    return this.call('GET', '/api/collections');
  }
  createCollection(name: string): Promise<Collection> {
    return this.call('POST', '/api/collections', { name });
  }
  renameCollection(id: string, name: string): Promise<Collection> {
    return this.call('PATCH', `/api/collections/${encodeURIComponent(id)}`, { name });
  }
  deleteCollection(id: string): Promise<void> {
    return this.call('DELETE', `/api/collections/${encodeURIComponent(id)}`);
  }
  addSaved(collection: string, name: string, config: object): Promise<SavedItem> {
    return this.call('POST', `/api/collections/${encodeURIComponent(collection)}/items`, { name, config });
  }
  editSaved(collection: string, id: string, patch: { name?: string; config?: object }): Promise<SavedItem> {
    return this.call(
      'PATCH',
      `/api/collections/${encodeURIComponent(collection)}/items/${encodeURIComponent(id)}`,
      patch,
    );
  }
  deleteSaved(collection: string, id: string): Promise<void> {
    return this.call('DELETE', `/api/collections/${encodeURIComponent(collection)}/items/${encodeURIComponent(id)}`);
  }
  duplicateSaved(collection: string, id: string): Promise<SavedItem> {
    return this.call(
      'POST',
      `/api/collections/${encodeURIComponent(collection)}/items/${encodeURIComponent(id)}/duplicate`,
    );
  }
  setEnvironments(
    environments: { id?: string; name: string; vars: EnvironmentView['vars'] }[],
  ): Promise<EnvironmentView[]> {
    return this.call('PUT', '/api/environments', { environments });
  }
  /** The `/api` path of a collections file: one collection, or all with `undefined`. */
  collectionsExportPath(collection?: string): string {
    return `/api/collections/export${collection ? `?collection=${encodeURIComponent(collection)}` : ''}`;
  }
  /** The collections file's text, as a teammate gets it (no secrets). */
  async collectionsExport(collection?: string): Promise<string> {
    return (await this.request('GET', this.collectionsExportPath(collection), { accept: 'application/json' })).text();
  }
  /** Imports a collections file; a bad one is refused whole (`bad_request`, naming the
   * JSON path of what is wrong). */
  async importCollections(file: Blob): Promise<ImportedCollections> {
    const res = await this.request('POST', '/api/collections/import', { accept: 'application/json', raw: file });
    return (await res.json()) as ImportedCollections;
  }
}
