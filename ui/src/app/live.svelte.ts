// The page's link to the server's record stream: at start, which connections each pane
// still has on the server (and, for those gone with a restart, which library session
// kept them) and from which seq to stream them; the live feed (transport/
// live) with its batches applied to the store; the feed's state for the top bar; every
// connection the server holds (`known`, shown or not); and whether the server refuses
// this window. How records travel (socket, worker, resume cursors) is transport's; what
// views read is the store's; opening and closing connections is `panes.svelte.ts`'s,
// which tells this module the panes' connections: the set the feed watches.

import { RING_ROWS, type Store } from '../store/log';
import { ApiError, type Api } from '../transport/api';
import { rowOf, rowsOf, type Row } from '../transport/decode';
import type { LiveFeed, LiveHandlers, LiveState } from '../transport/live';
import type { ConnListing, ConnView } from '../transport/types';
import type { PaneState } from './pane.svelte';

/** What this module asks of the control API. */
export type LiveApi = Pick<Api, 'list' | 'records'>;
/** The live feed as used here; `LiveFeed` in the page, a stand-in in tests. */
export type Feed = Pick<LiveFeed, 'start' | 'watch' | 'page' | 'stop'>;
export type OpenFeed = (handlers: LiveHandlers) => Feed;

export interface Subscription {
  /** The last seq already held per connection: the feed sends what follows. */
  cursors: Map<string, number>;
  /** The connections the panes show: the only ones streamed. */
  watch: string[];
}

/** Which library session recorded the workspace's connections (`saved`, from the
 * workspace) and which one the server records into now (`now`, from its library); either
 * `null` when unknown (an older workspace, a memory-only server). */
export interface Recording {
  saved: number | null;
  now: number | null;
}

/** Re-attaches panes restored from an earlier page to the server's connections `views`,
 * fills the store with the ones kept, and says where the feed starts for every
 * connection. A pane keeps a connection only if the server still has it with the same
 * URL, and only if the server was not restarted since (it records into another library
 * session now: a restarted server reuses ids, even with the same URL); it then shows its
 * newest one. A pane left with none says where they went (`earlier`): the library
 * session that recorded the one it showed, and the ids they had there. */
export function reattach(
  panes: readonly PaneState[],
  views: ConnView[],
  store: Store,
  recording: Recording = { saved: null, now: null },
): Subscription {
  const byId = new Map(views.map((v) => [v.id, v]));
  const cursors = new Map<string, number>();
  const wanted = new Set<string>();
  const restarted = recording.saved !== null && recording.now !== null && recording.saved !== recording.now;
  for (const pane of panes) {
    const before = pane.conns;
    pane.conns = restarted ? [] : before.filter((id) => byId.has(id) && byId.get(id)?.url === pane.connUrls.get(id));
    const gone = before.filter((id) => !pane.conns.includes(id));
    if (gone.length && !pane.conns.length) {
      // The one it showed last says which session to offer; its siblings from that same
      // session come along when it is opened.
      const last = pane.recorded[gone[gone.length - 1]];
      const session = last ? last.session : recording.saved;
      const ids = gone.flatMap((id) => {
        const r = pane.recorded[id];
        if (r) return r.session === session ? [r.recordedAs] : [];
        return session === recording.saved ? [id] : [];
      });
      pane.earlier = { session, conns: ids };
    }
    for (const id of gone) {
      delete pane.recorded[id];
      delete pane.cleared[id];
    }
    pane.connId = pane.conns.length ? pane.conns[pane.conns.length - 1] : null;
    for (const id of pane.conns) {
      const v = byId.get(id)!;
      wanted.add(id);
      const log = store.ensure(id, v.proto);
      log.applyView(v);
      // The shown connection streams its newest ring's worth; the others start at their
      // end, their past read from the server when scrolled to.
      const from = id === pane.connId ? Math.max(0, v.last_seq - RING_ROWS) : v.last_seq;
      cursors.set(id, from);
      log.lastSeq = from;
    }
  }
  if (views.length) store.applyConns(views.filter((v) => wanted.has(v.id)));
  return { cursors, watch: [...wanted] };
}

export class Live {
  state: LiveState = $state('connecting');
  /** Failed attempts in a row while `retrying`. */
  attempt = $state(0);
  /** Set when the server refuses our token: nothing works until the page is reopened. */
  authProblem: string | null = $state(null);
  /** Every connection the server holds, whether a pane shows it or not, as of the feed's
   * last `list`. */
  known: ConnListing[] = $state([]);
  private feed: Feed | null = null;

  constructor(
    private readonly store: Store,
    private readonly api: LiveApi,
    private readonly openFeed: OpenFeed,
  ) {}

  /** Lists the server's connections, re-attaches `panes` to theirs (see `reattach`) and
   * starts the feed. A failed listing starts the feed with no connection kept. */
  async start(panes: readonly PaneState[], recording?: Recording) {
    let views: ConnView[] = [];
    try {
      views = await this.api.list();
    } catch (e) {
      this.note(e);
    }
    const { cursors, watch } = reattach(panes, views, this.store, recording);
    this.feed = this.openFeed({
      chunks: (c) => this.store.apply(c),
      conns: (v) => this.store.applyConns(v),
      list: (l) => (this.known = l),
      status: (s, attempt) => {
        this.state = s;
        this.attempt = attempt;
        if (s === 'retrying' && attempt >= 2) void this.probe();
        if (s === 'open') this.authProblem = null;
      },
    });
    this.feed.start(cursors, watch);
  }

  stop() {
    this.feed?.stop();
  }

  /** Streams exactly these connections (the panes'): records and counts of others stay
   * on the server. `from`: for a connection a pane attaches, the last seq it already
   * holds (records after it come). */
  watch(ids: Iterable<string>, from?: ReadonlyMap<string, number>) {
    this.feed?.watch(ids, from);
  }

  /** Rows `from…` (at most `limit`) of a connection's recording: decoded in the live
   * feed's worker once it runs, so scrolling back does not parse JSON on the UI thread. */
  async records(id: string, from: number, limit: number): Promise<Row[]> {
    if (this.feed) return rowsOf(await this.feed.page(id, from, limit));
    return (await this.api.records(id, from, limit)).records.map(rowOf);
  }

  /** Takes note of a failed API call: a refused token, origin or host means nothing will
   * work from this window; a server that does not answer says nothing about the token. */
  note(e: unknown) {
    if (!(e instanceof ApiError)) return;
    if (e.code === 'unauthorized' || e.code === 'bad_origin' || e.code === 'bad_host') this.authProblem = e.message;
    else if (e.code === 'unreachable') this.authProblem = null;
  }

  /** When the live socket keeps failing, asks the API why (a WebSocket handshake cannot
   * tell us). */
  private async probe() {
    try {
      await this.api.list();
    } catch (e) {
      this.note(e);
    }
  }
}
