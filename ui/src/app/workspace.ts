// The workspace kept in the host's storage between windows: the panes (settings without
// secrets, the connections each opened and their URLs) with the active one, and the
// theme. Only this module knows the keys and the saved shape. When to save, and what
// the panes do, belong to `panes.svelte.ts`; whether a saved connection still exists on
// the server to `live.svelte.ts`; the charts keep their own settings (chart/state).

import type { Proto } from '../contract';
import type { KeyValue } from '../host';
import { defaultConfig, persistable, restoreConfig, type PaneConfig } from '../store/config';
import { newPaneId, PaneState } from './pane.svelte';

export const WORKSPACE_KEY = 'sscope.workspace';
export const THEME_KEY = 'sscope.theme';

export type Theme = 'system' | 'light' | 'dark';

/** The address of a demo endpoint on this server. */
export type DemoUrl = (path: string, proto: Proto) => string;

export interface Workspace {
  panes: PaneState[];
  /** The focused pane's id; one of `panes` whenever there are any. */
  active: string | null;
}

interface SavedPane {
  id: string;
  config: PaneConfig;
  conns: string[];
  urls?: Record<string, string>;
}

/** The saved workspace, or the two demo panes when there is none (first start, or
 * storage that does not parse). Entries that are not panes are skipped. */
export function restoreWorkspace(kv: KeyValue, demoUrl: DemoUrl): Workspace {
  const raw = kv.get(WORKSPACE_KEY);
  let saved: SavedPane[] = [];
  let active: string | null = null;
  if (raw) {
    try {
      const w = JSON.parse(raw) as { panes?: SavedPane[]; active?: string };
      saved = Array.isArray(w.panes) ? w.panes : [];
      active = typeof w.active === 'string' ? w.active : null;
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
      return pane;
    });
  if (!panes.length) {
    panes = [
      new PaneState(newPaneId(), defaultConfig(demoUrl('/demo/ws/ticker', 'ws'))),
      new PaneState(newPaneId(), defaultConfig(demoUrl('/demo/sse/ticker', 'sse'))),
    ];
  }
  if (!panes.some((p) => p.id === active)) active = panes[0]?.id ?? null;
  return { panes, active };
}

/** Writes the workspace, without secrets (`persistable`). */
export function saveWorkspace(kv: KeyValue, w: Workspace) {
  const saved = {
    panes: w.panes.map((p): SavedPane => ({
      id: p.id,
      config: persistable(p.config),
      conns: p.conns,
      urls: Object.fromEntries(p.conns.map((c) => [c, p.connUrls.get(c) ?? ''])),
    })),
    active: w.active,
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
