import { describe, expect, it } from 'vitest';
import type { ConnListing, ConnView, TapView } from '../transport/types';
import { newTapConns, splitHosts, tapAddresses, Taps } from './taps.svelte';

function listing(id: string, tap?: boolean): ConnListing {
  return { id, proto: 'ws', url: 'ws://x/', name: id, state: 'open', since: '', ...(tap ? { tap } : {}) };
}

describe('taps', () => {
  it('offers only tapped connections not shown before', () => {
    const shown = new Set(['c2']);
    const got = newTapConns([listing('c1'), listing('c2', true), listing('c3', true)], shown);
    expect(got.map((l) => l.id)).toEqual(['c3']);
  });

  it('reads the hosts to decrypt from one field', () => {
    expect(splitHosts(' api.example.com, *.example.org  localhost,,')).toEqual([
      'api.example.com',
      '*.example.org',
      'localhost',
    ]);
  });

  it('names the addresses the app is pointed at', () => {
    const tap = { id: 't1', listen: '127.0.0.1:4100' } as TapView;
    expect(tapAddresses(tap)).toEqual({ ws: 'ws://127.0.0.1:4100', http: 'http://127.0.0.1:4100' });
  });

  it('opens each recorded stream in a pane once, and keeps the server’s refusal in words', async () => {
    const attached: string[] = [];
    const taps = new Taps({
      api: {
        taps: async () => [],
        startTap: async () => {
          throw Object.assign(new Error('the tap listens on loopback only'), { code: 'bad_request' });
        },
        stopTap: async () => {},
        tapCa: async () => new Blob(['-----BEGIN CERTIFICATE-----']),
        deleteTapCa: async () => {},
        list: async () => [{ ...listing('c4', true) } as ConnView],
      },
      attach: (v) => attached.push(v.id),
    });
    await taps.showNew([listing('c4', true)]);
    await taps.showNew([listing('c4', true)]);
    expect(attached).toEqual(['c4']);
    expect(await taps.start(0, 'ws://x/', false)).toBeNull();
    expect(taps.problem).toBe('the tap listens on loopback only');
  });
});
