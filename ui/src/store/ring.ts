// The newest rows of one connection, in fixed memory: columns of typed arrays, plus, per
// row, a reference to the text of the chunk it came in and its offsets there (the
// preview and note are sliced out only for rows that are drawn or filtered). Once full,
// the oldest rows are overwritten. Rows leave memory, never the recording: older rows
// are paged back from the server (see pages.ts).

import { dirOf, kindOf, type Chunk, type Row } from '../transport/decode';

export class Ring {
  readonly cap: number;
  private seqs: Float64Array;
  private ts: Float64Array;
  private sizes: Float64Array;
  private dirs: Uint8Array;
  private kinds: Uint8Array;
  /** The chunk text each row's preview and note are in. */
  private texts: string[];
  private pStart: Uint32Array;
  private pEnd: Uint32Array;
  private nEnd: Uint32Array;
  /** Physical index of the oldest row. */
  private start = 0;
  length = 0;

  constructor(cap: number) {
    if (!(cap >= 1)) throw new RangeError('a ring holds at least one row');
    this.cap = cap;
    this.seqs = new Float64Array(cap);
    this.ts = new Float64Array(cap);
    this.sizes = new Float64Array(cap);
    this.dirs = new Uint8Array(cap);
    this.kinds = new Uint8Array(cap);
    this.texts = new Array<string>(cap).fill('');
    this.pStart = new Uint32Array(cap);
    this.pEnd = new Uint32Array(cap);
    this.nEnd = new Uint32Array(cap);
  }

  /** Appends the chunk's rows (they must follow the last seq held); returns how many
   * old rows left memory to make room. */
  append(c: Chunk): number {
    const skip = Math.max(0, c.n - this.cap);
    let evicted = 0;
    for (let i = skip; i < c.n; i++) {
      let p: number;
      if (this.length < this.cap) {
        p = (this.start + this.length) % this.cap;
        this.length++;
      } else {
        p = this.start;
        this.start = (this.start + 1) % this.cap;
        evicted++;
      }
      this.seqs[p] = c.seq[i];
      this.ts[p] = c.t[i];
      this.sizes[p] = c.size[i];
      this.dirs[p] = c.dir[i];
      this.kinds[p] = c.kind[i];
      this.texts[p] = c.text;
      this.pStart[p] = i ? c.ends[2 * i - 1] : 0;
      this.pEnd[p] = c.ends[2 * i];
      this.nEnd[p] = c.ends[2 * i + 1];
    }
    return evicted + skip;
  }

  private phys(i: number): number {
    return (this.start + i) % this.cap;
  }

  /** The seq of the oldest row held, 0 when empty. */
  get firstSeq(): number {
    return this.length ? this.seqs[this.start] : 0;
  }

  get lastSeq(): number {
    return this.length ? this.seqs[this.phys(this.length - 1)] : 0;
  }

  seqAt(i: number): number {
    return this.seqs[this.phys(i)];
  }
  dirAt(i: number): number {
    return this.dirs[this.phys(i)];
  }
  kindAt(i: number): number {
    return this.kinds[this.phys(i)];
  }
  /** Payload bytes of the record, -1 where it has none. */
  sizeAt(i: number): number {
    return this.sizes[this.phys(i)];
  }
  previewAt(i: number): string {
    const p = this.phys(i);
    return this.texts[p].slice(this.pStart[p], this.pEnd[p]);
  }
  noteAt(i: number): string {
    const p = this.phys(i);
    return this.texts[p].slice(this.pEnd[p], this.nEnd[p]);
  }

  /** The logical index (0 = oldest held) of `seq`, or -1 when not in memory. Seqs have
   * no gaps, so the direct guess is right; the search covers anything else. */
  find(seq: number): number {
    if (!this.length || seq < this.firstSeq || seq > this.lastSeq) return -1;
    const guess = seq - this.firstSeq;
    if (guess < this.length && this.seqAt(guess) === seq) return guess;
    let lo = 0;
    let hi = this.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.seqAt(mid);
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  row(i: number): Row {
    const p = this.phys(i);
    const text = this.texts[p];
    return {
      seq: this.seqs[p],
      t: this.ts[p],
      dir: dirOf(this.dirs[p]),
      kind: kindOf(this.kinds[p]),
      size: this.sizes[p],
      preview: text.slice(this.pStart[p], this.pEnd[p]),
      note: text.slice(this.pEnd[p], this.nEnd[p]),
    };
  }
}
