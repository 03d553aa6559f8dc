// Filters of a pane's frame list (kinds, directions, search text) and the index of the
// rows that match. The index keeps only seq numbers (8 bytes a match), so it outlives
// the ring: rows that arrive while the filter is set are tested as they arrive, and what
// was recorded before is searched on the server (GET …/search, over whole records, not
// the previews held here), a page at a time as the list scrolls towards it. An arriving
// row whose payload is longer than its preview is the server's to match as well: the
// index asks for the range of such rows, a few times a second at most.

import type { Dir, Kind } from '../contract';
import { DIR_CODE, KIND_CODE, PREVIEW_BYTES } from '../transport/decode';
import type { SearchPage } from '../transport/types';
import type { ConnLog } from './log';

export interface FilterSpec {
  /** Kinds shown; empty means all. */
  kinds: Kind[];
  /** Directions shown; empty means all. */
  dirs: Dir[];
  /** Case-insensitive text searched in the preview and note. */
  text: string;
}

export const NO_FILTER: FilterSpec = { kinds: [], dirs: [], text: '' };

export function isActive(f: FilterSpec): boolean {
  return f.kinds.length > 0 || f.dirs.length > 0 || f.text.trim() !== '';
}

export type Predicate = (dir: number, kind: number, preview: string, note: string) => boolean;

export function compile(f: FilterSpec): Predicate {
  const kindMask = f.kinds.length ? f.kinds.reduce((m, k) => m | (1 << KIND_CODE[k]), 0) : -1;
  const dirMask = f.dirs.length ? f.dirs.reduce((m, d) => m | (1 << DIR_CODE[d]), 0) : -1;
  const needle = f.text.trim().toLowerCase();
  return (dir, kind, preview, note) => {
    if (!(kindMask & (1 << kind)) || !(dirMask & (1 << dir))) return false;
    if (!needle) return true;
    return preview.toLowerCase().includes(needle) || note.toLowerCase().includes(needle);
  };
}

function searchText(f: FilterSpec): string {
  return f.text.trim();
}

/** Whether a row's preview holds all the text a search of its record reads, so a text
 * filter may decide on it here. `size` counts payload bytes (UTF-8 for text), never fewer
 * than the characters they encode, so `size ≤ preview length` means nothing was cut; a
 * multi-byte payload that was not cut may be sent to the server needlessly, never the
 * other way. A binary preview is the hex of its first `PREVIEW_BYTES` bytes. Rows without
 * a size (open, close, error, …) are previewed whole. */
export function previewIsWhole(kind: number, size: number, preview: string): boolean {
  if (size < 0) return true;
  if (kind === KIND_CODE.binary) return size <= PREVIEW_BYTES;
  return size <= preview.length;
}

/** Asks the server which records in `after < seq < before` match a filter, newest first
 * (`GET …/search?after=&before=`); `next` is where it stopped, `null` once it reached `after`. */
export type SearchRange = (
  spec: FilterSpec,
  range: { after: number; before: number; limit: number },
) => Promise<Pick<SearchPage, 'matches' | 'next'>>;

/** How long rows wait for the server's verdict after the first of them arrives: at most
 * five requests a second per filtered pane, however fast long frames come, and a match
 * still shows within a fraction of a second. */
export const PENDING_DELAY_MS = 200;

/** Matches one request for the pending range asks for. Short rows in the range that
 * match count towards it too, so a page may end before the oldest pending row; the next
 * page goes on below it. */
export const PENDING_PAGE = 1000;

/** Most matches an index keeps: 8 bytes each, so 16 MB. A filter left on through a long
 * session at 100,000 frames/s would otherwise grow by 800 kB a second; past this the
 * oldest half is forgotten, and those rows count as not searched again ("Search older"
 * finds them on the server). */
export const MAX_MATCHES = 2_000_000;

