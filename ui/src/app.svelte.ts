// The application state: panes and their connections, wired to the API (commands), the
// live feed (records in) and the store (what views read). Views get this object from
// context, call its methods, and re-render on `tick`, which moves at most once per
// animation frame.

import { getContext, setContext } from 'svelte';
import { ChartSettings, SystemTheme } from './chart/state.svelte';
import type { Proto } from './contract';
import type { Host } from './host';
import { buildOpen, defaultConfig, persistable, protoOf, restoreConfig, type PaneConfig } from './store/config';
import { RING_ROWS, Store } from './store/log';
import { NO_FILTER, type FilterSpec } from './store/filter';
import { deleteSaved, forgetPane, loadSaved } from './store/saved';
import { Api, ApiError } from './transport/api';
import { LiveFeed, type LiveState } from './transport/live';
import { rowOf, rowsOf, type Row } from './transport/decode';
import { readSession, serverHost, type Session } from './transport/session';
import type { ConnState, ConnView, DemoListing, ErrorCode, OpenRequest } from './transport/types';

export type Theme = 'system' | 'light' | 'dark';

export interface PaneError {
  code: ErrorCode | 'invalid_input';
  message: string;
  field?: 'url' | 'headers' | 'auth' | 'ping';
}

let nextPane = 1;
function newPaneId(): string {
  return `p${Date.now().toString(36)}${(nextPane++).toString(36)}`;
}

export class PaneState {
  readonly id: string;
  config: PaneConfig = $state(defaultConfig(''));
  /** The connection shown; `null` before the first connect. */
  connId: string | null = $state(null);
  /** Every connection this pane opened, oldest first. */
  conns: string[] = $state([]);
  error: PaneError | null = $state(null);
  busy = $state(false);
  filter: FilterSpec = $state(NO_FILTER);
  paused = $state(false);
  /** What was asked for each connection (secrets removed), for the detail view. */
  readonly requests = new Map<string, OpenRequest>();
  /** The URL the server reported for each connection, to recognise it after a reload. */
  readonly connUrls = new Map<string, string>();

  constructor(id: string, config: PaneConfig) {
    this.id = id;
    this.config = config;
  }

  /** The protocol the URL field implies. */
  get urlProto(): Proto | null {
    return protoOf(this.config.url);
  }
}

const WORKSPACE_KEY = 'sscope.workspace';
const THEME_KEY = 'sscope.theme';

interface SavedPane {
  id: string;
  config: PaneConfig;
  conns: string[];
  urls?: Record<string, string>;
}

export function isLive(state: ConnState | undefined): boolean {
  return state === 'connecting' || state === 'open' || state === 'reconnecting';
}

export class App {
  readonly session: Session;
  readonly api: Api;
  readonly store: Store;
  readonly host: Host;
  private live: LiveFeed | null = null;

  /** Moves once per animation frame in which the store changed. */
  tick = $state(0);
  liveState: LiveState = $state('connecting');
  liveAttempt = $state(0);
  /** Set when the server refuses our token: nothing works until the page is reopened. */
  authProblem: string | null = $state(null);
  demos: DemoListing[] = $state([]);
  panes: PaneState[] = $state([]);
  activePane: string | null = $state(null);
  theme: Theme = $state('system');
  /** The rate charts' settings and each pane's colour. */
  readonly chart: ChartSettings;
  private readonly system = new SystemTheme();
  /** Per-pane hooks the keyboard shortcuts call. */
  readonly hooks = new Map<string, { focusUrl(): void; send(): void }>();

  constructor(host: Host, session: Session = readSession()) {
    this.host = host;
    this.session = session;
    this.api = new Api(session);
    this.store = new Store(RING_ROWS);
    this.store.subscribe(() => this.tick++);
    this.chart = new ChartSettings(host.storage);
    const t = host.storage.get(THEME_KEY);
    if (t === 'light' || t === 'dark' || t === 'system') this.theme = t;
  }

  /** `127.0.0.1:PORT`: where the demo endpoints are. */
  get serverHost(): string {
    return serverHost(this.session);
  }

  demoUrl(path: string, proto: Proto): string {
    return `${proto === 'ws' ? 'ws' : 'http'}://${this.serverHost}${path}`;
  }

