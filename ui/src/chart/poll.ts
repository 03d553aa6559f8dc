// Keeps an <img> current with a picture the server draws: fetches `path()` every `every`
// ms, decodes the new picture before showing it (no flicker, no broken image while one is
// on its way), never has two requests in flight (a slow server is not piled on), and
// rests while the page is hidden.

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
}

export class ImagePoller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private abort: AbortController | null = null;
  private shown: string | null = null;
  private running = false;
  private again = false;
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

  /** Fetches now: something the picture depends on changed. */
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
    if (!path || this.o.hidden?.()) {
      this.schedule(this.o.every());
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
      this.o.onError(e instanceof Error ? e.message : String(e));
    } finally {
      if (this.abort === abort) this.abort = null;
    }
    if (this.running) this.schedule(this.again ? 0 : Math.max(0, this.o.every() - (Date.now() - started)));
  }
}

function decodeImage(url: string): Promise<void> {
  const img = new Image();
  img.src = url;
  return img.decode();
}
