// What a frame list shows for one connection: rows by index, from the ring when they are
// in memory, from the server's pages otherwise, through the pane's filter when one is
// set. A paused view stops at the seq it was paused on while records keep arriving; a
// cleared view starts after the seq it was cleared at (`floor`), the rows before it
// staying in the recording.

import type { Row } from '../transport/decode';
import { isActive, MatchIndex, MAX_MATCHES, type FilterSpec, type SearchRange } from './filter';
import type { ConnLog } from './log';
import { PageCache, type FetchRows } from './pages';

export class FrameSource {
  readonly pages: PageCache;
  private index: MatchIndex | null = null;
  /** The last seq shown while paused, `null` when live. */
  pausedAt: number | null = null;

  /** `search` lets a text filter have the server match arriving rows whose payload is
   * longer than their preview; without it they are matched on the preview. */
  /** `floor`: the last seq before the pane's Clear; the view shows later rows only. */
  constructor(
    readonly log: ConnLog,
    fetchRows: FetchRows,
    private onLoad: () => void,
    private search?: SearchRange,
    private onSearchError?: (e: unknown) => void,
    readonly floor = 0,
  ) {
    this.pages = new PageCache(fetchRows, onLoad);
  }

  setFilter(spec: FilterSpec) {
    this.index?.dispose();
    const server = this.search ? { search: this.search, onChange: this.onLoad, onError: this.onSearchError } : null;
    this.index = isActive(spec) ? new MatchIndex(spec, this.log, MAX_MATCHES, server, this.floor) : null;
  }

  get filter(): MatchIndex | null {
    return this.index;
  }

  dispose() {
    this.index?.dispose();
  }

  /** The newest seq the view may show. */
  get limitSeq(): number {
    return this.pausedAt ?? this.log.lastSeq;
  }

  get count(): number {
    const limit = this.limitSeq;
    if (!this.index) return Math.max(0, limit - this.floor);
    return this.pausedAt === null ? this.index.count : this.index.countUpTo(limit);
  }

  /** Rows that arrived after the pause. */
  get heldBack(): number {
    if (this.pausedAt === null) return 0;
    if (!this.index) return this.log.lastSeq - this.pausedAt;
    return this.index.count - this.index.countUpTo(this.pausedAt);
  }

  seqAt(i: number): number {
    return this.index ? this.index.seqAt(i) : this.floor + i + 1;
  }

  /** The index of the row with `seq`, or of the next one shown after it. */
  indexOfSeq(seq: number): number {
    return this.index ? this.index.indexOf(seq) : Math.max(0, seq - this.floor - 1);
  }

  rowAt(i: number): Row | undefined {
    return this.rowOfSeq(this.seqAt(i));
  }

  /** The row with `seq`: from the ring, or from the server's pages (loading it, and
   * `undefined` until it arrives). */
  rowOfSeq(seq: number): Row | undefined {
    const ring = this.log.ring;
    const k = ring.find(seq);
    if (k >= 0) return ring.row(k);
    return this.pages.get(seq, this.log.lastSeq);
  }
}
