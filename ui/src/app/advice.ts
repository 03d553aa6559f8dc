// What to do after a failure, in the words of this UI's controls. The engine's error
// records say what happened and carry a `cause` code; the command line words its own
// advice (flags) for the same codes, here the advice names the pane's controls.

import type { Proto, StreamRecord } from '../contract';

/** The advice for an error record, or null when no control of the pane can help (or
 * the cause is one this build does not know). */
export function adviceFor(cause: string | undefined, proto: Proto): string | null {
  switch (cause) {
    case 'refused':
      return 'Nothing listens at that address: check that the server runs and that the port in the URL is right.';
    case 'dns':
      return 'The host name does not resolve: check the host in the URL.';
    case 'connect_timeout':
      return 'The server did not answer in time: check the address, and that no firewall drops the connection.';
    case 'tls_untrusted':
      return 'The server’s certificate is not trusted. For a test server with a self-signed certificate, turn off Verify TLS certificates in Request › TLS.';
    case 'tls_other':
      return 'The TLS handshake failed: check that the URL’s port speaks TLS (wss://, https://) and not plain HTTP.';
    case 'handshake_rejected':
      return proto === 'ws'
        ? 'The server refused the WebSocket upgrade: check the path, and the headers or token it needs in Request › Headers and Request › Auth.'
        : 'The server refused the request: check the path, the Method and Body in Request › SSE, and the headers or token it needs in Request › Headers and Request › Auth.';
    case 'not_event_stream':
      return 'This URL answers, but not with an event stream (text/event-stream): check the path. A WebSocket endpoint needs a ws:// or wss:// URL.';
    case 'too_big':
      return 'The peer sent more than this connection’s size limit allows.';
    case 'pong_timeout':
      return 'No pong came back in time: the peer or the path to it is dead or slow. A longer interval in Ping every (Request › WebSocket) waits longer.';
    case 'idle_timeout':
      return 'The stream was silent for longer than the idle limit allows.';
    case 'attempts_exhausted':
      return 'Reconnecting failed every time: check that the server is up, then Connect again.';
    case 'memory_budget':
      // The budget is fixed when the server starts and no control of the UI changes it
      // (the desktop app has no command line): what the user can do here is free memory.
      return 'Recordings filled the memory set aside for them: close the panes and forget the connections you no longer need (Connections menu), then Connect again.';
    case 'disk_budget':
      // Nothing is deleted without the user: freeing room is theirs to choose.
      return 'The recorded sessions filled the disk space set aside for them, or the disk refused a write: delete sessions you no longer need in the library, then Connect again.';
    default:
      return null;
  }
}

/** The advice for a record, when it is an error record with a cause. */
export function adviceForRecord(r: StreamRecord): string | null {
  return r.kind === 'error' ? adviceFor(r.cause, r.proto) : null;
}

/** The notice a pane shows when its connection ended because recording had to stop (a
 * budget of the server's was spent): that is about the app, not the peer, and must be
 * seen without opening the error row. `null` for any other record. */
export function budgetNotice(r: StreamRecord | undefined): string | null {
  if (r?.kind !== 'error' || (r.cause !== 'disk_budget' && r.cause !== 'memory_budget')) return null;
  const what =
    r.cause === 'disk_budget' ? 'The disk budget for recordings is spent' : 'The memory for recordings is spent';
  return `${what}: this connection stopped recording. ${adviceFor(r.cause, r.proto)}`;
}
