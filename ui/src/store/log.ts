// The store: what the UI holds of every connection, keyed by `conn`. Each connection's
// log only grows (records arrive in seq order and are never changed); its newest rows
// sit in a bounded ring, the rest stay on the server. Views read the store and are told
// to render once per animation frame, however many batches arrived in between.

import type { Proto } from '../contract';
import type { Chunk } from '../transport/decode';
import type { ConnView } from '../transport/types';
import { Ring } from './ring';

/** Rows kept in memory per connection. 20,000 rows cost a few MB and cover every
 * screenful a live view shows; scroll-back beyond them pages from the server. */
export const RING_ROWS = 20_000;

export type AppendListener = (log: ConnLog) => void;

export class ConnLog {
  readonly ring: Ring;
  /** The last seq received; rows 1..lastSeq exist (older ones on the server). */
  lastSeq = 0;
  /** Bumped on every change; views compare it to know when to redraw. */
  version = 0;
  view: ConnView | null = null;
  private listeners = new Set<AppendListener>();

  constructor(
    readonly id: string,
    public proto: Proto,
    ringRows = RING_ROWS,
  ) {
    this.ring = new Ring(ringRows);
  }

  append(c: Chunk) {
    if (!c.n) return;
    this.ring.append(c);
    this.lastSeq = Math.max(this.lastSeq, c.seq[c.n - 1]);
    this.version++;
    // Listeners (filter indexes) see every row while it is still in the ring, even when
    // no frame is drawn (hidden tab).
    for (const l of this.listeners) l(this);
  }

  applyView(v: ConnView) {
    this.view = v;
    this.proto = v.proto;
    this.version++;
  }

  listen(l: AppendListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

export class Store {
  readonly logs = new Map<string, ConnLog>();
  /** Connections whose views arrived: the server's whole list, ours or not. */
  views: ConnView[] = [];
  private frame = 0;
  private subscribers = new Set<() => void>();

  constructor(
    private ringRows = RING_ROWS,
    private schedule: (fn: () => void) => number = (fn) => requestAnimationFrame(fn),
  ) {}

  get(id: string): ConnLog | undefined {
    return this.logs.get(id);
  }

  ensure(id: string, proto: Proto): ConnLog {
    let log = this.logs.get(id);
    if (!log) this.logs.set(id, (log = new ConnLog(id, proto, this.ringRows)));
    return log;
  }

  apply(chunks: Chunk[]) {
    for (const c of chunks) this.ensure(c.conn, c.proto).append(c);
    this.changed();
  }

  applyConns(views: ConnView[]) {
    this.views = views;
    for (const v of views) this.ensure(v.id, v.proto).applyView(v);
    this.changed();
  }

  /** Drops a forgotten connection's log (the server dropped its recording too). */
  drop(id: string) {
    this.logs.delete(id);
    this.changed();
  }

  /** Calls `fn` at most once per animation frame after changes. */
  subscribe(fn: () => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  private changed() {
    if (this.frame) return;
    this.frame = this.schedule(() => {
      this.frame = 0;
      for (const fn of this.subscribers) fn();
    });
  }
}
