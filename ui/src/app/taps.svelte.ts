// Reverse taps started from the Tap panel: the running ones (polled while any runs, for
// their counts), starting and stopping them, and showing each stream a tap records in a
// pane of its own as soon as the server lists it. The relaying is the server's; the
// connections are ordinary ones, so panes, charts and the library need nothing new.

import type { ApiError } from '../transport/api';
import type { ConnListing, ConnView, StartTapRequest, TapView } from '../transport/types';

/** What the taps need of the rest of the app. */
export interface TapDeps {
  api: {
    taps(): Promise<TapView[]>;
    startTap(req: StartTapRequest): Promise<TapView>;
    stopTap(id: string): Promise<void>;
    tapCa(): Promise<Blob>;
    deleteTapCa(): Promise<void>;
    list(): Promise<ConnView[]>;
  };
  /** Opens a connection in a new pane. */
  attach(view: ConnView): void;
}

/** How often the counts of running taps are asked for: a person reads them, not a chart. */
export const TAP_POLL_MS = 1000;

/** The listings a tap recorded that no pane shows and that were not shown before: a
 * stream the user closed the pane of is not opened again. */
export function newTapConns(unattached: readonly ConnListing[], shown: ReadonlySet<string>): ConnListing[] {
  return unattached.filter((l) => l.tap === true && !shown.has(l.id));
}

/** Host names typed in one field: split at commas and spaces, empty ones dropped. */
export function splitHosts(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((h) => h.trim())
    .filter((h) => h.length > 0);
}

/** `ws://127.0.0.1:PORT` and `http://127.0.0.1:PORT`: where the app is pointed. */
export function tapAddresses(tap: TapView): { ws: string; http: string } {
  return { ws: `ws://${tap.listen}`, http: `http://${tap.listen}` };
}

export class Taps {
  list: TapView[] = $state([]);
  /** The last start's or stop's failure, in the server's words. */
  problem: string | null = $state(null);
  busy = $state(false);
  /** Open each recorded stream in a pane as it appears. */
  autoShow = $state(true);
  private shown = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly deps: TapDeps) {}

  get running(): boolean {
    return this.list.length > 0;
  }

  async refresh(): Promise<void> {
    try {
      this.list = await this.deps.api.taps();
    } catch {
      // The banner says when the server is gone; keep what was shown.
    }
    this.poll();
  }

  async start(port: number, upstream: string, insecure: boolean): Promise<TapView | null> {
    return this.begin({ listen: `127.0.0.1:${port}`, upstream: upstream.trim(), insecure });
  }

  /** Starts a proxy; `decrypt` is the hosts typed, comma- or space-separated. */
  async startProxy(port: number, decrypt: string): Promise<TapView | null> {
    return this.begin({ listen: `127.0.0.1:${port}`, proxy: true, decrypt: splitHosts(decrypt) });
  }

  /** The CA certificate as a file to save, or null (the problem says why). */
  async caFile(): Promise<Blob | null> {
    this.problem = null;
    try {
      return await this.deps.api.tapCa();
    } catch (e) {
      this.problem = (e as ApiError).message ?? String(e);
      return null;
    }
  }

  async deleteCa(): Promise<boolean> {
    this.problem = null;
    try {
      await this.deps.api.deleteTapCa();
      return true;
    } catch (e) {
      this.problem = (e as ApiError).message ?? String(e);
      return false;
    }
  }

  private async begin(req: StartTapRequest): Promise<TapView | null> {
    this.problem = null;
    this.busy = true;
    try {
      const tap = await this.deps.api.startTap(req);
      this.list = [...this.list.filter((t) => t.id !== tap.id), tap];
      this.poll();
      return tap;
    } catch (e) {
      this.problem = (e as ApiError).message ?? String(e);
      return null;
    } finally {
      this.busy = false;
    }
  }

  async stop(id: string): Promise<void> {
    this.problem = null;
    try {
      await this.deps.api.stopTap(id);
    } catch (e) {
      this.problem = (e as ApiError).message ?? String(e);
    }
    this.list = this.list.filter((t) => t.id !== id);
    this.poll();
  }

  /** Called with the connections no pane shows whenever that list changes. */
  async showNew(unattached: readonly ConnListing[]): Promise<void> {
    if (!this.autoShow) return;
    const fresh = newTapConns(unattached, this.shown);
    if (fresh.length === 0) return;
    for (const l of fresh) this.shown.add(l.id);
    const views = await this.deps.api.list();
    for (const l of fresh) {
      const view = views.find((v) => v.id === l.id);
      if (view) this.deps.attach(view);
    }
  }

  /** Polls the counts while a tap runs, and only then. */
  private poll() {
    if (this.running && !this.timer) {
      this.timer = setInterval(() => void this.refresh(), TAP_POLL_MS);
    } else if (!this.running && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
