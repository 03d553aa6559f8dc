// Helpers for the application layer's tests: server connection views and a demo URL
// maker, without a server.

import type { Proto } from '../contract';
import type { ConnView } from '../transport/types';

export const demoUrl = (path: string, proto: Proto) => `${proto === 'ws' ? 'ws' : 'http'}://127.0.0.1:4000${path}`;

export function connView(id: string, over: Partial<ConnView> = {}): ConnView {
  const zero = { events_in: 0, events_out: 0, bytes_in: 0, bytes_out: 0, wire_in: 0, wire_out: 0 };
  return {
    id,
    proto: 'ws',
    url: `ws://127.0.0.1:4000/demo/ws/ticker`,
    name: 'ticker',
    state: 'open',
    since: '2026-01-02T03:04:05Z',
    last_seq: 0,
    recorded_bytes: 0,
    totals: zero,
    rate: zero,
    ...over,
  };
}
