import { describe, expect, it } from 'vitest';
import type { StreamRecord } from '../contract';
import { ConnLog } from '../store/log';
import { toChunk } from '../transport/decode';
import { DecoderSession } from './session';

let seq = 0;
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString().replace('Z', '000Z');
const rec = (dir: 'in' | 'out' | 'meta', kind: StreamRecord['kind'], ms: number, extra: Partial<StreamRecord> = {}) =>
  ({ t: at(ms), conn: 'c1', proto: 'ws', seq: ++seq, dir, kind, ...extra }) as StreamRecord;

function logOf(records: StreamRecord[]): ConnLog {
  const log = new ConnLog('c1', 'ws', 100);
  log.append(toChunk('c1', records));
  return log;
}

describe('DecoderSession', () => {
  it('guesses JSON-RPC from the messages and shows each answer with its round trip', () => {
    seq = 0;
    const log = logOf([
      rec('meta', 'open', 0, { status: 101 }),
      rec('out', 'text', 10, { data: '{"jsonrpc":"2.0","id":1,"method":"initialize"}', size: 44 }),
      rec('in', 'text', 35, { data: '{"jsonrpc":"2.0","id":1,"result":{"ok":true}}', size: 42 }),
    ]);
    const s = new DecoderSession(log, 'ws://h/mcp', 'auto');
    expect(s.active).toBe('jsonrpc');
    const rows = [1, 2, 3].map((q) => s.decorate(log.ring.row(log.ring.find(q))));
    expect(rows[1]).toMatchObject({ note: 'request → #3', preview: 'initialize #1' });
    expect(rows[2]).toMatchObject({ note: 'result 25 ms', preview: '#1 {"ok":true}' });
    // The open row is not the decoder's: left as it was.
    expect(rows[0].note).toBe('101');
    // Rows arriving later are indexed as they come.
    log.append(
      toChunk('c1', [
        rec('out', 'text', 40, { data: '{"jsonrpc":"2.0","id":2,"method":"ping"}', size: 38 }),
        rec('in', 'text', 41, { data: '{"jsonrpc":"2.0","id":2,"result":{}}', size: 34 }),
      ]),
    );
    expect(s.decorate(log.ring.row(log.ring.find(5))).note).toBe('result 1.0 ms');
    // By hand: none turns the rows back.
    s.choice = 'none';
    expect(s.decorate(log.ring.row(log.ring.find(3))).note).toBe('');
    s.dispose();
  });

  it('follows the negotiated subprotocol over a guess', () => {
    seq = 0;
    const log = logOf([rec('in', 'text', 1, { data: 'CONNECTED\nversion:1.2\n\n\0', size: 24 })]);
    const s = new DecoderSession(log, 'ws://h/x', 'auto');
    s.setSubprotocol('v12.stomp', 'ws://h/x');
    expect(s.active).toBe('stomp');
    expect(s.decorate(log.ring.row(0))).toMatchObject({ note: 'CONNECTED', preview: 'version 1.2' });
  });
});
