// The desktop host, inside the Tauri shell (src-tauri/). The only module that imports
// `@tauri-apps/*`; it is loaded only when the shell is there, so a browser never fetches it.
//
// What the shell offers (src-tauri/export.rs, settings.rs):
// - `save_export({ path, filename }) → bool`: the native save dialog, then the shell
//   streams `path` (an `/api/…` path of the embedded server, fetched with the launch
//   token; no one-use link needed) to the chosen file; `false` when the user cancelled. The page never names a
//   file path, and a large recording never passes through the webview.
// - `import_file() → summary | null`: the native open dialog, then the shell posts the
//   chosen file to `/api/sessions/import` with the token and hands back the server's
//   answer (the new session with its notes); `null` when the user cancelled.
// - `window.__STREAMSCOPE_SHELL__ = { launch, settings }`, set before our scripts run:
//   the stored settings map. localStorage cannot keep them, because it belongs to the
//   origin `http://127.0.0.1:PORT` and the port changes every launch.
// - `secret_get({ key }) → string | null`, `secret_set({ key, value })`,
//   `secret_delete({ key })`: the system keychain (src-tauri/secrets.rs), for the secrets
//   of saved connections and environments, which are never written in plain text.
// - `save_settings({ entries })`: stores the whole map; we send it after changes.
//   A reload within the same launch gets the map the shell loaded at launch, which may be
//   older than ours, so the newest map of this launch is also kept in sessionStorage
//   under the launch id.

import { invoke } from '@tauri-apps/api/core';
import { browserHost, downloadText, memoryStorage } from './browser';
import type { ImportedSession } from '../transport/types';
import type { Host, KeyValue, SecretStore } from './index';

/** The keychain through the shell's commands. */
export function keychain(call: typeof invoke = invoke): SecretStore {
  return {
    get: async (key) => (await call<string | null>('secret_get', { key })) ?? null,
    set: async (key, value) => void (await call('secret_set', { key, value })),
    remove: async (key) => void (await call('secret_delete', { key })),
  };
}

interface ShellInit {
  launch: string;
  settings: Record<string, string>;
}

/** Settings are written at most this often: typing in a field changes them per keystroke. */
const SAVE_DELAY_MS = 400;

function shellInit(): ShellInit | null {
  const s = (window as { __STREAMSCOPE_SHELL__?: ShellInit }).__STREAMSCOPE_SHELL__;
  return s && typeof s.launch === 'string' && typeof s.settings === 'object' ? s : null;
}

function session(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** The settings map, kept in memory, persisted through the shell. */
function shellStorage(init: ShellInit): KeyValue {
  const key = `sscope.shell.${init.launch}`;
  let start: Record<string, string> = init.settings;
  const newer = session()?.getItem(key);
  if (newer) {
    try {
      start = JSON.parse(newer) as Record<string, string>;
    } catch {
      // A damaged copy: the shell's map is the next best.
    }
  }
  const map = new Map(Object.entries(start).filter(([, v]) => typeof v === 'string'));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const save = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const entries = Object.fromEntries(map);
      session()?.setItem(key, JSON.stringify(entries));
      invoke('save_settings', { entries }).catch((e: unknown) => console.warn('streamscope: saving settings', e));
    }, SAVE_DELAY_MS);
  };
  // Closing the window right after a change must not lose it.
  window.addEventListener('pagehide', () => {
    if (timer === undefined) return;
    clearTimeout(timer);
    invoke('save_settings', { entries: Object.fromEntries(map) }).catch(() => {});
  });
  return {
    get: (k) => map.get(k) ?? null,
    set: (k, v) => {
      if (map.get(k) === v) return;
      map.set(k, v);
      save();
    },
    remove: (k) => {
      if (map.delete(k)) save();
    },
  };
}

export function tauriHost(): Host {
  const init = shellInit();
  if (!init) {
    // Tauri without our shell's init script (a plain webview on the page): behave as a browser.
    return { ...browserHost(), kind: 'tauri' };
  }
  let storage: KeyValue;
  try {
    storage = shellStorage(init);
  } catch {
    storage = memoryStorage();
  }
  return {
    kind: 'tauri',
    storage,
    secrets: keychain(),
    async saveExport(path, filename) {
      // The shell fetches with the launch token itself: hand it the path only.
      const u = new URL(path, window.location.href);
      const saved = await invoke<boolean>('save_export', { path: u.pathname + u.search, filename });
      return saved ? 'saved' : 'cancelled';
    },
    async importFile() {
      // The shell reads the file and posts it: its bytes never pass through the webview.
      return (await invoke<ImportedSession | null>('import_file')) ?? null;
    },
    async saveDocument(text, filename, path) {
      if (path) {
        const saved = await invoke<boolean>('save_export', { path, filename });
        return saved ? 'saved' : 'cancelled';
      }
      // No server path (a result measured in the page): the webview's own download.
      downloadText(text, filename);
      return 'saved';
    },
  };
}
