// The browser host: downloads through a link with `download` (a one-use server link, or
// the text itself for small documents), settings in localStorage.

import type { Host, KeyValue } from './index';

export function memoryStorage(): KeyValue {
  const m = new Map<string, string>();
  return {
    get: (k) => m.get(k) ?? null,
    set: (k, v) => void m.set(k, v),
    remove: (k) => void m.delete(k),
  };
}

export function localStorageKV(): KeyValue {
  try {
    const ls = window.localStorage;
    ls.getItem('sscope.probe');
    return {
      get: (k) => ls.getItem(k),
      set: (k, v) => {
        try {
          ls.setItem(k, v);
        } catch {
          // Quota exceeded or storage disabled: settings stay for this session only.
        }
      },
      remove: (k) => ls.removeItem(k),
    };
  } catch {
    return memoryStorage();
  }
}

export function browserHost(): Host {
  return {
    kind: 'browser',
    storage: localStorageKV(),
    async saveExport(path, filename, link) {
      // A plain link streams the file to disk; fetching it into a Blob first would hold
      // a whole recording in memory. The link is one-use, so it carries no token.
      const a = document.createElement('a');
      a.href = await link(path);
      a.download = filename;
      a.rel = 'noopener';
      document.body.append(a);
      a.click();
      a.remove();
      return 'saved';
    },
    async saveDocument(text, filename) {
      downloadText(text, filename);
      return 'saved';
    },
  };
}

/** Downloads `text` as `filename` from memory: for documents of a few kilobytes that the
 * page holds already (the one-use download links serve only exports and charts). */
export function downloadText(text: string, filename: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has taken its copy once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
