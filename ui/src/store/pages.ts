// Rows that have left memory, read back from the server's recording in pages as the
// list scrolls to them. A few dozen pages are kept, least recently used first out, so
// scrolling through a million recorded frames costs a bounded amount of memory.

import type { Row } from '../transport/decode';

export type FetchRows = (from: number, limit: number) => Promise<Row[]>;

/** Records per request: a screenful many times over, small enough to arrive quickly. */
export const PAGE_ROWS = 500;
const MAX_PAGES = 64;

export class PageCache {
  private pages = new Map<number, Row[]>();
  private loading = new Set<number>();
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

  /** The row with `seq` when its page is here; otherwise starts loading it. */
  get(seq: number): Row | undefined {
    const p = this.pageOf(seq);
    const page = this.pages.get(p);
    if (page) {
      // Refresh its place in the LRU order.
      this.pages.delete(p);
      this.pages.set(p, page);
      return page[seq - 1 - p * this.pageRows];
    }
    this.load(p);
    return undefined;
  }

  private load(p: number) {
    if (this.loading.has(p)) return;
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
        this.onLoad();
      });
  }

  get pending(): number {
    return this.loading.size;
  }
}
