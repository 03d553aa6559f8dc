import { describe, expect, it } from 'vitest';
import {
  buildOpen,
  defaultConfig,
  followDemoHost,
  parseSize,
  persistable,
  protoOf,
  reconnectsOnEnd,
  restoreConfig,
  urlTypo,
} from './config';

describe('protoOf', () => {
  it('reads the protocol from the scheme', () => {
    expect(protoOf('ws://h/x')).toBe('ws');
    expect(protoOf(' WSS://h')).toBe('ws');
    expect(protoOf('https://h/events')).toBe('sse');
    expect(protoOf('ftp://h')).toBeNull();
    expect(protoOf('localhost:8080')).toBeNull();
  });
});

describe('buildOpen', () => {
  it('builds a WebSocket request with headers, subprotocols, bearer and ping', () => {
    const c = {
      ...defaultConfig('ws://h/s'),
      headers: [
        { name: 'X-A', value: '1', on: true },
        { name: 'X-Off', value: '2', on: false },
        { name: '', value: '', on: true },
      ],
      subprotocols: 'graphql-transport-ws, chat.v2',
      auth: 'bearer' as const,
      bearer: ' tok ',
      pingInterval: '15',
    };
    const b = buildOpen(c);
    expect(b).toEqual({
      ok: true,
      proto: 'ws',
      request: {
        url: 'ws://h/s',
        proto: 'ws',
        headers: [['X-A', '1']],
        subprotocols: ['graphql-transport-ws', 'chat.v2'],
        insecure: false,
        bearer: 'tok',
        ping_interval_secs: 15,
      },
    });
  });

  it('builds an SSE request with method, body, Last-Event-ID, reconnect and TLS off', () => {
    const b = buildOpen({
      ...defaultConfig('https://h/e'),
      method: 'POST',
      body: '{"prompt":"hi"}',
      lastEventId: '42',
      reconnect: false,
      verifyTls: false,
      auth: 'basic',
      basicUser: 'u',
      basicPass: 'p:w',
    });
    expect(b.ok && b.request).toEqual({
      url: 'https://h/e',
      proto: 'sse',
      headers: [],
      subprotocols: [],
      insecure: true,
      method: 'POST',
      body: '{"prompt":"hi"}',
      last_event_id: '42',
      reconnect: false,
      basic: 'u:p:w',
    });
  });

  it('says what to fix before a round trip', () => {
    expect(buildOpen(defaultConfig(''))).toMatchObject({ ok: false, field: 'url' });
    expect(buildOpen(defaultConfig('h/x'))).toMatchObject({ ok: false, field: 'url' });
    expect(
      buildOpen({ ...defaultConfig('ws://h'), headers: [{ name: 'Bad Name', value: '', on: true }] }),
    ).toMatchObject({
      ok: false,
      field: 'headers',
    });
    expect(buildOpen({ ...defaultConfig('ws://h'), auth: 'bearer' })).toMatchObject({ ok: false, field: 'auth' });
    expect(buildOpen({ ...defaultConfig('ws://h'), pingInterval: 'soon' })).toMatchObject({ ok: false, field: 'ping' });
  });
});

describe('persistence', () => {
  it('never stores secrets', () => {
    const p = persistable({ ...defaultConfig('ws://h'), bearer: 'secret', basicPass: 'pw', basicUser: 'me' });
    expect(JSON.stringify(p)).not.toMatch(/secret|pw/);
    expect(p.basicUser).toBe('me');
  });
  it('restores what it can from whatever storage held', () => {
    const c = restoreConfig(
      { url: 'wss://h', method: 'PUT', headers: [{ name: 'A', value: 'b' }, 7], auth: 'x', verifyTls: 'no' },
      'ws://d',
    );
    expect(c.url).toBe('wss://h');
    expect(c.method).toBe('GET');
    expect(c.auth).toBe('none');
    expect(c.verifyTls).toBe(true);
    expect(c.headers).toEqual([{ name: 'A', value: 'b', on: true }]);
    expect(restoreConfig(null, 'ws://d').url).toBe('ws://d');
  });
});

describe('followDemoHost', () => {
  it('moves a saved demo URL to the port of this launch', () => {
    expect(followDemoHost('ws://127.0.0.1:40759/demo/ws/ticker?rate=5', 'ws://127.0.0.1:5000/demo/ws/ticker')).toBe(
      'ws://127.0.0.1:5000/demo/ws/ticker?rate=5',
    );
    const restored = restoreConfig(
      { url: 'http://localhost:1234/demo/sse/flaky?every=3' },
      'ws://127.0.0.1:5000/demo/ws/ticker',
    );
    expect(restored.url).toBe('http://127.0.0.1:5000/demo/sse/flaky?every=3');
  });

  it('leaves other URLs alone', () => {
    const now = 'ws://127.0.0.1:5000/demo/ws/ticker';
    expect(followDemoHost('wss://example.com/demo/x', now)).toBe('wss://example.com/demo/x');
    expect(followDemoHost('ws://127.0.0.1:8080/socket', now)).toBe('ws://127.0.0.1:8080/socket');
    expect(followDemoHost('not a url', now)).toBe('not a url');
  });
});

