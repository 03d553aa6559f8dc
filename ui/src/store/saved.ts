// Saved messages, per pane, kept by the host's storage (localStorage in a browser).

import type { KeyValue } from '../host';

export type SendMode = 'text' | 'json' | 'binary' | 'ping' | 'close';
export type ByteFormat = 'hex' | 'base64' | 'text';

export interface SavedMessage {
  name: string;
  mode: SendMode;
  /** Text, JSON, hex or base64, depending on mode and format. */
  payload: string;
  format?: ByteFormat;
  code?: number;
}

const MAX_SAVED = 200;

function key(paneId: string) {
  return `sscope.saved.${paneId}`;
}

function valid(m: unknown): m is SavedMessage {
  if (typeof m !== 'object' || m === null) return false;
  const s = m as SavedMessage;
  return (
    typeof s.name === 'string' &&
    typeof s.payload === 'string' &&
    ['text', 'json', 'binary', 'ping', 'close'].includes(s.mode)
  );
}

export function loadSaved(kv: KeyValue, paneId: string): SavedMessage[] {
  const raw = kv.get(key(paneId));
  if (!raw) return [];
  try {
    const list = JSON.parse(raw) as unknown;
    return Array.isArray(list) ? list.filter(valid) : [];
  } catch {
    return [];
  }
}

/** Adds or replaces (by name) a saved message; newest first. */
export function saveMessage(kv: KeyValue, paneId: string, msg: SavedMessage): SavedMessage[] {
  const list = loadSaved(kv, paneId).filter((m) => m.name !== msg.name);
  list.unshift(msg);
  const kept = list.slice(0, MAX_SAVED);
  kv.set(key(paneId), JSON.stringify(kept));
  return kept;
}

export function deleteSaved(kv: KeyValue, paneId: string, name: string): SavedMessage[] {
  const list = loadSaved(kv, paneId).filter((m) => m.name !== name);
  if (list.length) kv.set(key(paneId), JSON.stringify(list));
  else kv.remove(key(paneId));
  return list;
}

export function forgetPane(kv: KeyValue, paneId: string) {
  kv.remove(key(paneId));
}
