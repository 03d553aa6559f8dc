// The workspace kept in the host's storage between windows: the panes (settings without
// secrets, the connections each opened and their URLs, those shown from the session
// library, where Clear started each view, the Δt mode and the decoder chosen) with the
// active one, the library session that
// was recording (so a restarted server's panes can say where their frames went), and the
// theme. Only this module knows the keys and the saved shape. When to save, and what
// the panes do, belong to `panes.svelte.ts`; whether a saved connection still exists on
// the server to `live.svelte.ts`; the charts keep their own settings (chart/state).

import type { Proto } from '../contract';
import type { KeyValue } from '../host';
import { defaultConfig, persistable, restoreConfig, type PaneConfig } from '../store/config';
import { newPaneId, PaneState, type EarlierSession, type RecordedConn } from './pane.svelte';
import type { DeltaMode } from '../lib/format';
import { DECODERS } from '../decoders/protocols';
import type { DecoderChoice } from '../decoders/session';

/** A decoder choice this build knows; anything else reads as `auto`. */
function isDecoderChoice(v: unknown): v is DecoderChoice {
  return v === 'auto' || v === 'none' || v === 'llm' || DECODERS.some((d) => d.id === v);
}

export const WORKSPACE_KEY = 'sscope.workspace';
export const THEME_KEY = 'sscope.theme';

export type Theme = 'system' | 'light' | 'dark';

/** The address of a demo endpoint on this server. */
export type DemoUrl = (path: string, proto: Proto) => string;

export interface Workspace {
  panes: PaneState[];
  /** The focused pane's id; one of `panes` whenever there are any. */
  active: string | null;
  /** The library session the server was recording into when saved; `null` when unknown. */
  recording?: number | null;
}

interface SavedPane {
  id: string;
  config: PaneConfig;
  conns: string[];
  urls?: Record<string, string>;
  recorded?: Record<string, RecordedConn>;
  earlier?: EarlierSession | null;
  cleared?: Record<string, number>;
  /** How the frame list's Δt column counts, and what the frames are read with. */
  delta?: DeltaMode;
  decoder?: DecoderChoice;
  /** The saved connection the pane's settings belong to. */
  savedAs?: { collection: string; item: string } | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The entries of a saved map that have the right shape; storage may hold anything. */
function entries<T>(raw: unknown, ok: (v: unknown) => v is T): [string, T][] {
  return isObject(raw) ? (Object.entries(raw).filter(([, v]) => ok(v)) as [string, T][]) : [];
}

const isRecorded = (v: unknown): v is RecordedConn =>
  isObject(v) && typeof v.session === 'number' && typeof v.started === 'string' && typeof v.recordedAs === 'string';

function restoreEarlier(v: unknown): EarlierSession | null {
  if (!isObject(v) || !Array.isArray(v.conns)) return null;
  return {
    session: typeof v.session === 'number' ? v.session : null,
    conns: v.conns.filter((c): c is string => typeof c === 'string'),
    ...(typeof v.name === 'string' ? { name: v.name } : {}),
    ...(typeof v.started === 'string' ? { started: v.started } : {}),
    ...(v.missing === true ? { missing: true } : {}),
  };
}

/** The saved workspace, or the two demo panes when there is none (first start, or
 * storage that does not parse). Entries that are not panes are skipped. */
export function restoreWorkspace(kv: KeyValue, demoUrl: DemoUrl): Workspace {
  const raw = kv.get(WORKSPACE_KEY);
  let saved: SavedPane[] = [];
  let active: string | null = null;
  let recording: number | null = null;
  if (raw) {
    try {
      const w = JSON.parse(raw) as { panes?: SavedPane[]; active?: string; recording?: number };
      saved = Array.isArray(w.panes) ? w.panes : [];
      active = typeof w.active === 'string' ? w.active : null;
      recording = typeof w.recording === 'number' ? w.recording : null;
    } catch {
      saved = [];
    }
  }
  let panes = saved
    .filter((p) => p && typeof p.id === 'string')
    .map((p) => {
      const pane = new PaneState(p.id, restoreConfig(p.config, demoUrl('/demo/ws/ticker', 'ws')));
      pane.conns = Array.isArray(p.conns) ? p.conns.filter((c) => typeof c === 'string') : [];
      for (const [id, url] of Object.entries(p.urls ?? {})) if (typeof url === 'string') pane.connUrls.set(id, url);
      pane.recorded = Object.fromEntries(entries(p.recorded, isRecorded).filter(([id]) => pane.conns.includes(id)));
      pane.earlier = restoreEarlier(p.earlier);
      pane.cleared = Object.fromEntries(
        entries(p.cleared, (v): v is number => typeof v === 'number').filter(([id]) => pane.conns.includes(id)),
      );
      if (p.delta === 'prev' || p.delta === 'open') pane.delta = p.delta;
      if (isDecoderChoice(p.decoder)) pane.decoder = p.decoder;
      const sa = p.savedAs;
      if (isObject(sa) && typeof sa.collection === 'string' && typeof sa.item === 'string')
        pane.savedAs = { collection: sa.collection, item: sa.item };
      return pane;
    });
  if (!panes.length) {
    panes = [
      new PaneState(newPaneId(), defaultConfig(demoUrl('/demo/ws/ticker', 'ws'))),
      new PaneState(newPaneId(), defaultConfig(demoUrl('/demo/sse/ticker', 'sse'))),
    ];
  }
  if (!panes.some((p) => p.id === active)) active = panes[0]?.id ?? null;
  return { panes, active, recording };
}

/** Writes the workspace, without secrets (`persistable`). */
export function saveWorkspace(kv: KeyValue, w: Workspace) {
  const saved = {
    panes: w.panes.map((p): SavedPane => ({
      id: p.id,
      config: persistable(p.config),
      conns: p.conns,
      urls: Object.fromEntries(p.conns.map((c) => [c, p.connUrls.get(c) ?? ''])),
      // Settings in `recorded` come from the server without secrets.
      recorded: p.recorded,
      earlier: p.earlier,
      cleared: p.cleared,
      delta: p.delta,
      decoder: p.decoder,
      savedAs: p.savedAs,
    })),
    active: w.active,
    recording: w.recording,
  };
  kv.set(WORKSPACE_KEY, JSON.stringify(saved));
}

/** The chosen theme; `system` when none was chosen or the value is not one. */
export function restoreTheme(kv: KeyValue): Theme {
  const t = kv.get(THEME_KEY);
  return t === 'light' || t === 'dark' || t === 'system' ? t : 'system';
}

export function saveTheme(kv: KeyValue, t: Theme) {
  kv.set(THEME_KEY, t);
}
