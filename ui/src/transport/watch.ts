// Which connections the live socket streams: the message that changes the set while the
// socket is open (`/api/live`'s `{"type":"watch"}`, crates/server/src/ui_socket.rs). The
// set itself is the page's (its panes' connections); this module only says it in the
// server's words, so the worker and the tests share one spelling.

/** The client's message on `/api/live`. */
export interface WatchMessage {
  type: 'watch';
  /** The whole new set: connections left out get nothing more. */
  conns: string[];
  /** For joining connections, the last seq already held: records after it come. A
   * joining connection without an entry starts at its first record. */
  from: Record<string, number>;
}

/** The message that moves the server from watching `before` to `after`, with the
 * cursors in `last` for connections that join (those that stay keep theirs on the
 * server). `null` when nothing changes. */
export function watchMessage(
  before: ReadonlySet<string>,
  after: Iterable<string>,
  last: ReadonlyMap<string, number>,
): WatchMessage | null {
  const conns = [...new Set(after)];
  const from: Record<string, number> = {};
  for (const id of conns) {
    const seq = last.get(id);
    if (!before.has(id) && seq !== undefined && seq > 0) from[id] = seq;
  }
  const same = conns.length === before.size && conns.every((id) => before.has(id));
  return same ? null : { type: 'watch', conns, from };
}
