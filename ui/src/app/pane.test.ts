import { describe, expect, it } from 'vitest';
import { ApiError } from '../transport/api';
import type { ConnState } from '../transport/types';
import { isLive, newPaneId, toPaneError } from './pane.svelte';

describe('a pane', () => {
  it('marks the URL field for an invalid URL and keeps the server’s code otherwise', () => {
    expect(toPaneError(new ApiError('invalid_url', 'no host in ws://', 400))).toEqual({
      code: 'invalid_url',
      message: 'no host in ws://',
      field: 'url',
    });
    expect(toPaneError(new ApiError('unknown_connection', 'no c9', 404)).field).toBeUndefined();
    expect(toPaneError(new Error('boom'))).toEqual({ code: 'unexpected', message: 'boom' });
    expect(toPaneError('odd')).toEqual({ code: 'unexpected', message: 'odd' });
  });

  it('counts connecting, open and reconnecting as live', () => {
    const states: (ConnState | undefined)[] = ['connecting', 'open', 'reconnecting', 'closed', 'failed', undefined];
    expect(states.map(isLive)).toEqual([true, true, true, false, false, false]);
  });

  it('gets a fresh id each time', () => {
    expect(newPaneId()).not.toBe(newPaneId());
  });
});
