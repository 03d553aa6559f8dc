// Where the server is and how to prove we may use it. The page is opened at
// `/?token=…`; the server also sets an HttpOnly cookie on that load, so same-origin
// requests carry it anyway. We read the token once, keep it for this tab (it must
// survive a reload after we strip it from the address bar), and send it explicitly:
// `Authorization: Bearer` on fetches, `?token=` on the live socket, whose handshake
// cannot carry headers.

export interface Session {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  base: string;
  token: string | null;
}

const KEY = 'sscope.token';

interface Place {
  href: string;
  origin: string;
}

/** Reads the token from the URL (then removes it from the address bar) or from this
 * tab's storage. */
export function readSession(
  place: Place = location,
  hist: Pick<History, 'replaceState' | 'state'> = history,
  store: Pick<Storage, 'getItem' | 'setItem'> | null = safeSessionStorage(),
  base?: string,
): Session {
  const url = new URL(place.href);
  let token = url.searchParams.get('token');
  if (token) {
    url.searchParams.delete('token');
    // Keep the token out of history, bookmarks and screenshots of the address bar.
    hist.replaceState(hist.state, '', url.pathname + (url.search === '?' ? '' : url.search) + url.hash);
    store?.setItem(KEY, token);
  } else {
    token = store?.getItem(KEY) ?? null;
  }
  return { base: (base ?? place.origin).replace(/\/$/, ''), token };
}

function safeSessionStorage(): Storage | null {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

/** `ws://host/api/live?token=…&from=…` for the session; with `preview`, the batches come
 * as runs (`format=runs`) with text and event data cut to that many characters; with
 * `watch`, only those connections' records and counts come (and only their cursors go). */
export function liveUrl(
  s: Session,
  cursors: Iterable<[string, number]>,
  preview?: number,
  watch?: Iterable<string>,
): string {
  const u = new URL(s.base + '/api/live');
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (s.token) u.searchParams.set('token', s.token);
  // Without `watch` the server streams every connection; with it (even empty) only these.
  const watched = watch ? new Set(watch) : null;
  if (watched) u.searchParams.set('watch', [...watched].join(','));
  const from = [...cursors]
    .filter(([id, seq]) => seq > 0 && (!watched || watched.has(id)))
    .map(([id, seq]) => `${id}:${seq}`);
  if (from.length) u.searchParams.set('from', from.join(','));
  if (preview !== undefined) {
    u.searchParams.set('format', 'runs');
    u.searchParams.set('preview', String(preview));
  }
  return u.toString();
}

/** The host part (`127.0.0.1:PORT`) the demo endpoints live on. */
export function serverHost(s: Session): string {
  return new URL(s.base).host;
}
