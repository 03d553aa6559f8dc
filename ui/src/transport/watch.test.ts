import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { watchMessage } from './watch';

// The live wire format's fixture, which the server's tests read too (ui_socket.rs).
const live = JSON.parse(readFileSync(new URL('../fixtures/live-batch.json', import.meta.url), 'utf8'));

describe('watchMessage', () => {
  it('says the fixture’s message: the new set, cursors for the connections that join', () => {
    expect(watchMessage(new Set(), ['c4', 'c3'], new Map([['c4', 2]]))).toEqual(live.watch);
  });

  it('leaves out cursors of connections that stay (the server keeps them) and of new ones', () => {
    const last = new Map([
      ['c1', 40],
      ['c2', 7],
    ]);
    expect(watchMessage(new Set(['c1']), ['c1', 'c2', 'c9'], last)).toEqual({
      type: 'watch',
      conns: ['c1', 'c2', 'c9'],
      from: { c2: 7 },
    });
  });

  it('is null when the set does not change, in whatever order', () => {
    expect(watchMessage(new Set(['c1', 'c2']), ['c2', 'c1', 'c2'], new Map())).toBeNull();
    expect(watchMessage(new Set(['c1']), [], new Map())).toEqual({ type: 'watch', conns: [], from: {} });
  });
});
