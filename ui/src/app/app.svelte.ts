// The composition root: builds the API client, the store, the live link and the panes
// for one window, starts them in order, and gives views one object (from context) whose
// methods they call and whose `tick` moves at most once per animation frame. It also
// keeps the small window-wide state no module owns: the demo list, the theme and whether
// the labs panel or the library menu is open. The jobs themselves are the modules': panes
// (pane lifecycle), live (records in), workspace (what outlives the window), library
// (recorded sessions, import and export), labs (lab runs).

import { getContext, setContext } from 'svelte';
import { ChartSettings, SystemTheme } from '../chart/state.svelte';
import type { Proto } from '../contract';
import type { Host } from '../host';
import { RING_ROWS, Store } from '../store/log';
import { Api } from '../transport/api';
import type { Row } from '../transport/decode';
import { LiveFeed, type LiveState } from '../transport/live';
import { readSession, serverHost, type Session } from '../transport/session';
import type {
  ConnListing,
  ConnState,
  ConnView,
  DemoListing,
  LabConn,
  SearchPage,
  SearchRequest,
} from '../transport/types';
import { Labs } from '../labs/session.svelte';
import { Library, requestFrom } from './library.svelte';
import { Collections } from './collections.svelte';
import { resolveConfig } from '../store/vars';
import { Live } from './live.svelte';
import type { PaneState } from './pane.svelte';
import { Panes } from './panes.svelte';
import { Taps } from './taps.svelte';
import { restoreTheme, saveTheme, type Theme } from './workspace';

export class App {
  readonly session: Session;
  readonly api: Api;
  readonly store: Store;
  readonly host: Host;
  /** The rate charts' settings and each pane's colour. */
  readonly chart: ChartSettings;
  private readonly live: Live;
  private readonly lifecycle: Panes;
  private readonly system = new SystemTheme();
  /** The labs: their list, the claims and the run shown. */
  readonly labs: Labs;
  /** The session library: recorded and imported sessions. */
  readonly library: Library;
  /** Saved connections, collections and environments. */
  readonly saved: Collections;
  /** Reverse taps: another app's traffic, relayed and recorded. */
  readonly taps: Taps;

  /** Moves once per animation frame in which the store changed. */
  tick = $state(0);
  demos: DemoListing[] = $state([]);
  theme: Theme = $state('system');
  /** The labs panel beside the panes. */
  labsOpen = $state(false);
  /** The library menu under the top bar. */
  libraryOpen = $state(false);
  /** The saved-connections menu and the environments editor. */
  savedOpen = $state(false);
  envEditorOpen = $state(false);
  /** The Tap panel beside the panes. */
  tapOpen = $state(false);
  /** A pane to scroll into view (the newest a lab run opened); the view clears it. */
  reveal: string | null = $state(null);

  constructor(host: Host, session: Session = readSession()) {
    this.host = host;
    this.session = session;
    this.api = new Api(session);
    this.store = new Store(RING_ROWS);
    this.store.subscribe(() => this.tick++);
    this.chart = new ChartSettings(host.storage);
    this.live = new Live(this.store, this.api, (handlers) => new LiveFeed(session, handlers));
    this.lifecycle = new Panes({
      api: this.api,
      store: this.store,
      storage: host.storage,
      live: this.live,
      demoUrl: (path, proto) => this.demoUrl(path, proto),
      resolve: (c) => resolveConfig(c, this.saved.lookup()),
    });
    this.library = new Library(this.api, host, this.lifecycle);
    this.saved = new Collections(this.api, host, this.lifecycle, () => this.demoUrl('/demo/ws/ticker', 'ws'));
    this.taps = new Taps({ api: this.api, attach: (view) => void this.lifecycle.attach(view) });
    this.theme = restoreTheme(host.storage);
    const page = new URL(session.base);
    this.labs = new Labs({
      api: this.api,
      page: { host: page.hostname, port: page.port },
      showConns: (conns) => this.showLabConns(conns),
      closePanes: async (ids) => {
        for (const id of ids) await this.lifecycle.close(id);
      },
      note: (e) => this.live.note(e),
    });
  }

