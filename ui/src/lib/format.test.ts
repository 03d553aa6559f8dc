import { describe, expect, it } from 'vitest';
import {
  closeCodeName,
  deltaOf,
  formatDelta,
  closeCodeSendable,
  formatBytes,
  formatClock,
  formatCount,
  formatDuration,
  formatRate,
  formatSize,
  formatState,
  microsOf,
} from './format';

describe('time', () => {
  it('prints wall-clock time with milliseconds', () => {
    const ms = Date.UTC(2026, 0, 2, 3, 4, 5, 7) + 0.891;
    expect(formatClock(ms, true)).toBe('03:04:05.007');
    expect(microsOf(ms)).toBe('891');
    expect(formatClock(NaN)).toBe('--:--:--.---');
  });
  it('prints local time by default', () => {
    const d = new Date(2026, 0, 2, 13, 14, 15, 160);
    expect(formatClock(d.getTime())).toBe('13:14:15.160');
  });
  it('prints durations coarsely', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(184_000)).toBe('3 m 04 s');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2 h 05 m');
  });
});

describe('numbers', () => {
  it('groups counts', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
  });
  it('prints bytes with binary units and three digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(12.34 * 1024 * 1024)).toBe('12.3 MiB');
    expect(formatBytes(-1)).toBe('–');
  });
  it('prints sizes exactly until they get long', () => {
    expect(formatSize(9999)).toBe('9999');
    expect(formatSize(65536)).toBe('64.0 KiB');
    expect(formatSize(-1)).toBe('');
  });
  it('prints rates compactly', () => {
    expect(formatRate(7)).toBe('7');
    expect(formatRate(12_500)).toBe('12.5k');
    expect(formatRate(100_000)).toBe('100k');
    expect(formatRate(1_200_000)).toBe('1.20M');
  });
});

describe('close codes', () => {
  it('names codes', () => {
    expect(closeCodeName(1000)).toBe('Normal Closure');
    expect(closeCodeName(4000)).toBe('application-defined');
    expect(closeCodeName(undefined)).toBe('no status code');
  });
  it('knows which codes may be sent', () => {
    expect(closeCodeSendable(1000)).toBe(true);
    expect(closeCodeSendable(1005)).toBe(false);
    expect(closeCodeSendable(1006)).toBe(false);
    expect(closeCodeSendable(4999)).toBe(true);
    expect(closeCodeSendable(5000)).toBe(false);
  });
});

describe('formatState', () => {
  it('names the states the server reports, and passes an unknown one through', () => {
    expect(formatState('connecting')).toBe('Connecting');
    expect(formatState('open')).toBe('Open');
    expect(formatState('reconnecting')).toBe('Reconnecting');
    expect(formatState('closed')).toBe('Closed');
    expect(formatState('failed')).toBe('Failed');
    expect(formatState('paused')).toBe('paused');
  });
});

describe('the Δt column', () => {
  it('formats durations at a readable width', () => {
    expect(formatDelta(0)).toBe('0 µs');
    expect(formatDelta(0.85)).toBe('850 µs');
    expect(formatDelta(12.345)).toBe('12.3 ms');
    expect(formatDelta(3.456)).toBe('3.46 ms');
    expect(formatDelta(1204)).toBe('1.204 s');
    expect(formatDelta(125_300)).toBe('2m 05.3s');
    expect(formatDelta(3 * 3_600_000 + 7 * 60_000)).toBe('3h 07m');
    expect(formatDelta(-1)).toBe('');
  });
  it('measures from the row above or from the first record', () => {
    expect(deltaOf('prev', 1500.5, 1000, 10)).toBe(500.5);
    expect(deltaOf('open', 1500.5, 1000, 500)).toBe(1000.5);
    expect(deltaOf('prev', 1000, undefined, 0)).toBeNull();
    expect(deltaOf('open', 1000, 900, undefined)).toBeNull();
  });
});