/** A growable list of numbers. */
class SeqList {
  private a = new Float64Array(256);
  length = 0;
  push(v: number) {
    if (this.length === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = v;
  }
  at(i: number): number {
    return this.a[i];
  }
  /** Removes the first `n`. */
  dropFront(n: number) {
    this.a.copyWithin(0, n, this.length);
    this.length -= n;
  }
  /** Removes the items at `from` … `to - 1`. */
  remove(from: number, to: number) {
    this.a.copyWithin(from, to, this.length);
    this.length -= to - from;
  }
  /** Inserts `v` where it keeps an ascending list ascending (near the end, as a rule). */
  insertSorted(v: number) {
    this.push(v);
    let i = this.length - 1;
    while (i > 0 && this.a[i - 1] > v) {
      this.a[i] = this.a[i - 1];
      i--;
    }
    this.a[i] = v;
  }
  /** The index of the first item ≥ `v` in an ascending list. */
  lowerBound(v: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.a[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** How the index reaches the server for rows it cannot decide from their previews, and
 * tells its list that a verdict came. */
export interface ServerMatch {
  search: SearchRange;
  onChange: () => void;
  /** Where a failed request is reported (the rows stay pending and are asked for again
   * when more arrive). */
  onError?: (e: unknown) => void;
}

/** The seqs of one connection's rows that match a filter, ascending. Older matches found
 * on the server are kept apart (`older`, newest first) so prepending costs nothing. */
export class MatchIndex {
  readonly predicate: Predicate;
  private older = new SeqList();
  private newer = new SeqList();
  /** Every seq from `scannedFrom` to `processedTo` has been tested. */
  scannedFrom: number;
  processedTo: number;
  /** Moves by the number of matches inserted before the first (negative when the oldest
   * were forgotten), so a list can keep its place. */
  prepended = 0;
  private unlisten: () => void;
  /** Arrived rows of the right kind and direction whose text was cut in the preview and
   * did not match it, ascending: the server decides them (`settle`). */
  private pending = new SeqList();
  private readonly textSearch: boolean;
  private settling: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;

  /** `floor`: rows with seq ≤ it are not the view's (a pane's Clear) and are never
   * matched, here or on the server. */
  constructor(
    readonly spec: FilterSpec,
    private log: ConnLog,
    private maxMatches = MAX_MATCHES,
    private server: ServerMatch | null = null,
    readonly floor = 0,
  ) {
    this.predicate = compile(spec);
    const ring = log.ring;
    // Rows in memory carry a preview of their payload only: a text search of what was
    // already received goes to the server, which reads whole records. Kinds and
    // directions are whole in a row, so those are tested here at once.
    const textSearch = searchText(spec) !== '';
    this.textSearch = textSearch;
    this.scannedFrom = Math.max(floor + 1, ring.length && !textSearch ? ring.firstSeq : log.lastSeq + 1);
    this.processedTo = this.scannedFrom - 1;
    this.catchUp();
    this.unlisten = log.listen(() => this.catchUp());
  }

  dispose() {
    this.disposed = true;
    this.unlisten();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Rows waiting for the server's verdict. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Tests the rows that arrived since the last call. */
  catchUp() {
    const ring = this.log.ring;
    if (!ring.length) return;
    let i = ring.find(this.processedTo + 1);
    if (i < 0) {
      // Rows arrived and left memory between two calls (cannot happen while listening:
      // the log calls us per chunk); start over from what is held, and say the rest is
      // unsearched.
      if (this.processedTo + 1 < ring.firstSeq) i = 0;
      else return;
    }
    // Without a way to the server, a cut row is decided on its preview, as before.
    const cutRowsToServer = this.textSearch && this.server !== null;
    const noText = cutRowsToServer ? compile({ ...this.spec, text: '' }) : null;
    for (; i < ring.length; i++) {
      const seq = ring.seqAt(i);
      if (seq <= this.processedTo) continue;
      const dir = ring.dirAt(i);
      const kind = ring.kindAt(i);
      const preview = ring.previewAt(i);
      if (this.predicate(dir, kind, preview, ring.noteAt(i))) this.insert(seq);
      else if (noText?.(dir, kind, '', '') && !previewIsWhole(kind, ring.sizeAt(i), preview)) this.pending.push(seq);
      this.processedTo = seq;
    }
    this.trim();
    if (this.pending.length) this.schedule();
  }

  /** Adds a match; rows decided by the server may come after newer rows decided here. */
  private insert(seq: number) {
    const n = this.newer.length;
    if (!n || this.newer.at(n - 1) < seq) this.newer.push(seq);
    else this.newer.insertSorted(seq);
  }

  private schedule() {
    if (this.timer !== null || this.settling || this.disposed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.settle();
    }, PENDING_DELAY_MS);
  }

  /** Asks the server about the rows pending now, as one range (`after` = the oldest − 1,
   * `before` = the newest + 1) paged newest first, and adds those that match. Rows that
   * arrive meanwhile wait for the next run, `PENDING_DELAY_MS` later. One run at a time. */
  settle(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.settling ??= this.run().finally(() => {
      this.settling = null;
      // Rows that arrived during the last request wait for the next one.
      if (this.pending.length && !this.disposed) this.schedule();
    });
    return this.settling;
  }

  private async run() {
    const server = this.server;
    if (!server || !this.pending.length || this.disposed) return;
    const after = this.pending.at(0) - 1;
    let before = this.pending.at(this.pending.length - 1) + 1;
    while (before > after + 1) {
      let page: Pick<SearchPage, 'matches' | 'next'>;
      try {
        page = await server.search(this.spec, { after, before, limit: PENDING_PAGE });
      } catch (e) {
        if (!this.disposed) server.onError?.(e);
        return;
      }
      if (this.disposed) return;
      // Every row in `stop ≤ seq < before` has been searched.
      const stop = page.next === null ? after + 1 : page.next;
      // A page that made no progress (a store that cannot read the range back): the rows
      // stay pending and are asked for again later rather than in a loop.
      if (!(stop < before)) return;
      this.decide(stop, before, page.matches);
      before = stop;
      server.onChange();
    }
  }

  /** Takes the server's verdict on the pending rows in `from ≤ seq < to`. */
  private decide(from: number, to: number, matches: readonly number[]) {
    const a = this.pending.lowerBound(from);
    const b = this.pending.lowerBound(to);
    if (a === b) return;
    const found = new Set(matches);
    for (let k = a; k < b; k++) {
      const seq = this.pending.at(k);
      // Matches forgotten by `trim` are not brought back for rows older than the kept ones.
      if (found.has(seq) && seq >= this.scannedFrom) this.insert(seq);
    }
    this.pending.remove(a, b);
    this.trim();
  }

  /** Forgets the oldest half of the matches once there are more than `maxMatches`
   * (called as rows arrive, the only way an index grows without end). */
  private trim() {
    if (this.count <= this.maxMatches) return;
    const drop = this.count - Math.floor(this.maxMatches / 2);
    // The oldest matches are at the end of `older` (newest first), then at the front of
    // `newer`.
    const fromOlder = Math.min(drop, this.older.length);
    let lastDropped = 0;
    if (fromOlder) {
      lastDropped = this.older.at(this.older.length - fromOlder);
      this.older.length -= fromOlder;
    }
    const fromNewer = drop - fromOlder;
    if (fromNewer) {
      lastDropped = this.newer.at(fromNewer - 1);
      this.newer.dropFront(fromNewer);
    }
    // Rows after the last forgotten match and before the first kept one were tested and
    // did not match, so the searched range starts right after it.
    this.scannedFrom = lastDropped + 1;
    // A list keeps its place by this count; matches removed above move it the other way.
    this.prepended -= drop;
  }

  get count(): number {
    return this.older.length + this.newer.length;
  }

  seqAt(i: number): number {
    const o = this.older.length;
    return i < o ? this.older.at(o - 1 - i) : this.newer.at(i - o);
  }

  /** How many matches have seq ≤ `seq`. */
  countUpTo(seq: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqAt(mid) <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The index of the first match with seq ≥ `seq`. */
  indexOf(seq: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqAt(mid) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Rows older than anything searched so far (above the floor). */
  get unsearched(): number {
    return Math.max(0, this.scannedFrom - 1 - this.floor);
  }

  /** Takes a page of the server's search: `seqs` newest first, all below `scannedFrom`;
   * `next` is where the server stopped (rows below it are still unsearched), `null` when
   * it reached the oldest. Returns how many were added. */
  addOlderMatches(seqs: readonly number[], next: number | null): number {
    let found = 0;
    let floor = this.scannedFrom;
    for (const seq of seqs) {
      // Newest first and each below the last: anything else is a stale answer. Rows
      // below the view's floor were cleared from it.
      if (seq >= floor || seq <= this.floor) continue;
      this.older.push(seq);
      floor = seq;
      found++;
    }
    this.scannedFrom = Math.max(this.floor + 1, Math.min(this.scannedFrom, next ?? 1));
    if (found) this.prepended += found;
    // No trim here: what a search of the server finds is bounded by the recording, and
    // trimming it would only make the search start over.
    return found;
  }
}
