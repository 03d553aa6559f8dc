// Filters of a pane's frame list (kinds, directions, search text) and the index of the
// rows that match. The index keeps only seq numbers (8 bytes a match), so it outlives
// the ring: rows that arrive while the filter is set are tested as they arrive, and what
// was recorded before is searched on the server (GET …/search, over whole records, not
// the previews held here), a page at a time as the list scrolls towards it.

import type { Dir, Kind } from '../contract';
import { DIR_CODE, KIND_CODE } from '../transport/decode';
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

  constructor(
    readonly spec: FilterSpec,
    private log: ConnLog,
    private maxMatches = MAX_MATCHES,
  ) {
    this.predicate = compile(spec);
    const ring = log.ring;
    // Rows in memory carry a preview of their payload only: a text search of what was
    // already received goes to the server, which reads whole records. Kinds and
    // directions are whole in a row, so those are tested here at once.
    const textSearch = searchText(spec) !== '';
    this.scannedFrom = ring.length && !textSearch ? ring.firstSeq : log.lastSeq + 1;
    this.processedTo = this.scannedFrom - 1;
    this.catchUp();
    this.unlisten = log.listen(() => this.catchUp());
  }

  dispose() {
    this.unlisten();
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
    for (; i < ring.length; i++) {
      const seq = ring.seqAt(i);
      if (seq <= this.processedTo) continue;
      if (this.predicate(ring.dirAt(i), ring.kindAt(i), ring.previewAt(i), ring.noteAt(i))) this.newer.push(seq);
      this.processedTo = seq;
    }
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

  /** Rows older than anything searched so far. */
  get unsearched(): number {
    return Math.max(0, this.scannedFrom - 1);
  }

  /** Takes a page of the server's search: `seqs` newest first, all below `scannedFrom`;
   * `next` is where the server stopped (rows below it are still unsearched), `null` when
   * it reached the oldest. Returns how many were added. */
  addOlderMatches(seqs: readonly number[], next: number | null): number {
    let found = 0;
    let floor = this.scannedFrom;
    for (const seq of seqs) {
      // Newest first and each below the last: anything else is a stale answer.
      if (seq >= floor) continue;
      this.older.push(seq);
      floor = seq;
      found++;
    }
    this.scannedFrom = Math.min(this.scannedFrom, next ?? 1);
    if (found) this.prepended += found;
    // No trim here: what a search of the server finds is bounded by the recording, and
    // trimming it would only make the search start over.
    return found;
  }
}