  /** Opens a pane on each connection a lab run opened, named for its part in the lab
   * when the server gave it no name (the charts' legends read the server's name). */
  private async showLabConns(conns: LabConn[]): Promise<string[]> {
    const views = await this.api.list();
    const ids: string[] = [];
    for (const c of conns) {
      const view = views.find((v) => v.id === c.id);
      if (!view) continue;
      const pane = this.lifecycle.attach(view);
      ids.push(pane.id);
      if (!view.name) {
        pane.config.name = c.role;
        void this.lifecycle.rename(pane);
      }
    }
    // The run's panes come after those already open, often past the right edge: scroll
    // to the newest, which shows it and as many of the run's earlier ones as fit.
    if (ids.length) this.reveal = ids[ids.length - 1];
    return ids;
  }

  /** Opens or closes the Tap panel. */
  toggleTap(open = !this.tapOpen) {
    this.tapOpen = open;
    if (open) void this.taps.refresh();
  }

  /** Opens or closes the labs panel; the list is fetched the first time it opens. */
  toggleLabs(open = !this.labsOpen) {
    this.labsOpen = open;
    if (open && !this.labs.catalogue && !this.labs.loading) void this.labs.load();
  }

  /** Restores the workspace (or opens the two demo panes), re-attaches panes to
   * connections the server still has, and starts the live feed. The panes are there
   * before the first `await`, so a render right after the call already has them. */
  async start() {
    this.lifecycle.restore();
    // The library says which session the server records into: a different one from the
    // workspace's means the server restarted, and the panes' connections are gone.
    const lib = await this.library.refresh();
    const now = lib?.recording ?? null;
    await this.live.start(this.lifecycle.list, { saved: this.lifecycle.recording, now });
    if (lib) this.lifecycle.recording = now;
    this.library.describeEarlier(this.lifecycle.list);
    // Taps started before a reload keep running on the server: show their notice.
    void this.taps.refresh();
    this.lifecycle.persist();
    // The environment switcher needs the environments at once.
    void this.saved.refresh();
    this.api.demos().then(
      (d) => (this.demos = d),
      () => {},
    );
  }

  stop() {
    this.live.stop();
  }

  /** `127.0.0.1:PORT`: where the demo endpoints are. */
  get serverHost(): string {
    return serverHost(this.session);
  }

  demoUrl(path: string, proto: Proto): string {
    return `${proto === 'ws' ? 'ws' : 'http'}://${this.serverHost}${path}`;
  }

  // The live link's state, for the top bar and the banner.
  get liveState(): LiveState {
    return this.live.state;
  }
  get liveAttempt(): number {
    return this.live.attempt;
  }
  /** Set when the server refuses our token: nothing works until the page is reopened. */
  get authProblem(): string | null {
    return this.live.authProblem;
  }

  /** Rows `from…` (at most `limit`) of a connection's recording. */
  records(id: string, from: number, limit: number): Promise<Row[]> {
    return this.live.records(id, from, limit);
  }

  /** A page of the server's search of a connection's whole recording. */
  search(id: string, r: SearchRequest): Promise<SearchPage> {
    return this.api.search(id, r);
  }

