// What the rate charts ask the server for. The charts are drawn by the server's renderer
// (crates/chart, plotters), the one the exports and `sscope chart` use, so the live view
// only builds the request: which connections, in which colours, which panels, how wide.

export type ChartMetric = 'events' | 'bytes' | 'wire' | 'latency';
export const CHART_METRICS: readonly ChartMetric[] = ['events', 'bytes', 'wire', 'latency'];

/** One line: a connection and its palette index. */
export interface ChartLine {
  conn: string;
  color: number;
}

export interface ChartRequest {
  metrics: readonly ChartMetric[];
  lines: readonly ChartLine[];
  /** Seconds of history, 5–600. */
  window: number;
  width: number;
  height: number;
  dark: boolean;
  title?: string;
  /** No title, no legend: the live view shows both around the picture. */
  compact?: boolean;
  /** The last Unix second drawn, for connections that ended long ago (opened from the
   * library); by default the window ends now. */
  end?: number;
}

/** The renderer's limits (crates/chart/src/spec.rs; spec.test.ts keeps them equal). */
export const MIN_WIDTH = 320;
export const MIN_HEIGHT = 200;
export const COMPACT_MIN_HEIGHT = 110;
export const MAX_SIDE = 4096;
/** Most lines one chart overlays (the palette's size; the server refuses more). */
export const MAX_LINES = 10;
/** The windows offered, in seconds (the server keeps ten minutes). */
export const WINDOWS = [60, 300, 600] as const;

export const METRIC_LABEL: Record<ChartMetric, string> = {
  events: 'Events/s',
  bytes: 'Bytes/s',
  wire: 'Wire bytes/s',
  latency: 'Latency',
};

function clampSide(v: number, min: number): number {
  return Math.max(min, Math.min(MAX_SIDE, Math.round(v)));
}

/** The query string of a chart request, `conns` and `colors` in line order. */
export function chartQuery(r: ChartRequest): URLSearchParams {
  const q = new URLSearchParams();
  // Callers ask only with lines: without `conns` the server charts every connection.
  const lines = r.lines.slice(0, MAX_LINES);
  q.set('conns', lines.map((l) => l.conn).join(','));
  q.set('colors', lines.map((l) => l.color).join(','));
  q.set('metric', r.metrics.join(','));
  q.set('window', String(r.window));
  q.set('width', String(clampSide(r.width, MIN_WIDTH)));
  q.set('height', String(clampSide(r.height, r.compact ? COMPACT_MIN_HEIGHT : MIN_HEIGHT)));
  q.set('theme', r.dark ? 'dark' : 'light');
  if (r.title) q.set('title', r.title);
  if (r.compact) q.set('compact', '1');
  if (r.end !== undefined) q.set('end', String(Math.floor(r.end)));
  return q;
}

/** `/api/chart.svg?…` (or `.png`) for the request. */
export function chartPath(r: ChartRequest, format: 'svg' | 'png' = 'svg'): string {
  return `/api/chart.${format}?${chartQuery(r)}`;
}

/** The `/api` path that downloads the chart (made a one-use link by the host). No
 * `download=1`: the server's attachment name would win over the one the UI gives. */
export function chartDownloadPath(r: ChartRequest, format: 'svg' | 'png'): string {
  return chartPath(r, format);
}

/** `/api/sparkline.svg?…`: one connection's events/s for a status line. */
export function sparklinePath(o: {
  conn: string;
  color: number;
  dark: boolean;
  width: number;
  height: number;
  window?: number;
  /** As `ChartRequest.end`. */
  end?: number;
}): string {
  const q = new URLSearchParams({
    conn: o.conn,
    color: String(o.color),
    theme: o.dark ? 'dark' : 'light',
    width: String(Math.round(o.width)),
    height: String(Math.round(o.height)),
    window: String(o.window ?? 60),
  });
  if (o.end !== undefined) q.set('end', String(Math.floor(o.end)));
  return `/api/sparkline.svg?${q}`;
}

/** A file name for an exported chart: `streamscope-rates-20261125-213005.png`. */
export function exportName(at: Date, format: 'svg' | 'png'): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp =
    `${at.getFullYear()}${p(at.getMonth() + 1)}${p(at.getDate())}-` +
    `${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}`;
  return `streamscope-rates-${stamp}.${format}`;
}

/** How a row of `count` charts fits `width` px: columns, and each chart's width. Charts
 * are never drawn narrower than the renderer allows; fewer columns wrap instead. */
export function layout(width: number, count: number, gap: number): { columns: number; chartWidth: number } {
  if (count <= 0) return { columns: 0, chartWidth: 0 };
  let columns = count;
  while (columns > 1 && (width - gap * (columns - 1)) / columns < MIN_WIDTH) columns--;
  const chartWidth = Math.floor((width - gap * (columns - 1)) / columns);
  return { columns, chartWidth: Math.max(MIN_WIDTH, chartWidth) };
}

/** The live charts' height for a window `innerHeight` px tall: room for the data without
 * starving the frame lists below. */
export function liveChartHeight(innerHeight: number): number {
  return Math.max(120, Math.min(220, Math.round(innerHeight * 0.17)));
}

/** The title drawn in a chart of `metrics` over `window` seconds. */
export function chartTitle(metrics: readonly ChartMetric[]): string {
  if (metrics.length === 1)
    return {
      events: 'Events per second',
      bytes: 'Bytes per second',
      wire: 'Bytes on the wire per second',
      latency: 'Latency',
    }[metrics[0]];
  return metrics.map((m) => METRIC_LABEL[m]).join(' · ');
}

/** Where a chart of these connections ends: undefined (now) while one is live or none came
 * from the library; else the second the latest of them ended (`endedMs`, its last change),
 * so a session recorded yesterday draws its own last minutes, not an empty one. */
export function recordedEnd(
  lines: readonly { live: boolean; recorded: boolean; endedMs: number }[],
): number | undefined {
  if (!lines.length || lines.some((l) => l.live) || !lines.some((l) => l.recorded)) return undefined;
  const ms = Math.max(...lines.map((l) => l.endedMs).filter(Number.isFinite));
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}
