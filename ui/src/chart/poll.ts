// Keeps an <img> current with a picture the server draws: fetches `path()` every `every`
// ms, decodes the new picture before showing it (no flicker, no broken image while one is
// on its way), never has two requests in flight (a slow server is not piled on), and
// rests while the page is hidden. With nothing to draw, or once what it draws has stopped
// moving (no live connection), it sets no timer at all until poked: an app at rest wakes
// for nothing.

/** How long a picture keeps being redrawn after what it shows stopped being live: a
 * rate is a complete second, so the last one shows up to a second after the traffic
 * ended; one more second covers a slow turn. */
export const SETTLE_MS = 2000;

export interface PollerOptions {
  /** The path to fetch now, or `null` when there is nothing to draw. */
  path: () => string | null;
  /** Milliseconds between pictures (read each time, so it may change). */
  every: () => number;
  fetchBlob: (path: string, signal: AbortSignal) => Promise<Blob>;
  /** A new picture, as an object URL, and the path it was drawn from; the previous
   * picture's URL is revoked after this returns. */
  onImage: (url: string, path: string) => void;
  /** A failure's message, or `null` when a picture came through again. */
  onError: (message: string | null) => void;
  /** How a fetched picture is made ready to show; by default decoded through an Image. */
  decode?: (url: string) => Promise<void>;
  hidden?: () => boolean;
  /** Whether what the picture shows still moves (a live connection); by default always.
   * When it has not for {@link SETTLE_MS}, the poller rests until poked. */
  live?: () => boolean;
}

export class ImagePoller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private abort: AbortController | null = null;
  private shown: string | null = null;
  private running = false;
  private again = false;
  /** Until when pictures keep coming without a poke (ms since the epoch). */
  private liveUntil = 0;
  /** Pictures shown so far (tests and benchmarks read it). */
  frames = 0;

  constructor(private readonly o: PollerOptions) {}

  start() {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.abort?.abort();
    this.abort = null;
    if (this.shown) URL.revokeObjectURL(this.shown);
    this.shown = null;
  }

  /** Fetches now: something the picture depends on changed (its path, or whether it is
   * live), and polling goes on from there if it is live. */
  poke() {
    if (!this.running) return;
    if (this.abort) {
      // One is on its way with the old settings: fetch again as soon as it lands.
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fetch(), ms);
  }

  private async fetch() {
    if (!this.running) return;
    const started = Date.now();
    const path = this.o.path();
    if (!path) return; // nothing to draw: a new path pokes
    if (this.o.hidden?.()) {
      this.next(this.o.every());
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    this.again = false;
    try {
      const blob = await this.o.fetchBlob(path, abort.signal);
      const url = URL.createObjectURL(blob);
      try {
        await (this.o.decode ?? decodeImage)(url);
      } catch (e) {
        URL.revokeObjectURL(url);
        throw e;
      }
      if (!this.running || abort.signal.aborted) {
        URL.revokeObjectURL(url);
        return;
      }
      const old = this.shown;
      this.shown = url;
      this.frames++;
      this.o.onImage(url, path);
      if (old) URL.revokeObjectURL(old);
      this.o.onError(null);
    } catch (e) {
      if (abort.signal.aborted || !this.running) return;
      // Asked again while this was on its way: the failure is about a picture no longer
      // wanted (a connection forgotten as its pane closed), and the new one follows now.
      if (!this.again) this.o.onError(e instanceof Error ? e.message : String(e));
    } finally {
      if (this.abort === abort) this.abort = null;
    }
    if (!this.running) return;
    if (this.again) this.schedule(0);
    else this.next(Math.max(0, this.o.every() - (Date.now() - started)));
  }

  /** The next picture in `ms`, while what it shows moves; otherwise rests (no timer). */
  private next(ms: number) {
    const now = Date.now();
    if (this.o.live?.() ?? true) this.liveUntil = now + SETTLE_MS;
    if (now < this.liveUntil) this.schedule(ms);
  }
}

function decodeImage(url: string): Promise<void> {
  const img = new Image();
  img.src = url;
  return img.decode();
}
