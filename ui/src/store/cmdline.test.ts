import { describe, expect, it } from 'vitest';
import { applyImport, importCommand, looksLikeCommand, shellWords } from './cmdline';
import { buildOpen, defaultConfig } from './config';

const ok = (text: string) => {
  const r = importCommand(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe('shellWords', () => {
  it('splits as a POSIX shell does', () => {
    expect(shellWords(`curl -H 'A: b c' "x \\"y\\" \\$z" a\\ b`)).toEqual({
      ok: true,
      words: ['curl', '-H', 'A: b c', 'x "y" $z', 'a b'],
    });
    expect(shellWords('curl \\\n  -N \\\r\n  url')).toEqual({ ok: true, words: ['curl', '-N', 'url'] });
    expect(shellWords(`curl --data-raw $'{"a":"it\\'s\\n\\u00e9"}'`)).toEqual({
      ok: true,
      words: ['curl', '--data-raw', '{"a":"it\'s\né"}'],
    });
    expect(shellWords(`a '' "" b`)).toEqual({ ok: true, words: ['a', '', '', 'b'] });
    expect(shellWords(`curl 'open`)).toEqual({ ok: false, error: 'a single quote is not closed' });
    expect(shellWords(`curl "open`).ok).toBe(false);
  });
});

describe('importCommand: curl', () => {
  it('reads an LLM-style streaming POST', () => {
    const v = ok(`curl -N https://api.example.com/v1/chat/completions \\
      -H "Content-Type: application/json" \\
      --header 'Authorization: Bearer sk-123' \\
      --data '{"model":"m","stream":true}'`);
    expect(v.tool).toBe('curl');
    expect(v.config).toMatchObject({
      url: 'https://api.example.com/v1/chat/completions',
      method: 'POST',
      body: '{"model":"m","stream":true}',
    });
    // The token becomes the auth setting (a secret, never saved), not a saved header.
    expect(v.config.headers?.map((h) => [h.name, h.value])).toEqual([['Content-Type', 'application/json']]);
    expect(v.config).toMatchObject({ auth: 'bearer', bearer: 'sk-123' });
    expect(v.ignored).toEqual(['-N (Streamscope never buffers a stream)']);
    expect(v.unsupported).toEqual([]);
    const built = buildOpen(applyImport(defaultConfig('ws://old'), v));
    expect(built.ok && built.request).toMatchObject({
      proto: 'sse',
      method: 'POST',
      body: '{"model":"m","stream":true}',
    });
  });

  it('reads -X, -u, -k, clusters, attached values and --flag=value', () => {
    const v = ok(`curl -sNk -X post -u alice:s3cr:et -HX-One:1 --url=http://h:8/events --connect-timeout 4`);
    expect(v.config).toMatchObject({
      url: 'http://h:8/events',
      method: 'POST',
      auth: 'basic',
      basicUser: 'alice',
      basicPass: 's3cr:et',
      verifyTls: false,
      connectTimeout: '4',
    });
    expect(v.config.headers).toEqual([{ name: 'X-One', value: '1', on: true }]);
    expect(v.ignored).toEqual(['-s (output only)', '-N (Streamscope never buffers a stream)']);
  });

  it('names what it cannot carry instead of dropping it', () => {
    const v = ok(`curl -m 5 --cert me.pem -X PUT -d @body.json --retry 3 http://h/e extra`);
    expect(v.unsupported).toEqual([
      '-m 5',
      '--cert me.pem',
      '-X PUT (an event stream is GET or POST)',
      '--retry 3',
      'extra',
      '--data @body.json (a file)',
    ]);
  });

  it('joins several --data with & and turns --json into a JSON POST', () => {
    expect(ok(`curl -d a=1 -d b=2 http://h/e`).config.body).toBe('a=1&b=2');
    const j = ok(`curl --json '{"q":1}' http://h/e`);
    expect(j.config.method).toBe('POST');
    expect(j.config.headers?.[0]).toEqual({ name: 'Content-Type', value: 'application/json', on: true });
  });

  it('refuses a command without a URL, or an unclosed quote', () => {
    expect(importCommand('curl -N')).toEqual({ ok: false, error: 'no URL in this curl command' });
    expect(importCommand(`curl 'http://h`).ok).toBe(false);
    expect(importCommand('ls -la').ok).toBe(false);
  });
});

describe('importCommand: websocat and wscat', () => {
  it('reads websocat flags', () => {
    const v = ok(
      `websocat -k --protocol graphql-transport-ws -H 'X-A: 1' --ping-interval 5 --ping-timeout 2 --basic-auth u:p -t wss://h/ws`,
    );
    expect(v.config).toMatchObject({
      url: 'wss://h/ws',
      subprotocols: 'graphql-transport-ws',
      verifyTls: false,
      pingInterval: '5',
      pongTimeout: '2',
      auth: 'basic',
      basicUser: 'u',
    });
    expect(v.ignored).toEqual(['-t (output only; the pane shows every frame)']);
  });

  it('reads wscat flags, and names what it cannot carry', () => {
    const v = ok(`$ wscat -c ws://h:9/x -s chat -s v2 -H 'A: b' -n --auth u:p -x 'hello' -P`);
    expect(v.config).toMatchObject({ url: 'ws://h:9/x', subprotocols: 'chat, v2', verifyTls: false, auth: 'basic' });
    expect(v.unsupported).toEqual(['-x hello']);
    expect(v.ignored).toEqual(['-P (output only; the pane shows pings and pongs)']);
  });

  it('tells a command from a URL', () => {
    expect(looksLikeCommand('curl -N http://h')).toBe(true);
    expect(looksLikeCommand('  $ wscat -c ws://h')).toBe(true);
    expect(looksLikeCommand('wss://curl.example/x')).toBe(false);
  });

  it('replaces the pane settings the command describes, keeping the name', () => {
    const current = { ...defaultConfig('ws://old'), name: 'mine', auth: 'bearer' as const, bearer: 't' };
    const next = applyImport(current, ok('wscat -c ws://h/x'));
    expect(next).toMatchObject({ name: 'mine', url: 'ws://h/x', auth: 'none', bearer: '' });
  });
});
