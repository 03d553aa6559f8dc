// How the labs' data reads on screen: code in the server's text, a figure's cell (numbers with their unit, strings
// as the lab gave them, a figure that does not apply as "—"), a step's time relative to
// the run's first step, a verdict's label and the file name a saved result gets. Pure
// functions; the views draw, the runners (engine.svelte.ts, connlimit.ts) measure.

import { parseTime } from '../contract';
import type { LabFigure, LabStep, Verdict } from '../transport/types';

/** Shown for a figure that does not apply to a protocol (`null`). */
export const NO_FIGURE = '—';

/** A number as a lab figure reads: whole numbers grouped, fractions to three significant
 * digits (a median of 0.4213 ms is "0.421", not "0"), never in exponent form. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return NO_FIGURE;
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const abs = Math.abs(n);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

/** One cell of the figures table: the value and the figure's unit. Strings are shown as
 * given (the lab chose their words, such as a list of lost ids), without the unit, which
 * belongs to numbers. */
export function formatCell(v: LabFigure['ws'], unit: string): string {
  if (v === null || v === undefined) return NO_FIGURE;
  if (typeof v === 'string') return v;
  const n = formatNumber(v);
  return unit && n !== NO_FIGURE ? `${n} ${unit}` : n;
}

/** Epoch milliseconds (with the microseconds as a fraction) of a step's `t`. */
export function stepTime(s: LabStep): number {
  return parseTime(s.t);
}

/** `+1.234 s` from the run's first step, which is `+0.000 s`: steps are the server's
 * clock, the page's clock is not mixed in. */
export function relativeTime(t: number, start: number): string {
  if (!Number.isFinite(t) || !Number.isFinite(start)) return '';
  const s = Math.max(0, t - start) / 1000;
  return `+${s.toFixed(3)} s`;
}

/** The steps with their times relative to the first one. */
export function timedSteps(steps: readonly LabStep[]): { at: string; text: string }[] {
  const start = steps.length ? stepTime(steps[0]) : NaN;
  return steps.map((s) => ({ at: relativeTime(stepTime(s), start), text: s.text }));
}

export const VERDICT_LABEL: Record<Verdict, string> = {
  true: 'True',
  false: 'False',
  partly: 'Partly true',
  outdated: 'Outdated',
};

/** A verdict the server might add later still gets a readable badge. */
export function verdictLabel(v: string): string {
  return VERDICT_LABEL[v as Verdict] ?? v;
}

/** Text from the server split at backtick pairs (`retry:`, `sscope lab`), which the views
 * set as code. An unpaired backtick stays as it is. */
export function codeSpans(text: string): { code: boolean; text: string }[] {
  const parts = text.split('`');
  if (parts.length % 2 === 0) return [{ code: false, text }];
  return parts.map((t, i) => ({ code: i % 2 === 1, text: t })).filter((p) => p.text !== '');
}

/** `lab-NAME-result.json`, the name safe for any file system. */
export function resultFileName(lab: string): string {
  return `lab-${lab.replace(/[^A-Za-z0-9_-]+/g, '-')}-result.json`;
}