describe('urlTypo', () => {
  it('names the likely meaning of a URL without exactly two slashes', () => {
    expect(urlTypo('wss:/127.0.0.1')).toEqual({ meant: 'wss://127.0.0.1', slashes: 1 });
    expect(urlTypo('ws:localhost:9/x')?.meant).toBe('ws://localhost:9/x');
    expect(urlTypo('https:///h/e')).toEqual({ meant: 'https://h/e', slashes: 3 });
    expect(urlTypo('wss://127.0.0.1')).toBeNull();
    expect(urlTypo('wss:')).toBeNull();
    expect(urlTypo('ftp:/x')).toBeNull();
  });
});

describe('every option sscope can set', () => {
  it('goes into the open request, empty fields leaving the engine defaults', () => {
    const ws = {
      ...defaultConfig('ws://h/x'),
      pingInterval: '5',
      pongTimeout: '2',
      maxMessage: '1 MiB',
      maxFrame: '4096',
      connectTimeout: '3.5',
      caFile: '/tmp/ca.pem',
    };
    const b = buildOpen(ws);
    expect(b.ok && b.request).toMatchObject({
      ping_interval_secs: 5,
      pong_timeout_secs: 2,
      max_message: 1 << 20,
      max_frame: 4096,
      connect_timeout_secs: 3.5,
      ca_file: '/tmp/ca.pem',
    });
    const sse = {
      ...defaultConfig('http://h/e'),
      retryMs: '250',
      maxAttempts: '4',
      backoff: true,
      idleTimeout: '30',
      maxLine: '64k',
      maxEvent: '2M',
    };
    const s = buildOpen(sse);
    expect(s.ok && s.request).toMatchObject({
      retry_ms: 250,
      max_attempts: 4,
      backoff: true,
      idle_timeout_secs: 30,
      max_line: 64 * 1024,
      max_event: 2 << 20,
    });
    const plain = buildOpen(defaultConfig('http://h/e'));
    expect(plain.ok && Object.keys(plain.request)).not.toContain('max_line');
    expect(plain.ok && Object.keys(plain.request)).not.toContain('reconnect_on_end');
  });

  it('refuses what cannot be a value, naming the control', () => {
    const bad = (c: Partial<ReturnType<typeof defaultConfig>>, url = 'ws://h/x') =>
      buildOpen({ ...defaultConfig(url), ...c });
    expect(bad({ maxMessage: 'lots' })).toMatchObject({ ok: false, field: 'options', message: /max message/ });
    expect(bad({ pongTimeout: '2' })).toMatchObject({ ok: false, field: 'ping', message: /Ping every/ });
    expect(bad({ connectTimeout: '-1' })).toMatchObject({ ok: false, field: 'options' });
    expect(bad({ maxAttempts: '0' }, 'http://h/e')).toMatchObject({ ok: false, message: /max attempts/ });
    expect(bad({ retryMs: '1.5' }, 'http://h/e')).toMatchObject({ ok: false, message: /retry/ });
  });

  it('reconnects after a clean end by default for GET, not for POST, unless set', () => {
    const c = defaultConfig('http://h/e');
    expect(reconnectsOnEnd(c)).toBe(true);
    expect(reconnectsOnEnd({ ...c, method: 'POST' })).toBe(false);
    expect(reconnectsOnEnd({ ...c, method: 'POST', reconnectOnEnd: 'on' })).toBe(true);
    expect(reconnectsOnEnd({ ...c, reconnect: false, reconnectOnEnd: 'on' })).toBe(false);
    const post = buildOpen({ ...c, method: 'POST', reconnectOnEnd: 'on' });
    expect(post.ok && post.request.reconnect_on_end).toBe(true);
  });

  it('reads sizes as people write them', () => {
    expect(parseSize('64 MiB')).toBe(64 << 20);
    expect(parseSize('16M')).toBe(16 << 20);
    expect(parseSize('1.5 kb')).toBe(1536);
    expect(parseSize('100')).toBe(100);
    expect(parseSize('0')).toBeNull();
    expect(parseSize('12 parsecs')).toBeNull();
  });

  it('keeps the options across a reload', () => {
    const c = { ...defaultConfig('http://h/e'), retryMs: '250', backoff: true, reconnectOnEnd: 'off' as const };
    expect(restoreConfig(JSON.parse(JSON.stringify(persistable(c))), 'http://h/e')).toEqual(c);
    expect(restoreConfig({ reconnectOnEnd: 'sometimes' }, 'http://h/e').reconnectOnEnd).toBe('auto');
  });
});
