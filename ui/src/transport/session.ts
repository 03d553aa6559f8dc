// Where the server is and how to prove we may use it. The page is opened at
// `/#token=…` (the fragment never goes over the wire; `?token=` is read too). We read
// the token once, remove it from the address bar, keep it for this tab (it must survive
// a reload; sessionStorage belongs to this origin and port alone, unlike a cookie, which
// every port of 127.0.0.1 would receive), and send it explicitly: `Authorization: Bearer`
// on fetches, and a subprotocol on the live socket, whose handshake cannot carry headers.
// No URL the page builds carries it: downloads use one-use links (api.ts).

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
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ''));
  let token = fragment.get('token') ?? url.searchParams.get('token');
  if (token) {
    url.searchParams.delete('token');
    let hash = url.hash;
    if (fragment.has('token')) {
      fragment.delete('token');
      hash = fragment.toString() ? `#${fragment}` : '';
    }
    // Keep the token out of history, bookmarks and screenshots of the address bar.
    hist.replaceState(hist.state, '', url.pathname + (url.search === '?' ? '' : url.search) + hash);
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

/** The subprotocol the server agrees to (crates/server security.rs LIVE_PROTOCOL). */
export const LIVE_PROTOCOL = 'streamscope.live';

/** The subprotocols to offer the live socket: ours, and the token as
 * `streamscope.token.<token>` (a browser cannot put headers on a WebSocket handshake). */
export function liveProtocols(s: Session): string[] {
  return s.token ? [LIVE_PROTOCOL, `streamscope.token.${s.token}`] : [LIVE_PROTOCOL];
}

/** `ws://host/api/live?from=…` for the session (no token: see `liveProtocols`); with
 * `preview`, the batches come as runs (`format=runs`) with text and event data cut to
 * that many characters; with `watch`, only those connections' records and counts come
 * (and only their cursors go). */
export function liveUrl(
  s: Session,
  cursors: Iterable<[string, number]>,
  preview?: number,
  watch?: Iterable<string>,
): string {
  const u = new URL(s.base + '/api/live');
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
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