  // The panes, in screen order, and their commands (panes.svelte.ts).
  get panes(): PaneState[] {
    return this.lifecycle.list;
  }
  get activePane(): string | null {
    return this.lifecycle.active;
  }
  set activePane(id: string | null) {
    this.lifecycle.active = id;
  }
  /** Per-pane hooks the keyboard shortcuts call. */
  get hooks() {
    return this.lifecycle.hooks;
  }
  /** Writes the workspace (without secrets) to the host's storage. */
  persist() {
    this.lifecycle.persist();
  }
  addPane(proto: Proto, url?: string): PaneState {
    return this.lifecycle.add(proto, url);
  }
  movePane(id: string, delta: number) {
    this.lifecycle.move(id, delta);
  }
  closePane(id: string): Promise<void> {
    return this.lifecycle.close(id);
  }
  stateOf(pane: PaneState): ConnState | 'idle' {
    return this.lifecycle.stateOf(pane);
  }
  connect(pane: PaneState): Promise<void> {
    return this.lifecycle.connect(pane);
  }
  disconnect(pane: PaneState): Promise<void> {
    return this.lifecycle.disconnect(pane);
  }
  /** Shows another of the pane's connections (an earlier run). */
  view(pane: PaneState, id: string) {
    this.lifecycle.view(pane, id);
  }
  /** Gives the shown connection the pane's name (the charts' legends read it). */
  renameConn(pane: PaneState): Promise<void> {
    return this.lifecycle.rename(pane);
  }
  /** Hides the frames so far from the pane's list; the recording keeps them. */
  clearPane(pane: PaneState) {
    this.lifecycle.clear(pane);
  }
  showAll(pane: PaneState) {
    this.lifecycle.showAll(pane);
  }

  // The session library (library.svelte.ts).
  toggleSaved(open = !this.savedOpen) {
    this.savedOpen = open;
    if (open) {
      this.libraryOpen = false;
      void this.saved.refresh();
    }
  }

  toggleLibrary(open = !this.libraryOpen) {
    this.libraryOpen = open;
    if (open) {
      this.savedOpen = false;
      void this.library.refresh();
    }
  }
  /** Opens a library session in panes and brings the last of them into view. */
  async openSession(id: number): Promise<void> {
    const panes = await this.library.open(id);
    if (panes.length) {
      this.reveal = panes[panes.length - 1].id;
      this.libraryOpen = false;
    }
  }
  /** Connects again with the shown recorded connection's settings; `answers`: the
   * secrets the user typed, used for this request only. */
  connectAgain(pane: PaneState, answers: Record<string, string>): Promise<void> {
    const rec = pane.shownRecording;
    const settings = rec?.settings ?? { url: pane.config.url };
    return this.lifecycle.connectAgain(pane, requestFrom(settings, answers));
  }
  /** Imports files (the picker's or a drop's) one by one; the menu shows the result. */
  async importFiles(files: Iterable<File>): Promise<void> {
    this.libraryOpen = true;
    for (const f of files) await this.library.importFile(f);
  }

  // The server's connections no pane shows (another tab's, or left behind).
  // The live socket streams only what the panes watch, and lists every connection the
  // server holds (`known`) without counts; the details come from the API on request.
  /** In id order, from the live socket's list. */
  get unattached(): ConnListing[] {
    return this.lifecycle.unattached(this.live.known);
  }
  /** Whether `id` is another app's connection seen through a tap (it cannot send). */
  isTapped(id: string | null | undefined): boolean {
    return !!id && this.live.known.some((l) => l.id === id && l.tap === true);
  }
  /** How many connections the server holds. */
  get connCount(): number {
    return this.live.known.length;
  }
  /** The unattached connections with their counts and repeats, asked of the server now. */
  async unattachedViews(): Promise<ConnView[]> {
    return this.lifecycle.unattached(await this.api.list());
  }
  attach(view: ConnView): PaneState {
    return this.lifecycle.attach(view);
  }
  closeUnattached(id: string): Promise<void> {
    return this.lifecycle.closeUnattached(id);
  }
  forgetUnattached(id: string): Promise<void> {
    return this.lifecycle.forgetUnattached(id);
  }

  /** The theme in effect: the chosen one, or the system's. */
  get dark(): boolean {
    return this.theme === 'dark' || (this.theme === 'system' && this.system.dark);
  }

  setTheme(t: Theme) {
    this.theme = t;
    saveTheme(this.host.storage, t);
  }
}

const KEY = Symbol('app');
export function provideApp(app: App) {
  setContext(KEY, app);
}
export function useApp(): App {
  return getContext<App>(KEY);
}
