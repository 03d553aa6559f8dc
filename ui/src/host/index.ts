// What differs between the desktop window and a browser tab: saving a file and keeping
// settings. Views call the `Host`; only `tauri.ts` may import `@tauri-apps/*`, so the
// same build runs in a browser opened on `sscope serve`.

import { browserHost } from './browser';

export interface KeyValue {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

export interface Host {
  readonly kind: 'browser' | 'tauri';
  /** Saves a connection's NDJSON export, served at `url`, under a suggested file name.
   * Browser: a download; desktop: the native save dialog. */
  saveExport(url: string, filename: string): Promise<'saved' | 'cancelled'>;
  /** Settings and saved messages that outlive the window. */
  readonly storage: KeyValue;
}

/** True inside the Tauri shell (its runtime defines this global before our code runs). */
export function inTauri(w: object = globalThis): boolean {
  return '__TAURI_INTERNALS__' in w;
}

let current: Host | null = null;

/** The host for this window; the desktop implementation is loaded only in the shell. */
export async function getHost(): Promise<Host> {
  if (current) return current;
  if (inTauri()) {
    const { tauriHost } = await import('./tauri');
    current = tauriHost();
  } else current = browserHost();
  return current;
}
