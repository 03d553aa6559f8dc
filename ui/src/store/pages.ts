// Rows that have left memory, read back from the server's recording in pages as the
// list scrolls to them. A few dozen pages are kept, least recently used first out, so
// scrolling through a million recorded frames costs a bounded amount of memory.
//
// Requests are few and the newest first: a dragged scrollbar thumb passes over hundreds
// of pages in a second, and fetching each of them would queue hundreds of requests
// (behind the browser's six connections per host, ahead of every other API call) whose
// answers arrive long after the view moved on. So at most `MAX_LOADING` pages are on
// their way, pages asked for since wait in a short queue, the newest is fetched next, and
// the oldest waiting ones are forgotten; the list asks again for what it still shows.

import type { Row } from '../transport/decode';

export type FetchRows = (from: number, limit: number) => Promise<Row[]>;

/** Records per request: a screenful many times over, small enough to arrive quickly. */
export const PAGE_ROWS = 500;
const MAX_PAGES = 64;
/** Requests in flight: the page in view and one more (its neighbour, or the next place
 * the view jumped to). */
export const MAX_LOADING = 2;
/** Pages waiting for a free request. Unfiltered, a screenful spans at most two pages, so
 * the newest few always include what is on screen and older ones are places the view has
 * left. (A filtered screenful may span more; the list asks again each time a page lands,
 * so what was dropped here comes back until every row is shown.) */
export const MAX_WAITING = 4;
/** How close (in rows) to a page's edge the view may come before the next page is
 * fetched ahead, so steady scrolling does not run into "loading…" rows. */
const PREFETCH_ROWS = 100;

export class PageCache {
  private pages = new Map<number, Row[]>();
  private loading = new Set<number>();
  /** Pages asked for and not yet requested, oldest first. */
  private waiting: number[] = [];
  failed: string | null = null;

  constructor(
    private fetchRows: FetchRows,
    private onLoad: () => void,
    private pageRows = PAGE_ROWS,
    private maxPages = MAX_PAGES,
  ) {}

  private pageOf(seq: number): number {
    return Math.floor((seq - 1) / this.pageRows);
  }

  /** The row with `seq` when its page is here; otherwise asks for its page. `lastSeq`,
   * when given, is the newest seq pages may hold, and lets the cache fetch the next
   * page ahead of a view that nears its page's end. */
  get(seq: number, lastSeq?: number): Row | undefined {
    const p = this.pageOf(seq);
    const page = this.pages.get(p);
    if (page) {
      // Refresh its place in the LRU order.
      this.pages.delete(p);
      this.pages.set(p, page);
      const at = seq - 1 - p * this.pageRows;
      const near = Math.min(PREFETCH_ROWS, this.pageRows / 5);
      if (at < near && p > 0) this.prefetch(p - 1);
      // Only a full page is kept (see `load`): the next one must be recorded to its end.
      else if (at >= this.pageRows - near && lastSeq !== undefined && (p + 2) * this.pageRows <= lastSeq)
        this.prefetch(p + 1);
      return page[at];
    }
    this.want(p);
    return undefined;
  }

  private want(p: number) {
    if (this.loading.has(p)) return;
    const i = this.waiting.indexOf(p);
    if (i >= 0) this.waiting.splice(i, 1);
    this.waiting.push(p);
    if (this.waiting.length > MAX_WAITING) this.waiting.shift();
    this.pump();
  }

  /** Fetches a page ahead only when nothing the view needs now is waiting. */
  private prefetch(p: number) {
    if (this.pages.has(p) || this.loading.has(p) || this.waiting.length || this.loading.size >= MAX_LOADING) return;
    this.load(p);
  }

  private pump() {
    while (this.loading.size < MAX_LOADING && this.waiting.length) {
      const p = this.waiting.pop()!;
      if (!this.pages.has(p)) this.load(p);
    }
  }

  private load(p: number) {
    this.loading.add(p);
    const from = p * this.pageRows + 1;
    this.fetchRows(from, this.pageRows)
      .then((rows) => {
        // A page is complete only when full; a short one (the live end) is not cached,
        // so its later rows are fetched again when needed.
        if (rows.length === this.pageRows) {
          this.pages.set(p, rows);
          while (this.pages.size > this.maxPages) {
            const oldest = this.pages.keys().next().value as number;
            this.pages.delete(oldest);
          }
        }
        this.failed = null;
      })
      .catch((e: Error) => {
        this.failed = e.message;
      })
      .finally(() => {
        this.loading.delete(p);
        this.pump();
        this.onLoad();
      });
  }

  /** Pages on their way or waiting for a request. */
  get pending(): number {
    return this.loading.size + this.waiting.length;
  }
}
