// The browser host: downloads through a link with `download`, settings in localStorage.

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
  };
}
