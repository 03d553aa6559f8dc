// What differs between the desktop window and a browser tab: saving a file, picking one
// to import, and keeping settings. Views call the `Host`; only `tauri.ts` may import `@tauri-apps/*`, so the
// same build runs in a browser opened on `sscope serve`.

import type { ImportedSession } from '../transport/types';
import { browserHost } from './browser';

export interface KeyValue {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

/** Secrets that outlive the window without being written in plain text: the desktop's
 * system keychain. A browser has none (it asks again). Keys are the app's own
 * (`saved/<id>/bearer`, `env/<id>/<name>`); a missing entry reads as `null`. */
export interface SecretStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  remove(key: string): Promise<void>;
}

export interface Host {
  readonly kind: 'browser' | 'tauri';
  /** Saves what the server serves at the `/api` `path` (an export, a chart) under a
   * suggested file name. Browser: a download through a one-use link that `link` makes;
   * desktop: the native save dialog, the shell fetching with the token itself. */
  saveExport(path: string, filename: string, link: (path: string) => Promise<string>): Promise<'saved' | 'cancelled'>;
  /** Saves a small document the page already holds (a lab's result) as `filename`.
   * Browser: a download of the text itself; desktop: the native save dialog, the shell
   * fetching `path` (where the server serves the same document) when there is one. */
  saveDocument(text: string, filename: string, path?: string): Promise<'saved' | 'cancelled'>;
  /** Settings and saved messages that outlive the window. */
  readonly storage: KeyValue;
  /** Desktop only: the native open dialog, then the shell posts the chosen file to
   * `/api/sessions/import` itself. Resolves to the server's answer, or `null` when the
   * user cancelled; rejects with `{code, message}`. Without it, a file input picks. */
  importFile?(): Promise<ImportedSession | null>;
  /** Desktop only: the system keychain. Without it, secrets are asked for again. */
  readonly secrets?: SecretStore;
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