  /** Restores the workspace (or opens the two demo panes), re-attaches panes to
   * connections the server still has, and starts the live feed. */
  async start() {
    this.restorePanes();
    let views: ConnView[] = [];
    try {
      views = await this.api.list();
    } catch (e) {
      this.noteGlobal(e);
    }
    const byId = new Map(views.map((v) => [v.id, v]));
    const cursors = new Map<string, number>();
    const wanted = new Set<string>();
    for (const pane of this.panes) {
      // A connection id from an earlier page belongs to this pane only if the server
      // still has it with the same URL (a restarted server reuses ids).
      pane.conns = pane.conns.filter((id) => byId.has(id) && byId.get(id)?.url === pane.connUrls.get(id));
      pane.connId = pane.conns.length ? pane.conns[pane.conns.length - 1] : null;
      for (const id of pane.conns) {
        const v = byId.get(id)!;
        wanted.add(id);
        const log = this.store.ensure(id, v.proto);
        log.applyView(v);
        // The shown connection streams its newest ring's worth; the others start at their
        // end, their past read from the server when scrolled to.
        const from = id === pane.connId ? Math.max(0, v.last_seq - RING_ROWS) : v.last_seq;
        cursors.set(id, from);
        log.lastSeq = from;
      }
    }
    const ignore: string[] = [];
    for (const v of views) {
      if (!wanted.has(v.id)) {
        ignore.push(v.id);
        cursors.set(v.id, v.last_seq);
      }
    }
    if (views.length) this.store.applyConns(views.filter((v) => wanted.has(v.id)));
    this.live = new LiveFeed(this.session, {
      chunks: (c) => this.store.apply(c),
      conns: (v) => this.store.applyConns(v),
      status: (s, attempt) => {
        this.liveState = s;
        this.liveAttempt = attempt;
        if (s === 'retrying' && attempt >= 2) void this.probe();
        if (s === 'open') this.authProblem = null;
      },
    });
    this.live.start(cursors, ignore);
    this.persist();
    this.api.demos().then(
      (d) => (this.demos = d),
      () => {},
    );
  }

  stop() {
    this.live?.stop();
  }

  /** Rows `from…` (at most `limit`) of a connection's recording: decoded in the live
   * feed's worker once it runs, so scrolling back does not parse JSON on the UI thread. */
  async records(id: string, from: number, limit: number): Promise<Row[]> {
    if (this.live) return rowsOf(await this.live.page(id, from, limit));
    return (await this.api.records(id, from, limit)).records.map(rowOf);
  }

  /** When the live socket keeps failing, asks the API why (a WebSocket handshake cannot
   * tell us). */
  private async probe() {
    try {
      await this.api.list();
    } catch (e) {
      this.noteGlobal(e);
    }
  }

  private noteGlobal(e: unknown) {
    if (!(e instanceof ApiError)) return;
    if (e.code === 'unauthorized' || e.code === 'bad_origin' || e.code === 'bad_host') this.authProblem = e.message;
    else if (e.code === 'unreachable') this.authProblem = null;
  }

  private restorePanes() {
    const raw = this.host.storage.get(WORKSPACE_KEY);
    let saved: SavedPane[] = [];
    if (raw) {
      try {
        const w = JSON.parse(raw) as { panes?: SavedPane[]; active?: string };
        saved = Array.isArray(w.panes) ? w.panes : [];
        this.activePane = typeof w.active === 'string' ? w.active : null;
      } catch {
        saved = [];
      }
    }
    if (saved.length) {
      this.panes = saved
        .filter((p) => p && typeof p.id === 'string')
        .map((p) => {
          const pane = new PaneState(p.id, restoreConfig(p.config, this.demoUrl('/demo/ws/ticker', 'ws')));
          pane.conns = Array.isArray(p.conns) ? p.conns.filter((c) => typeof c === 'string') : [];
          for (const [id, url] of Object.entries(p.urls ?? {})) if (typeof url === 'string') pane.connUrls.set(id, url);
          return pane;
        });
    }
    if (!this.panes.length) {
      this.panes = [
        new PaneState(newPaneId(), defaultConfig(this.demoUrl('/demo/ws/ticker', 'ws'))),
        new PaneState(newPaneId(), defaultConfig(this.demoUrl('/demo/sse/ticker', 'sse'))),
      ];
    }
    if (!this.panes.some((p) => p.id === this.activePane)) this.activePane = this.panes[0]?.id ?? null;
  }

  /** Writes the workspace (without secrets) to the host's storage. */
  persist() {
    const w = {
      panes: this.panes.map((p) => ({
        id: p.id,
        config: persistable(p.config),
        conns: p.conns,
        urls: Object.fromEntries(p.conns.map((c) => [c, p.connUrls.get(c) ?? ''])),
      })),
      active: this.activePane,
    };
    this.host.storage.set(WORKSPACE_KEY, JSON.stringify(w));
  }

