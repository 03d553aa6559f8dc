// The repeat sender as the UI asks for it: the request the server's repeat command takes
// (POST /api/connections/{id}/repeat), checked against the same bounds, and what the
// Sender shows of a running repeat. The server runs the repeat and reports it in the
// connection's listing; nothing here keeps time. The form itself is `views/Sender.svelte`.

import { formatCount } from '../lib/format';
import type { RepeatRequest, RepeatView, SendRequest } from '../transport/types';

/** The server's bounds (crates/engine/src/session/repeat.rs). */
export const MIN_INTERVAL_MS = 1;
export const MAX_INTERVAL_MS = 86_400_000;
export const MAX_COUNT = 10_000_000;

export type RepeatCheck = { ok: true; request: RepeatRequest } | { ok: false; message: string };

/** The repeat request for `message` every `intervalMs`, `count` times (`null`: until
 * stopped), or why it cannot be asked for. */
export function repeatRequest(message: SendRequest, intervalMs: number, count: number | null): RepeatCheck {
  if (message.kind === 'close') return { ok: false, message: 'a close cannot repeat: send it once' };
  if (!Number.isInteger(intervalMs) || intervalMs < MIN_INTERVAL_MS || intervalMs > MAX_INTERVAL_MS)
    return {
      ok: false,
      message: `repeat every ${formatCount(MIN_INTERVAL_MS)} to ${formatCount(MAX_INTERVAL_MS)} ms (one day)`,
    };
  if (count !== null && (!Number.isInteger(count) || count < 1 || count > MAX_COUNT))
    return { ok: false, message: `repeat 1 to ${formatCount(MAX_COUNT)} times, or leave the count empty` };
  const request: RepeatRequest = { message, interval_ms: intervalMs };
  if (count !== null) request.count = count;
  return { ok: true, request };
}

/** A count field's value: empty (or 0) means "until stopped". */
export function countOf(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return n === 0 ? null : n;
}

/** "repeating every 250 ms — sent 3 of 10": the progress the server reported. */
export function repeatNote(r: RepeatView): string {
  const of = r.count === undefined ? '' : ` of ${formatCount(r.count)}`;
  return `repeating every ${formatCount(r.interval_ms)} ms — sent ${formatCount(r.sent)}${of}`;
}

/** Whether the Sender shows a repeat as running: the server lists one that was not just
 * stopped, or one was just started and the listing has not caught up yet. */
export function isRepeating(
  listed: RepeatView | null | undefined,
  started: string | null,
  stopped: string | null,
): boolean {
  if (listed && listed.id !== stopped) return true;
  return started !== null && started !== stopped;
}
