// Which decoder reads a connection: from the subprotocol the server agreed to, or the
// URL, where they say (`v12.stomp`, `graphql-transport-ws`, `/socket.io/?EIO=4`), else
// from what its first messages look like. The pane's choice by hand overrides both.

import type { DecoderId } from './protocols';

/** The decoder a negotiated subprotocol or a URL names, or `null`. */
export function decoderFor(subprotocol: string | undefined, url: string): DecoderId | null {
  const sp = (subprotocol ?? '').toLowerCase();
  if (sp === 'graphql-transport-ws') return 'graphql-transport-ws';
  // subscriptions-transport-ws negotiates "graphql-ws" (the graphql-ws library does not).
  if (sp === 'graphql-ws') return 'graphql-ws';
  if (/(^|[.-])stomp$/.test(sp)) return 'stomp';
  if (/msgpack/.test(sp)) return 'msgpack';
  if (/json-?rpc|^mcp$/.test(sp)) return 'jsonrpc';
  try {
    const u = new URL(url);
    if (/\/socket\.io\/?$/.test(u.pathname) || u.searchParams.get('EIO') === '4') return 'socketio';
  } catch {
    // Not a URL: nothing to tell from it.
  }
  return null;
}

const SNIFF: [DecoderId, RegExp][] = [
  ['jsonrpc', /^\s*\[?\s*\{.*"jsonrpc"\s*:\s*"2\.0"/],
  // Engine.IO's open packet, a Socket.IO packet with a JSON payload, or the upgrade
  // probe: plain numbers ("42") are not enough.
  ['socketio', /^0\{"sid"|^4[0-6](\/[\w/.-]*,)?\d*[[{]|^40$|^[23]probe$/],
  ['graphql-ws', /^\s*\{.*"type"\s*:\s*"(ka|data|start|connection_error)"/],
  ['graphql-transport-ws', /^\s*\{.*"type"\s*:\s*"(connection_ack|next|subscribe|complete)"/],
  ['stomp', /^(CONNECT|STOMP|CONNECTED|SEND|SUBSCRIBE|MESSAGE|RECEIPT|ERROR)⏎/],
];

/** The decoder the first data previews of a connection (both directions, in order) point
 * to: one that reads at least two of them and more than any other. */
export function sniffDecoder(previews: readonly string[]): DecoderId | null {
  let best: DecoderId | null = null;
  let bestHits = 1;
  for (const [id, re] of SNIFF) {
    const hits = previews.filter((p) => re.test(p)).length;
    if (hits > bestHits) {
      best = id;
      bestHits = hits;
    }
  }
  return best;
}
