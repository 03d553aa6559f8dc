// The panes on screen and their lifecycle: adding, ordering, focusing, connecting (and
// connecting again from a recorded connection's settings), disconnecting, renaming,
// clearing the view and closing them, and what closing costs (saved messages, the
// server's recordings). Connections opened from the session library come in through
// `attachRecorded`, read-only. Also the server's connections no pane shows (opened by another
// tab, or left by a closed one): listing them, attaching one to a new pane, closing or
// forgetting it. Each change that should outlive the window is saved through
// `workspace.ts`; the live feed (`live.svelte.ts`) is told the panes' connections, the
// set it streams, whenever that changes, and which failures may mean a refused token.
// Rendering is the views'.

import type { Proto } from '../contract';
import type { KeyValue } from '../host';
import { buildOpen, defaultConfig, type PaneConfig } from '../store/config';
import type { Resolved } from '../store/vars';
import { RING_ROWS, type Store } from '../store/log';
import { deleteSaved, forgetPane, loadSaved } from '../store/saved';
import { ApiError, type Api } from '../transport/api';
import type { ConnState, ConnView, OpenRequest } from '../transport/types';
import type { Live } from './live.svelte';
import { newPaneId, PaneState, toPaneError, type RecordedConn } from './pane.svelte';
import { restoreWorkspace, saveWorkspace, type DemoUrl } from './workspace';

/** What pane commands ask of the control API. */
export type PaneApi = Pick<Api, 'open' | 'close' | 'closeAndForget' | 'rename'>;

export interface PanesDeps {
  api: PaneApi;
  store: Store;
  storage: KeyValue;
  live: Pick<Live, 'watch' | 'note'>;
  demoUrl: DemoUrl;
  /** Puts the environment's `{{name}}` variables into settings before they are sent;
   * settings are sent as they are without it. */
  resolve?: (c: PaneConfig) => Resolved;
}

export class Panes {
  /** In screen order. */
  list: PaneState[] = $state([]);
  /** The pane keyboard shortcuts act on. */
  active: string | null = $state(null);
  /** Per-pane hooks the keyboard shortcuts call. */
  readonly hooks = new Map<string, { focusUrl(): void; send(): void }>();
  /** Connections this window asked the server to forget: hidden from the unattached
   * list while their close completes. Not state: views redraw on the store's tick. */
  private readonly forgetting = new Set<string>();
  /** The library session the server records into: saved with the workspace, so panes
   * restored after a restart know where their connections went. `null` when unknown. */
  recording: number | null = null;

  constructor(private readonly deps: PanesDeps) {}

  /** Puts back the saved workspace, or the two demo panes. */
  restore() {
    const w = restoreWorkspace(this.deps.storage, this.deps.demoUrl);
    this.list = w.panes;
    this.active = w.active;
    this.recording = w.recording ?? null;
  }

  /** Writes the workspace (without secrets) to the host's storage. */
  persist() {
    saveWorkspace(this.deps.storage, { panes: this.list, active: this.active, recording: this.recording });
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

  /** A new pane with a saved connection's settings, connected at once. */
  async openWith(config: PaneConfig, saved: { collection: string; item: string }): Promise<PaneState> {
    const pane = new PaneState(newPaneId(), config);
    pane.savedAs = saved;
    this.list = [...this.list, pane];
    this.active = pane.id;
    this.persist();
    await this.connect(pane);
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

  /** Removes the pane with its saved messages and has the server close each of its
   * connections properly and forget it once the close completes. */
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
      this.forgetting.add(c);
      store.drop(c);
      // The server waits for the close handshake (or its close deadline) before it
      // forgets; nothing here waits. One already forgotten is gone, as asked.
      await api.closeAndForget(c).catch(() => {});
    }
  }

  /** The server's connections no pane shows, in id order (the server's): from the live
   * socket's list (for a count) or the API's views (for the details). */
  unattached<T extends { id: string }>(views: readonly T[]): T[] {
    const shown = new Set(this.list.flatMap((p) => p.conns));
    const listed = new Set(views.map((v) => v.id));
    // A restarted server reuses ids: forget what it no longer lists.
    for (const id of this.forgetting) if (!listed.has(id)) this.forgetting.delete(id);
    return views.filter((v) => !shown.has(v.id) && !this.forgetting.has(v.id));
  }

  /** Opens a new pane on a connection no pane shows, and streams its records from the
   * start (its newest ring's worth; older ones page from the server when scrolled to). */
  attach(view: ConnView): PaneState {
    return this.show(view);
  }

  /** Shows a connection of a session opened from the library, read-only: in `into` (the
   * pane that showed it before a restart) or in a new pane. The pane takes the recorded
   * settings (URL, name) so "Connect again" and its URL bar say what was recorded. */
  attachRecorded(view: ConnView, rec: RecordedConn, into?: PaneState): PaneState {
    return this.show(view, rec, into);
  }