  /** The theme in effect: the chosen one, or the system's. */
  get dark(): boolean {
    return this.theme === 'dark' || (this.theme === 'system' && this.system.dark);
  }

  /** Gives the shown connection the pane's name (the charts' legends read it). */
  async renameConn(pane: PaneState) {
    const id = pane.connId;
    if (!id) return;
    try {
      const v = await this.api.rename(id, pane.config.name.trim());
      this.store.get(id)?.applyView(v);
    } catch (e) {
      // A forgotten connection has no name to keep; anything else is worth showing.
      if (!(e instanceof ApiError && e.code === 'unknown_connection')) pane.error = toPaneError(e);
    }
  }

  setTheme(t: Theme) {
    this.theme = t;
    this.host.storage.set(THEME_KEY, t);
  }

  addPane(proto: Proto, url?: string) {
    const pane = new PaneState(
      newPaneId(),
      defaultConfig(url ?? this.demoUrl(proto === 'ws' ? '/demo/ws/echo' : '/demo/sse/ticker', proto)),
    );
    this.panes = [...this.panes, pane];
    this.activePane = pane.id;
    this.persist();
    return pane;
  }

  movePane(id: string, delta: number) {
    const i = this.panes.findIndex((p) => p.id === id);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= this.panes.length) return;
    const next = [...this.panes];
    [next[i], next[j]] = [next[j], next[i]];
    this.panes = next;
    this.persist();
  }

  async closePane(id: string) {
    const pane = this.panes.find((p) => p.id === id);
    if (!pane) return;
    this.panes = this.panes.filter((p) => p.id !== id);
    if (this.activePane === id) this.activePane = this.panes[0]?.id ?? null;
    this.hooks.delete(id);
    for (const m of loadSaved(this.host.storage, id)) deleteSaved(this.host.storage, id, m.name);
    forgetPane(this.host.storage, id);
    this.persist();
    this.live?.ignore(pane.conns);
    for (const c of pane.conns) {
      // Close properly first (a WebSocket close handshake), then drop the recording.
      if (isLive(this.store.get(c)?.view?.state)) await this.api.close(c).catch(() => {});
      setTimeout(() => {
        this.api.forget(c).catch(() => {});
        this.store.drop(c);
      }, 1500);
    }
  }

  stateOf(pane: PaneState): ConnState | 'idle' {
    if (!pane.connId) return 'idle';
    return this.store.get(pane.connId)?.view?.state ?? 'connecting';
  }

  async connect(pane: PaneState) {
    const built = buildOpen(pane.config);
    if (!built.ok) {
      pane.error = { code: 'invalid_input', message: built.message, field: built.field };
      return;
    }
    pane.busy = true;
    pane.error = null;
    try {
      const view = await this.api.open(built.request);
      const log = this.store.ensure(view.id, view.proto);
      log.applyView(view);
      const { bearer: _b, basic: _a, ...shown } = built.request;
      pane.requests.set(view.id, {
        ...shown,
        headers: [
          ...shown.headers,
          ...(built.request.bearer ? ([['Authorization', 'Bearer ••••••']] as [string, string][]) : []),
          ...(built.request.basic ? ([['Authorization', 'Basic ••••••']] as [string, string][]) : []),
        ],
      });
      pane.connUrls.set(view.id, view.url);
      pane.conns = [...pane.conns, view.id];
      pane.connId = view.id;
      pane.paused = false;
      this.persist();
    } catch (e) {
      pane.error = toPaneError(e);
      this.noteGlobal(e);
    } finally {
      pane.busy = false;
    }
  }

  async disconnect(pane: PaneState) {
    if (!pane.connId) return;
    try {
      await this.api.close(pane.connId);
    } catch (e) {
      if (!(e instanceof ApiError && (e.code === 'connection_ended' || e.code === 'unknown_connection')))
        pane.error = toPaneError(e);
    }
  }

  /** Shows another of the pane's connections (an earlier run). */
  view(pane: PaneState, id: string) {
    if (pane.conns.includes(id)) {
      pane.connId = id;
      pane.paused = false;
    }
  }
}

export function toPaneError(e: unknown): PaneError {
  if (e instanceof ApiError)
    return { code: e.code, message: e.message, field: e.code === 'invalid_url' ? 'url' : undefined };
  return { code: 'unexpected', message: e instanceof Error ? e.message : String(e) };
}

const KEY = Symbol('app');
export function provideApp(app: App) {
  setContext(KEY, app);
}
export function useApp(): App {
  return getContext<App>(KEY);
}
