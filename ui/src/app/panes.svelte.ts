// The panes on screen and their lifecycle: adding, ordering, focusing, connecting,
// disconnecting, renaming and closing them, and what closing costs (saved messages, the
// server's recordings). Each change that should outlive the window is saved through
// `workspace.ts`; the live feed (`live.svelte.ts`) is told the panes' connections, the
// set it streams, whenever that changes, and which failures may mean a refused token. Rendering is the views'.

import type { Proto } from '../contract';
import type { KeyValue } from '../host';
import { buildOpen, defaultConfig } from '../store/config';
import type { Store } from '../store/log';
import { deleteSaved, forgetPane, loadSaved } from '../store/saved';
import { ApiError, type Api } from '../transport/api';
import type { ConnState } from '../transport/types';
import type { Live } from './live.svelte';
import { isLive, newPaneId, PaneState, toPaneError } from './pane.svelte';
import { restoreWorkspace, saveWorkspace, type DemoUrl } from './workspace';

/** What pane commands ask of the control API. */
export type PaneApi = Pick<Api, 'open' | 'close' | 'forget' | 'rename'>;

/** How long a closed pane's connections keep their recordings after the close was
 * asked for, so a WebSocket close handshake can finish before `forget` cancels it. */
export const FORGET_AFTER_MS = 1500;

export interface PanesDeps {
  api: PaneApi;
  store: Store;
  storage: KeyValue;
  live: Pick<Live, 'watch' | 'note'>;
  demoUrl: DemoUrl;
}

export class Panes {
  /** In screen order. */
  list: PaneState[] = $state([]);
  /** The pane keyboard shortcuts act on. */
  active: string | null = $state(null);
  /** Per-pane hooks the keyboard shortcuts call. */
  readonly hooks = new Map<string, { focusUrl(): void; send(): void }>();

  constructor(private readonly deps: PanesDeps) {}

  /** Puts back the saved workspace, or the two demo panes. */
  restore() {
    const w = restoreWorkspace(this.deps.storage, this.deps.demoUrl);
    this.list = w.panes;
    this.active = w.active;
  }

  /** Writes the workspace (without secrets) to the host's storage. */
  persist() {
    saveWorkspace(this.deps.storage, { panes: this.list, active: this.active });
  }

  add(proto: Proto, url?: string): PaneState {
    const pane = new PaneState(
      newPaneId(),
      defaultConfig(url ?? this.deps.demoUrl(proto === 'ws' ? '/demo/ws/echo' : '/demo/sse/ticker', proto)),
    );
    this.list = [...this.list, pane];
    this.active = pane.id;
    this.persist();
    return pane;
  }

  move(id: string, delta: number) {
    const i = this.list.findIndex((p) => p.id === id);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= this.list.length) return;
    const next = [...this.list];
    [next[i], next[j]] = [next[j], next[i]];
    this.list = next;
    this.persist();
  }

  /** Removes the pane with its saved messages, closes its live connections and, after
   * `FORGET_AFTER_MS`, has the server forget all of them. */
  async close(id: string) {
    const { api, store, storage } = this.deps;
    const pane = this.list.find((p) => p.id === id);
    if (!pane) return;
    this.list = this.list.filter((p) => p.id !== id);
    if (this.active === id) this.active = this.list[0]?.id ?? null;
    this.hooks.delete(id);
    for (const m of loadSaved(storage, id)) deleteSaved(storage, id, m.name);
    forgetPane(storage, id);
    this.persist();
    this.watchPanes();
    for (const c of pane.conns) {
      // Close properly first (a WebSocket close handshake), then drop the recording.
      if (isLive(store.get(c)?.view?.state)) await api.close(c).catch(() => {});
      setTimeout(() => {
        api.forget(c).catch(() => {});
        store.drop(c);
      }, FORGET_AFTER_MS);
    }
  }

  /** Tells the live feed the connections the panes hold: what it streams. */
  private watchPanes() {
    this.deps.live.watch(this.list.flatMap((p) => p.conns));
  }

  stateOf(pane: PaneState): ConnState | 'idle' {
    if (!pane.connId) return 'idle';
    return this.deps.store.get(pane.connId)?.view?.state ?? 'connecting';
  }

  /** Opens a new connection from the pane's settings and shows it; invalid settings or a
   * refusal become the pane's error. */
  async connect(pane: PaneState) {
    const built = buildOpen(pane.config);
    if (!built.ok) {
      pane.error = { code: 'invalid_input', message: built.message, field: built.field };
      return;
    }
    pane.busy = true;
    pane.error = null;
    try {
      const view = await this.deps.api.open(built.request);
      const log = this.deps.store.ensure(view.id, view.proto);
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
      this.watchPanes();
    } catch (e) {
      pane.error = toPaneError(e);
      this.deps.live.note(e);
    } finally {
      pane.busy = false;
    }
  }

  async disconnect(pane: PaneState) {
    if (!pane.connId) return;
    try {
      await this.deps.api.close(pane.connId);
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

  /** Gives the shown connection the pane's name (the charts' legends read it). */
  async rename(pane: PaneState) {
    const id = pane.connId;
    if (!id) return;
    try {
      const v = await this.deps.api.rename(id, pane.config.name.trim());
      this.deps.store.get(id)?.applyView(v);
    } catch (e) {
      // A forgotten connection has no name to keep; anything else is worth showing.
      if (!(e instanceof ApiError && e.code === 'unknown_connection')) pane.error = toPaneError(e);
    }
  }
}