  private show(view: ConnView, rec?: RecordedConn, into?: PaneState): PaneState {
    const existing = this.list.find((p) => p.conns.includes(view.id));
    if (existing) {
      if (rec) existing.recorded = { ...existing.recorded, [view.id]: rec };
      this.view(existing, view.id);
      this.active = existing.id;
      return existing;
    }
    const pane = into && this.list.includes(into) ? into : new PaneState(newPaneId(), defaultConfig(view.url));
    if (pane !== into) pane.config.name = view.name;
    if (rec) {
      pane.recorded = { ...pane.recorded, [view.id]: rec };
      pane.earlier = null;
      if (rec.settings?.url) pane.config.url = rec.settings.url;
    }
    pane.conns = [...pane.conns, view.id];
    pane.connId = view.id;
    pane.paused = false;
    pane.connUrls.set(view.id, view.url);
    const from = Math.max(0, view.last_seq - RING_ROWS);
    const log = this.deps.store.ensure(view.id, view.proto);
    log.applyView(view);
    log.lastSeq = from;
    if (pane !== into) this.list = [...this.list, pane];
    this.watchPanes(new Map([[view.id, from]]));
    this.active = pane.id;
    this.persist();
    return pane;
  }

  /** Closes a connection no pane shows (the close handshake); its recording stays. */
  async closeUnattached(id: string) {
    try {
      await this.deps.api.close(id);
    } catch (e) {
      this.deps.live.note(e);
    }
  }

  /** Closes a connection no pane shows and has the server forget it once closed. */
  async forgetUnattached(id: string) {
    this.forgetting.add(id);
    this.deps.store.drop(id);
    try {
      await this.deps.api.closeAndForget(id);
    } catch (e) {
      this.deps.live.note(e);
    }
  }

  /** Tells the live feed the connections the panes hold: what it streams. `from`: where
   * a newly attached connection starts. */
  private watchPanes(from?: ReadonlyMap<string, number>) {
    this.deps.live.watch(
      this.list.flatMap((p) => p.conns),
      from,
    );
  }

  stateOf(pane: PaneState): ConnState | 'idle' {
    if (!pane.connId) return 'idle';
    return this.deps.store.get(pane.connId)?.view?.state ?? 'connecting';
  }

  /** Opens a new connection from the pane's settings and shows it; invalid settings or a
   * refusal become the pane's error. */
  async connect(pane: PaneState) {
    const resolved = this.deps.resolve ? this.deps.resolve(pane.config) : { ok: true as const, config: pane.config };
    if (!resolved.ok) {
      pane.error = { code: 'invalid_input', message: resolved.message, field: resolved.field };
      return;
    }
    const built = buildOpen(resolved.config);
    if (!built.ok) {
      pane.error = { code: 'invalid_input', message: built.message, field: built.field };
      return;
    }
    // The inspector shows what was asked, a secret header's value masked like the token.
    const secret = new Set(resolved.config.headers.filter((h) => h.secret).map((h) => h.name.trim().toLowerCase()));
    await this.openIn(pane, built.request, secret);
  }

  /** Opens a new live connection with a recorded connection's settings, the secrets the
   * user typed put back in (`requestFrom`); the pane shows it, the recorded one stays in
   * its list of connections. */
  async connectAgain(pane: PaneState, request: OpenRequest) {
    await this.openIn(pane, request);
  }

  private async openIn(pane: PaneState, request: OpenRequest, secretHeaders: ReadonlySet<string> = new Set()) {
    pane.busy = true;
    pane.error = null;
    try {
      const view = await this.deps.api.open(request);
      const log = this.deps.store.ensure(view.id, view.proto);
      log.applyView(view);
      const { bearer: _b, basic: _a, ...shown } = request;
      pane.requests.set(view.id, {
        ...shown,
        headers: [
          ...shown.headers.map(([n, v]): [string, string] => [n, secretHeaders.has(n.toLowerCase()) ? '••••••' : v]),
          ...(request.bearer ? ([['Authorization', 'Bearer ••••••']] as [string, string][]) : []),
          ...(request.basic ? ([['Authorization', 'Basic ••••••']] as [string, string][]) : []),
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

  /** Starts the pane's view of its shown connection afresh: frames recorded so far are
   * hidden from the list, not deleted (the recording, its export and the server's
   * search keep them; `showAll` brings them back). */
  clear(pane: PaneState) {
    const id = pane.connId;
    if (!id) return;
    pane.cleared = { ...pane.cleared, [id]: this.deps.store.get(id)?.lastSeq ?? 0 };
    this.persist();
  }

  /** Undoes `clear`: the view shows the whole recording again. */
  showAll(pane: PaneState) {
    const id = pane.connId;
    if (!id || !(id in pane.cleared)) return;
    const { [id]: _gone, ...rest } = pane.cleared;
    pane.cleared = rest;
    this.persist();
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
