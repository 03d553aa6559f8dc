import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decoderFor, sniffDecoder } from './choose';
import { RpcIndex, rpcFromPreview } from './jsonrpc';
import { decodeGraphql, decodeJsonRpc, decodeMsgpack, decodeSocketIo, decodeStomp, msgpackHead } from './protocols';

describe('Socket.IO (Engine.IO v4)', () => {
  it('reads Engine.IO packets', () => {
    const open = decodeSocketIo(
      '0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
    );
    expect(open).toMatchObject({ label: 'open', summary: 'sid abc · ping every 25000 ms' });
    expect(open?.fields).toContainEqual(['pingTimeout', '20000']);
    expect(decodeSocketIo('2')).toMatchObject({ label: 'ping', summary: '' });
    expect(decodeSocketIo('3probe')).toMatchObject({ label: 'pong', summary: 'probe' });
  });
  it('reads Socket.IO packets inside messages: event, namespace, ack, binary', () => {
    expect(decodeSocketIo('40{"sid":"x"}')).toMatchObject({ label: 'CONNECT', summary: '{"sid":"x"}' });
    const ev = decodeSocketIo('42["chat message",{"text":"hi"}]');
    expect(ev).toMatchObject({ label: 'EVENT', summary: 'chat message [{"text":"hi"}]' });
    expect(ev?.fields).toContainEqual(['event', '"chat message"']);
    const ack = decodeSocketIo('42/admin,17["update",1]');
    expect(ack).toMatchObject({ label: 'EVENT', summary: '/admin update [1] (ack 17)' });
    expect(ack?.fields).toContainEqual(['namespace', '/admin']);
    expect(decodeSocketIo('4317[true]')).toMatchObject({ label: 'ACK', summary: '[true] (ack 17)' });
    const bin = decodeSocketIo('451-["upload",{"_placeholder":true,"num":0}]');
    expect(bin?.label).toBe('BINARY_EVENT');
    expect(bin?.fields).toContainEqual(['binary attachments', '1']);
    expect(decodeSocketIo('hello')).toBeNull();
  });
});

describe('GraphQL over WebSocket', () => {
  it('reads graphql-transport-ws messages', () => {
    const sub = decodeGraphql(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: 'subscription OnMsg {\n  msg\n}', operationName: 'OnMsg', variables: { a: 1 } },
      }),
    );
    expect(sub).toMatchObject({ label: 'subscribe', summary: '#1 OnMsg: subscription OnMsg { msg }' });
    expect(sub?.fields).toContainEqual(['variables', '{"a":1}']);
    expect(decodeGraphql('{"id":"1","type":"next","payload":{"data":{"msg":"hi"}}}')).toMatchObject({
      label: 'next',
      summary: '#1 {"msg":"hi"}',
    });
    expect(decodeGraphql('{"id":"1","type":"error","payload":[{"message":"bad"}]}')).toMatchObject({
      summary: '#1 bad',
    });
    expect(decodeGraphql('{"type":"connection_ack"}')).toMatchObject({ label: 'connection_ack', summary: '' });
    expect(decodeGraphql('{"type":"ka"}')?.label).toBe('ka');
    expect(decodeGraphql('[1,2]')).toBeNull();
  });
});

describe('STOMP', () => {
  it('reads frames, headers (escaped) and bodies', () => {
    const m = decodeStomp(
      'MESSAGE\nsubscription:sub-0\nmessage-id:007\ndestination:/topic/a\\cb\ncontent-type:text/plain\n\nhello\0',
    );
    expect(m).toMatchObject({ label: 'MESSAGE', summary: '/topic/a:b hello' });
    expect(m?.fields).toContainEqual(['message-id', '007']);
    expect(m?.fields).toContainEqual(['body', 'hello']);
    expect(decodeStomp('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0')).toMatchObject({
      label: 'CONNECTED',
      summary: 'version 1.2 · heart-beat 0,0',
    });
    expect(decodeStomp('\n')).toMatchObject({ label: 'heart-beat' });
    expect(decodeStomp('HELLO\n\n\0')).toBeNull();
  });
});

