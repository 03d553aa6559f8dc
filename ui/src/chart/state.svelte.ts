// The rate charts' settings: shown or folded, which panels, which window, each pane's
// colour and which panes are left out. Kept in the host's storage with the workspace.

import type { KeyValue } from '../host';
import { freeColor, PALETTE_LEN } from '../lib/palette';
import { CHART_METRICS, WINDOWS, type ChartMetric } from './query';

const KEY = 'sscope.chart';

interface Saved {
  open?: unknown;
  metrics?: unknown;
  window?: unknown;
  hidden?: unknown;
  colors?: unknown;
}

export class ChartSettings {
  /** The charts are shown (not folded into the legend strip). */
  open = $state(true);
  /** Panels shown side by side, in this order. */
  metrics: ChartMetric[] = $state(['events', 'bytes']);
  window: number = $state(60);
  /** Pane ids left out of the charts. */
  hidden: string[] = $state([]);
  /** Pane id → palette index; a pane keeps its colour while others come and go. */
  colors: Record<string, number> = $state({});

  constructor(private readonly storage: KeyValue) {
    const raw = storage.get(KEY);
    if (!raw) return;
    let s: Saved;
    try {
      s = JSON.parse(raw) as Saved;
    } catch {
      return;
    }
    if (typeof s.open === 'boolean') this.open = s.open;
    if (Array.isArray(s.metrics)) {
      const m = CHART_METRICS.filter((x) => (s.metrics as unknown[]).includes(x));
      if (m.length) this.metrics = m;
    }
    if (typeof s.window === 'number' && (WINDOWS as readonly number[]).includes(s.window)) this.window = s.window;
    if (Array.isArray(s.hidden)) this.hidden = s.hidden.filter((h): h is string => typeof h === 'string');
    if (s.colors && typeof s.colors === 'object')
      for (const [k, v] of Object.entries(s.colors as Record<string, unknown>))
        if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < PALETTE_LEN) this.colors[k] = v;
  }

  private save() {
    this.storage.set(
      KEY,
      JSON.stringify({
        open: this.open,
        metrics: this.metrics,
        window: this.window,
        hidden: this.hidden,
        colors: this.colors,
      }),
    );
  }

  /** Gives every pane in `paneIds` a colour (new panes the first free one) and forgets
   * the colours and choices of panes that are gone. Returns whether anything changed. */
  assign(paneIds: readonly string[]): boolean {
    const alive = new Set(paneIds);
    let changed = false;
    const colors: Record<string, number> = {};
    for (const [id, c] of Object.entries(this.colors))
      if (alive.has(id)) colors[id] = c;
      else changed = true;
    for (const id of paneIds) {
      if (colors[id] === undefined) {
        colors[id] = freeColor(Object.values(colors));
        changed = true;
      }
    }
    const hidden = this.hidden.filter((h) => alive.has(h));
    if (hidden.length !== this.hidden.length) changed = true;
    if (changed) {
      this.colors = colors;
      this.hidden = hidden;
      this.save();
    }
    return changed;
  }

  colorOf(paneId: string): number {
    return this.colors[paneId] ?? 0;
  }

  isShown(paneId: string): boolean {
    return !this.hidden.includes(paneId);
  }

  toggleLine(paneId: string) {
    this.hidden = this.isShown(paneId) ? [...this.hidden, paneId] : this.hidden.filter((h) => h !== paneId);
    this.save();
  }

  toggleMetric(m: ChartMetric) {
    const on = this.metrics.includes(m);
    // At least one panel: the last one cannot be switched off.
    if (on && this.metrics.length === 1) return;
    this.metrics = CHART_METRICS.filter((x) => (x === m ? !on : this.metrics.includes(x)));
    this.save();
  }

  setWindow(w: number) {
    if (!(WINDOWS as readonly number[]).includes(w)) return;
    this.window = w;
    this.save();
  }

  setOpen(open: boolean) {
    this.open = open;
    this.save();
  }
}

/** Whether the system asks for a dark theme, kept current. */
export class SystemTheme {
  dark = $state(false);
  constructor(w: Pick<Window, 'matchMedia'> | undefined = typeof window === 'undefined' ? undefined : window) {
    const mq = w?.matchMedia?.('(prefers-color-scheme: dark)');
    if (!mq) return;
    this.dark = mq.matches;
    mq.addEventListener?.('change', (e) => (this.dark = e.matches));
  }
}
