// The chart's vocabulary on the UI side must equal crates/chart/src/spec.rs. That module
// writes spec.json (a Rust test keeps the file equal to it); this keeps query.ts equal to
// the file, so a change on either side fails a test until both agree.
import { describe, expect, it } from 'vitest';
import spec from './spec.json';
import { CHART_METRICS, COMPACT_MIN_HEIGHT, MAX_LINES, MAX_SIDE, MIN_HEIGHT, MIN_WIDTH, WINDOWS } from './query';

describe('the chart spec shared with the server', () => {
  it('names the same metrics in the same order', () => {
    expect([...CHART_METRICS]).toEqual(spec.metrics);
  });
  it('has the same image limits', () => {
    expect(MIN_WIDTH).toBe(spec.size.min_width);
    expect(MIN_HEIGHT).toBe(spec.size.min_height);
    expect(COMPACT_MIN_HEIGHT).toBe(spec.size.compact_min_height);
    expect(MAX_SIDE).toBe(spec.size.max_side);
  });
  it('overlays at most as many lines as the server charts', () => {
    expect(MAX_LINES).toBe(spec.max_conns);
  });
  it('offers the windows the server offers, each one it accepts', () => {
    expect([...WINDOWS]).toEqual(spec.window.offered);
    for (const w of WINDOWS) {
      expect(w).toBeGreaterThanOrEqual(spec.window.min);
      expect(w).toBeLessThanOrEqual(spec.window.max);
    }
  });
});