describe('JSON-RPC', () => {
  it('reads requests, notifications, results, errors and batches', () => {
    expect(decodeJsonRpc('{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}')).toMatchObject({
      label: 'request',
      summary: 'tools/list #1 {}',
      rpc: { id: '1', role: 'request', method: 'tools/list' },
    });
    expect(decodeJsonRpc('{"jsonrpc":"2.0","method":"notify"}')?.label).toBe('notification');
    expect(decodeJsonRpc('{"jsonrpc":"2.0","id":"a","result":[1]}')).toMatchObject({
      label: 'result',
      summary: '#a [1]',
    });
    expect(
      decodeJsonRpc('{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"Method not found"}}'),
    ).toMatchObject({
      label: 'error',
      summary: '#2 -32601 Method not found',
    });
    expect(
      decodeJsonRpc('[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":2,"method":"b"}]')?.summary,
    ).toMatch(/^batch of 2: a #1/);
    expect(decodeJsonRpc('{"n":1}')).toBeNull();
  });

  it('matches each response to its request the other way, with the round trip', () => {
    const ix = new RpcIndex();
    ix.observe(2, 1000, 'out', { id: '1', role: 'request', method: 'a' });
    ix.observe(3, 1001, 'out', { id: '2', role: 'request', method: 'b' });
    // A request from the server with the same id as ours is a different request.
    ix.observe(4, 1002, 'in', { id: '1', role: 'request', method: 'server/ask' });
    ix.observe(5, 1012.5, 'in', { id: '2', role: 'response' });
    ix.observe(6, 1020, 'in', { id: '1', role: 'response' });
    expect(ix.responses.get(5)).toEqual({ requestSeq: 3, method: 'b', rttMs: 11.5 });
    expect(ix.responses.get(6)).toEqual({ requestSeq: 2, method: 'a', rttMs: 20 });
    expect(ix.answered.get(2)).toEqual({ responseSeq: 6, rttMs: 20 });
    // An answer to nothing matches nothing.
    ix.observe(7, 1030, 'in', { id: '9', role: 'response' });
    expect(ix.responses.has(7)).toBe(false);
  });

  it('reads id and method from a preview cut short', () => {
    expect(
      rpcFromPreview('{"jsonrpc":"2.0","id":"x-1","method":"tools/call","params":{"arguments":{"text":"lo'),
    ).toEqual({
      id: 'x-1',
      role: 'request',
      method: 'tools/call',
    });
    expect(rpcFromPreview('{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"…')).toEqual({
      id: '7',
      role: 'response',
    });
  });
});

describe('MessagePack', () => {
  it('decodes a message, and names a cut one by its first byte', () => {
    const bytes = encode({ op: 'trade', px: 101.5, qty: 3, tags: ['a'] });
    const d = decodeMsgpack(bytes);
    expect(d).toMatchObject({ label: 'map(4)', value: { op: 'trade', px: 101.5, qty: 3, tags: ['a'] } });
    expect(d?.fields).toContainEqual(['op', '"trade"']);
    expect(decodeMsgpack(Uint8Array.of(0xc1))).toBeNull();
    expect(msgpackHead(0x85)).toBe('map(5)');
    expect(msgpackHead(0x93)).toBe('array(3)');
    expect(msgpackHead(0xdc)).toBe('array');
  });
});

describe('choosing a decoder', () => {
  it('follows the subprotocol or the URL', () => {
    expect(decoderFor('graphql-transport-ws', 'ws://h/graphql')).toBe('graphql-transport-ws');
    expect(decoderFor('graphql-ws', 'ws://h/graphql')).toBe('graphql-ws');
    expect(decoderFor('v12.stomp', 'ws://h/stomp')).toBe('stomp');
    expect(decoderFor('wamp.2.msgpack', 'ws://h/')).toBe('msgpack');
    expect(decoderFor(undefined, 'ws://h/socket.io/?EIO=4&transport=websocket')).toBe('socketio');
    expect(decoderFor('chat', 'ws://h/x')).toBeNull();
  });
  it('guesses from the first messages', () => {
    expect(sniffDecoder(['{"jsonrpc":"2.0","id":1,"method":"a"}', '{"jsonrpc":"2.0","id":1,"result":1}'])).toBe(
      'jsonrpc',
    );
    expect(sniffDecoder(['0{"sid":"a"}', '40', '42["x"]'])).toBe('socketio');
    expect(sniffDecoder(['CONNECTED⏎version:1.2⏎⏎·', 'MESSAGE⏎destination:/a⏎⏎x·'])).toBe('stomp');
    expect(sniffDecoder(['{"n":1}', '{"n":2}'])).toBeNull();
    expect(sniffDecoder(['42', '4512', '40.5', '41'])).toBeNull();
  });
});
