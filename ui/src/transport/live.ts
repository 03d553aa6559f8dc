// The page's side of the live record stream. Only this folder knows that records arrive
// over `/api/live` through a worker; the rest of the UI gets chunks and connection lists.

import type { Chunk } from './decode';
import type { Session } from './session';
import type { ConnListing, ConnView } from './types';

export type LiveState = 'connecting' | 'open' | 'retrying' | 'stopped';

export type ToWorker =
  | { type: 'start'; session: Session; cursors: [string, number][]; watch: string[] }
  | { type: 'watch'; ids: string[]; from: [string, number][] }
  | { type: 'page'; id: number; conn: string; from: number; limit: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'batch'; chunks: Chunk[]; conns?: ConnView[]; list?: ConnListing[] }
  | { type: 'status'; state: LiveState; attempt: number }
  | { type: 'page'; id: number; chunk?: Chunk; error?: string };

export interface LiveHandlers {
  chunks(chunks: Chunk[]): void;
  /** The watched connections with their counts. */
  conns(views: ConnView[]): void;
  /** Every connection the server holds, when that list changed. */
  list?(entries: ConnListing[]): void;
  status(state: LiveState, attempt: number): void;
}

export class LiveFeed {
  private worker: Worker;
  private pages = new Map<number, { resolve: (c: Chunk) => void; reject: (e: Error) => void }>();
  private nextPage = 1;

  constructor(
    private session: Session,
    handlers: LiveHandlers,
  ) {
    this.worker = new Worker(new URL('./live.worker.ts', import.meta.url), { type: 'module', name: 'sscope-live' });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const msg = ev.data;
      if (msg.type === 'batch') {
        if (msg.chunks.length) handlers.chunks(msg.chunks);
        if (msg.conns) handlers.conns(msg.conns);
        if (msg.list) handlers.list?.(msg.list);
      } else if (msg.type === 'page') {
        const p = this.pages.get(msg.id);
        this.pages.delete(msg.id);
        if (msg.chunk) p?.resolve(msg.chunk);
        else p?.reject(new Error(msg.error ?? 'the page could not be read'));
      } else handlers.status(msg.state, msg.attempt);
    };
    this.worker.onerror = () => {
      handlers.status('stopped', 0);
      this.failPages('the live feed stopped');
    };
  }

  /** Records `from…` (at most `limit`) of a connection's recording, fetched and decoded
   * by the worker: a page of 500 records is ~100 kB of JSON, and parsing it here would
   * take the UI thread milliseconds per page while a list scrolls through them. */
  page(conn: string, from: number, limit: number): Promise<Chunk> {
    const id = this.nextPage++;
    return new Promise((resolve, reject) => {
      this.pages.set(id, { resolve, reject });
      this.post({ type: 'page', id, conn, from, limit });
    });
  }

  private failPages(why: string) {
    for (const p of this.pages.values()) p.reject(new Error(why));
    this.pages.clear();
  }

  /** Starts streaming. `cursors`: the last seq already held per connection (records
   * after it arrive); `watch`: the connections whose records and counts the page wants
   * (the server sends no others). */
  start(cursors: Map<string, number>, watch: Iterable<string>) {
    this.post({ type: 'start', session: this.session, cursors: [...cursors], watch: [...watch] });
  }

  /** Replaces the watched set: connections that join stream from the page's cursor for
   * them, else from `from` (the last seq the page holds of a connection it attaches), else
   * from their first record; those that leave stop. */
  watch(ids: Iterable<string>, from: ReadonlyMap<string, number> = new Map()) {
    // Copies: `ids` may be a Svelte state proxy, which a worker message cannot carry.
    this.post({ type: 'watch', ids: [...ids], from: [...from] });
  }

  stop() {
    this.post({ type: 'stop' });
    this.worker.terminate();
    this.failPages('the live feed stopped');
  }

  private post(msg: ToWorker) {
    this.worker.postMessage(msg);
  }
}
