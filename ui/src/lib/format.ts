// Numbers, sizes, times and connection states as the UI prints them: dense, aligned,
// never ambiguous.

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;
const pad3 = (n: number) => (n < 10 ? '00' : n < 100 ? '0' : '') + n;

/** Local wall-clock time with milliseconds: `14:03:07.042`. `ms` is epoch milliseconds
 * (fraction ignored). `utc` prints UTC instead, for tests and exports. */
export function formatClock(ms: number, utc = false): string {
  if (!Number.isFinite(ms)) return '--:--:--.---';
  const d = new Date(Math.floor(ms));
  const h = utc ? d.getUTCHours() : d.getHours();
  const m = utc ? d.getUTCMinutes() : d.getMinutes();
  const s = utc ? d.getUTCSeconds() : d.getSeconds();
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(d.getUTCMilliseconds())}`;
}

/** Microseconds of the record time, as the three digits after the milliseconds. */
export function microsOf(ms: number): string {
  const us = Math.round((ms - Math.floor(ms)) * 1000) % 1000;
  return pad3(us);
}

/** `1 234 567` style grouping with thin spaces would confuse copy-paste; use commas. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** Bytes with binary units, 3 significant digits: `0 B`, `512 B`, `1.50 KiB`, `12.3 MiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ${units[u]}`;
}

/** A frame size for the list column: exact below 10 000, compact above. */
export function formatSize(n: number): string {
  if (n < 0 || !Number.isFinite(n)) return '';
  if (n < 10_000) return String(n);
  return formatBytes(n);
}

/** A rate in events per second, compact: `0`, `7`, `950`, `12.5k`, `1.20M`. */
export function formatRate(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) {
    const k = n / 1000;
    return `${k < 10 ? k.toFixed(2) : k < 100 ? k.toFixed(1) : k.toFixed(0)}k`;
  }
  const m = n / 1_000_000;
  return `${m < 10 ? m.toFixed(2) : m.toFixed(1)}M`;
}

/** An elapsed time, coarse: `850 ms`, `12 s`, `3 m 04 s`, `2 h 05 m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${pad2(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${pad2(m % 60)} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** The WebSocket close codes of RFC 6455 §7.4.1 and the IANA registry, with a name. */
const CLOSE_CODES: Record<number, string> = {
  1000: 'Normal Closure',
  1001: 'Going Away',
  1002: 'Protocol Error',
  1003: 'Unsupported Data',
  1005: 'No Status Received',
  1006: 'Abnormal Closure',
  1007: 'Invalid Payload Data',
  1008: 'Policy Violation',
  1009: 'Message Too Big',
  1010: 'Mandatory Extension',
  1011: 'Internal Error',
  1012: 'Service Restart',
  1013: 'Try Again Later',
  1014: 'Bad Gateway',
  1015: 'TLS Handshake',
};

export function closeCodeName(code: number | undefined): string {
  if (code === undefined) return 'no status code';
  if (CLOSE_CODES[code]) return CLOSE_CODES[code];
  if (code >= 3000 && code <= 3999) return 'registered (library/framework)';
  if (code >= 4000 && code <= 4999) return 'application-defined';
  return 'unassigned';
}

/** Codes a client may send in a close frame (RFC 6455 §7.4.2: not 1005, 1006, 1015). */
export function closeCodeSendable(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

export const COMMON_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 4000];

const STATE_LABEL: Record<string, string> = {
  connecting: 'Connecting',
  open: 'Open',
  reconnecting: 'Reconnecting',
  closed: 'Closed',
  failed: 'Failed',
};

/** A connection's state as the status line and the connections menu name it; a state
 * this UI does not know (a newer server) is shown as the server spells it. */
export function formatState(state: string): string {
  return STATE_LABEL[state] ?? state;
}

/** What the frame list's Δt column measures: the time since the row above it (the
 * previous frame shown, so a filter compares the frames it shows), or since the
 * connection's first record. */
export type DeltaMode = 'prev' | 'open';

/** A duration for the Δt column, in ms with microseconds in the fraction, at a width
 * that stays readable: `0 µs`, `850 µs`, `12.35 ms`, `1.204 s`, `2m 05.3s`, `3h 07m`. */
export function formatDelta(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(3)} s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = (ms - m * 60_000) / 1000;
    return `${m}m ${s < 10 ? '0' : ''}${s.toFixed(1)}s`;
  }
  const h = Math.floor(ms / 3_600_000);
  return `${h}h ${pad2(Math.floor((ms - h * 3_600_000) / 60_000))}m`;
}

/** The Δt of a row at time `t`: since `prev` (the row above; none for the first row) or
 * since `origin` (the connection's first record); `null` while what it needs is not
 * loaded. */
export function deltaOf(
  mode: DeltaMode,
  t: number,
  prev: number | undefined,
  origin: number | undefined,
): number | null {
  const from = mode === 'prev' ? prev : origin;
  if (from === undefined) return null;
  // Clocks on one connection only move forward; a negative gap is rounding.
  return Math.max(0, t - from);
}
