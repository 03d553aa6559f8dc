import { describe, expect, it } from 'vitest';
import {
  chartDownloadPath,
  chartPath,
  chartQuery,
  chartTitle,
  exportName,
  layout,
  liveChartHeight,
  MAX_LINES,
  MIN_WIDTH,
  recordedEnd,
  sparklinePath,
  type ChartRequest,
} from './query';

const req: ChartRequest = {
  metrics: ['events'],
  lines: [
    { conn: 'c1', color: 0 },
    { conn: 'c7', color: 3 },
  ],
  window: 60,
  width: 640.4,
  height: 200,
  dark: false,
  title: 'Events per second',
};

describe('chart requests', () => {
  it('name the connections and their colours in line order', () => {
    const q = chartQuery(req);
    expect(q.get('conns')).toBe('c1,c7');
    expect(q.get('colors')).toBe('0,3');
    expect(q.get('metric')).toBe('events');
    expect(q.get('window')).toBe('60');
    expect(q.get('width')).toBe('640');
    expect(q.get('theme')).toBe('light');
    expect(q.get('title')).toBe('Events per second');
  });

  it('list several panels and follow the theme', () => {
    const q = chartQuery({ ...req, metrics: ['events', 'latency'], dark: true });
    expect(q.get('metric')).toBe('events,latency');
    expect(q.get('theme')).toBe('dark');
  });

  it('keep sizes within what the renderer draws', () => {
    const q = chartQuery({ ...req, width: 10, height: 9000 });
    expect(q.get('width')).toBe(String(MIN_WIDTH));
    expect(q.get('height')).toBe('4096');
    expect(chartQuery({ ...req, height: 130 }).get('height')).toBe('200');
    const compact = chartQuery({ ...req, height: 130, compact: true });
    expect(compact.get('height')).toBe('130');
    expect(compact.get('compact')).toBe('1');
    expect(chartQuery({ ...req, height: 50, compact: true }).get('height')).toBe('110');
    expect(chartQuery(req).has('compact')).toBe(false);
  });

  it('live charts take a share of the window, within bounds', () => {
    expect(liveChartHeight(900)).toBe(153);
    expect(liveChartHeight(500)).toBe(120);
    expect(liveChartHeight(2000)).toBe(220);
  });

  it('overlay at most a palette of lines', () => {
    const lines = Array.from({ length: 14 }, (_, i) => ({ conn: `c${i + 1}`, color: i % 10 }));
    const q = chartQuery({ ...req, lines });
    expect(q.get('conns')?.split(',')).toHaveLength(MAX_LINES);
    expect(q.get('colors')?.split(',')).toHaveLength(MAX_LINES);
  });

  it('paths and downloads', () => {
    expect(chartPath(req)).toMatch(/^\/api\/chart\.svg\?conns=c1%2Cc7&colors=0%2C3&metric=events/);
    expect(chartPath(req, 'png')).toMatch(/^\/api\/chart\.png\?/);
    const d = new URL('http://x' + chartDownloadPath(req, 'png'));
    expect(d.pathname).toBe('/api/chart.png');
    expect(d.searchParams.has('download')).toBe(false);
    expect(d.searchParams.has('token')).toBe(false);
  });

  it('sparklines', () => {
    const u = new URL('http://x' + sparklinePath({ conn: 'c2', color: 1, dark: true, width: 84, height: 18 }));
    expect(u.pathname).toBe('/api/sparkline.svg');
    expect(Object.fromEntries(u.searchParams)).toEqual({
      conn: 'c2',
      color: '1',
      theme: 'dark',
      width: '84',
      height: '18',
      window: '60',
    });
  });

  it('export file names carry the local time', () => {
    expect(exportName(new Date(2026, 10, 5, 9, 3, 7), 'png')).toBe('streamscope-rates-20261105-090307.png');
    expect(exportName(new Date(2026, 0, 1, 23, 59, 59), 'svg')).toBe('streamscope-rates-20260101-235959.svg');
  });

  it('titles', () => {
    expect(chartTitle(['bytes'])).toBe('Bytes per second');
    expect(chartTitle(['events', 'bytes'])).toBe('Events/s · Bytes/s');
  });
});

describe('layout', () => {
  it('puts charts side by side while each is wide enough, else wraps', () => {
    expect(layout(1400, 2, 10)).toEqual({ columns: 2, chartWidth: 695 });
    expect(layout(1400, 3, 10)).toEqual({ columns: 3, chartWidth: 460 });
    expect(layout(900, 3, 10).columns).toBe(2);
    expect(layout(500, 2, 10)).toEqual({ columns: 1, chartWidth: 500 });
    // Narrower than a chart can be: one column at the smallest size.
    expect(layout(200, 2, 10)).toEqual({ columns: 1, chartWidth: MIN_WIDTH });
    expect(layout(900, 0, 10).columns).toBe(0);
  });
});

describe('charts of library recordings', () => {
  it('end where the latest of them ended, and only when none is live', () => {
    const rec = (endedMs: number, live = false, recorded = true) => ({ live, recorded, endedMs });
    expect(recordedEnd([rec(1_765_000_000_900), rec(1_765_000_100_400, false, false)])).toBe(1_765_000_100);
    // A live one: the window ends now, as always.
    expect(recordedEnd([rec(1_765_000_000_900), rec(0, true, false)])).toBeUndefined();
    // Ended connections of this run only: unchanged too.
    expect(recordedEnd([rec(1_765_000_000_900, false, false)])).toBeUndefined();
    expect(recordedEnd([])).toBeUndefined();
  });

  it('ask the server for that end', () => {
    const q = chartQuery({
      metrics: ['events'],
      lines: [{ conn: 'c4', color: 1 }],
      window: 60,
      width: 600,
      height: 200,
      dark: false,
      end: 1_765_000_100,
    });
    expect(q.get('end')).toBe('1765000100');
    expect(
      new URLSearchParams(
        sparklinePath({ conn: 'c4', color: 0, dark: false, width: 84, height: 18, end: 7.9 }).split('?')[1],
      ).get('end'),
    ).toBe('7');
    expect(sparklinePath({ conn: 'c4', color: 0, dark: false, width: 84, height: 18 })).not.toContain('end=');
  });
});
