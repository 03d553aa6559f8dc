// The chart's line colours, the same table as `PALETTE_LIGHT` / `PALETTE_DARK` in
// crates/chart/src/lib.rs (a Rust test reads this file and compares): a pane's swatch in
// the legend and its line in the chart are one colour. Blue and orange first, the pair
// every kind of colour vision tells apart, for the WS and SSE panes the app opens with.

export const PALETTE_LIGHT = [
  '#2563eb',
  '#ea580c',
  '#16a34a',
  '#c026d3',
  '#0891b2',
  '#ca8a04',
  '#dc2626',
  '#7c3aed',
  '#4b5563',
  '#65a30d',
] as const;

export const PALETTE_DARK = [
  '#60a5fa',
  '#fb923c',
  '#4ade80',
  '#e879f9',
  '#22d3ee',
  '#facc15',
  '#f87171',
  '#a78bfa',
  '#9ca3af',
  '#a3e635',
] as const;

export const PALETTE_LEN = PALETTE_LIGHT.length;

/** The colour of palette index `i` (wrapping) on a light or dark background. */
export function paletteColor(i: number, dark: boolean): string {
  const p = dark ? PALETTE_DARK : PALETTE_LIGHT;
  return p[((i % p.length) + p.length) % p.length];
}

/** The smallest palette index none of `taken` uses; wraps when all are taken. */
export function freeColor(taken: Iterable<number>): number {
  const used = new Set(taken);
  for (let i = 0; i < PALETTE_LEN; i++) if (!used.has(i)) return i;
  return used.size % PALETTE_LEN;
}
