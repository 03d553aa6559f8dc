import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CAUSES, type StreamRecord } from '../contract';
import { adviceFor, budgetNotice } from './advice';

const options = readFileSync(new URL('../views/ConnOptions.svelte', import.meta.url), 'utf8');

describe('advice for a cause', () => {
  it('tells how to trust a certificate with the TLS control, never with command-line flags', () => {
    const a = adviceFor('tls_untrusted', 'ws') ?? '';
    expect(a).toContain('turn off Verify TLS certificates in Request › TLS');
    for (const cause of CAUSES)
      for (const proto of ['ws', 'sse'] as const) expect(adviceFor(cause, proto) ?? '').not.toMatch(/--[a-z]/);
  });

  it('answers a full memory budget with forgetting connections, which the UI can do', () => {
    const a = adviceFor('memory_budget', 'sse') ?? '';
    expect(a).toContain('forget the connections you no longer need (Connections menu)');
  });

  it('names only controls that exist in the Request panel', () => {
    // Every "in Request › X" names a tab, and the control named before it is a label there.
    expect(options).toContain('Verify TLS certificates');
    expect(options).toContain('>Ping every<');
    for (const cause of CAUSES)
      for (const proto of ['ws', 'sse'] as const) {
        for (const m of (adviceFor(cause, proto) ?? '').matchAll(/Request › (\w+)/g)) {
          const tab = m[1];
          const named = tab === 'WebSocket' || tab === 'SSE' ? `'${tab}'` : `>${tab}`;
          expect(options, `tab ${tab}`).toContain(named);
        }
      }
  });

  it('branches on the protocol where the controls differ', () => {
    expect(adviceFor('handshake_rejected', 'sse')).toContain('Method and Body in Request › SSE');
    expect(adviceFor('handshake_rejected', 'ws')).not.toContain('Method');
  });

  it('has nothing to say for causes no control can help with, or codes it does not know', () => {
    expect(adviceFor('transport_lost', 'ws')).toBeNull();
    expect(adviceFor('quantum_flux', 'sse')).toBeNull();
    expect(adviceFor(undefined, 'sse')).toBeNull();
  });
});

describe('the budget notice', () => {
  it('is shown for a spent disk or memory budget, and for nothing else', () => {
    const err = (cause?: string): StreamRecord => ({
      t: '2026-01-02T03:04:05Z',
      conn: 'c1',
      proto: 'ws',
      seq: 9,
      dir: 'meta',
      kind: 'error',
      message: 'recording stopped',
      ...(cause ? { cause } : {}),
    });
    expect(budgetNotice(err('disk_budget'))).toMatch(/^The disk budget for recordings is spent: .*delete sessions/);
    expect(budgetNotice(err('memory_budget'))).toMatch(/^The memory for recordings is spent/);
    expect(budgetNotice(err('refused'))).toBeNull();
    expect(budgetNotice(err())).toBeNull();
    expect(budgetNotice(undefined)).toBeNull();
  });
});
