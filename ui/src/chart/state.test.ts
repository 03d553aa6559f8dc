import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../host/browser';
import { ChartSettings } from './state.svelte';

describe('chart settings', () => {
  it('give each pane the first free colour and keep it while others come and go', () => {
    const s = new ChartSettings(memoryStorage());
    s.assign(['a', 'b', 'c']);
    expect([s.colorOf('a'), s.colorOf('b'), s.colorOf('c')]).toEqual([0, 1, 2]);
    s.assign(['a', 'c']);
    expect(s.colorOf('c')).toBe(2);
    s.assign(['a', 'c', 'd']);
    expect(s.colorOf('d')).toBe(1);
    expect(s.assign(['a', 'c', 'd'])).toBe(false);
  });

  it('leave panes out and back in, and forget panes that are gone', () => {
    const s = new ChartSettings(memoryStorage());
    s.assign(['a', 'b']);
    s.toggleLine('b');
    expect(s.isShown('b')).toBe(false);
    s.toggleLine('b');
    expect(s.isShown('b')).toBe(true);
    s.toggleLine('a');
    s.assign(['b']);
    expect(s.hidden).toEqual([]);
  });

  it('keep at least one panel, in a fixed order', () => {
    const s = new ChartSettings(memoryStorage());
    expect(s.metrics).toEqual(['events', 'bytes']);
    s.toggleMetric('latency');
    expect(s.metrics).toEqual(['events', 'bytes', 'latency']);
    s.toggleMetric('events');
    s.toggleMetric('bytes');
    expect(s.metrics).toEqual(['latency']);
    s.toggleMetric('latency');
    expect(s.metrics).toEqual(['latency']);
  });

  it('survive a reload, and ignore damaged or foreign values', () => {
    const kv = memoryStorage();
    const s = new ChartSettings(kv);
    s.assign(['a', 'b']);
    s.setOpen(false);
    s.setWindow(300);
    s.setWindow(42);
    s.toggleMetric('latency');
    s.toggleLine('b');
    const t = new ChartSettings(kv);
    expect(t.open).toBe(false);
    expect(t.window).toBe(300);
    expect(t.metrics).toEqual(['events', 'bytes', 'latency']);
    expect(t.hidden).toEqual(['b']);
    expect(t.colorOf('b')).toBe(1);

    kv.set('sscope.chart', '{"open":"yes","metrics":["speed"],"window":7,"hidden":[3],"colors":{"a":99,"b":2}}');
    const u = new ChartSettings(kv);
    expect(u.open).toBe(true);
    expect(u.metrics).toEqual(['events', 'bytes']);
    expect(u.window).toBe(60);
    expect(u.hidden).toEqual([]);
    expect(u.colors).toEqual({ b: 2 });
    kv.set('sscope.chart', 'not json');
    expect(new ChartSettings(kv).open).toBe(true);
  });
});
